"""VietQR transfers: the payload (checked by an independent decoder), its images, the signed bank credit
notification (replays idempotent, overpayments refunded), statement imports and the daily report."""

from __future__ import annotations

import datetime as dt
import io

import zxingcpp
from payment_harness import FEES, PaymentService
from PIL import Image
from vietnam_qr_pay import QRPay

from egov_payment.payments.models import BankCredit

ACCOUNT = "113366668888"


def _credit(transaction_id: str, amount: int, memo: str) -> dict[str, object]:
    return {
        "transaction_id": transaction_id,
        "account": ACCOUNT,
        "amount": amount,
        "memo": memo,
        "credited_at": dt.datetime.now(dt.UTC).isoformat(),
    }


async def test_a_vietqr_payment_is_paid_by_a_matching_credit(payments: PaymentService) -> None:
    invoice = await payments.invoice_for(payments.submitted())
    created = await payments.pay(str(invoice["id"]), provider="vietqr")
    assert created.status_code == 201, created.text
    payment = created.json()
    qr = payment["vietqr"]
    assert payment["payment_url"] is None
    assert qr["memo"] == payment["reference"]
    assert qr["account_name"] == "KHO BAC NHA NUOC TINH DEMO"

    decoded = QRPay(qr["payload"])
    assert decoded.is_valid
    assert decoded.init_method == "12"
    assert decoded.consumer.bank_bin == "970415"
    assert decoded.consumer.bank_number == ACCOUNT
    assert decoded.amount == "150000"
    assert decoded.additional_data.purpose == payment["reference"]
    png = await payments.client.get(qr["png_url"].replace("http://localhost:8000", ""))
    assert png.headers["content-type"] == "image/png"
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))] == [qr["payload"]]
    svg = await payments.client.get(qr["svg_url"].replace("http://localhost:8000", ""))
    assert b"<svg" in svg.content

    # Wrong signature: refused, nothing recorded.
    body = _credit("FT001", 150_000, f"{payment['reference']} le phi")
    assert (await payments.credit(body, secret="not-the-secret")).status_code == 401
    assert await payments.count(BankCredit) == 0
    # A transfer of the wrong amount is kept, unmatched.
    short = await payments.credit(_credit("FT000", 15_000, payment["reference"]))
    assert short.json() == {
        "transaction_id": "FT000",
        "status": "unmatched",
        "reason": "amount_mismatch",
        "payment_id": None,
        "duplicate": False,
    }
    # The right one pays the invoice; its replay changes nothing.
    first = await payments.credit(body)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "matched"
    replays = [await payments.credit(body) for _ in range(3)]
    assert all(r.json()["duplicate"] for r in replays)
    assert len(await payments.events("payment.fee_paid")) == 1
    paid = (await payments.client.get(f"/api/v1/invoices/{invoice['id']}", headers=payments.citizen())).json()
    assert paid["status"] == "paid"

    # The same QR paid a second time: an overpayment, refunded by the treasury (and said so).
    again = await payments.credit(_credit("FT002", 150_000, payment["reference"].lower()))
    assert again.json()["status"] == "matched"
    assert len(await payments.events("payment.fee_paid")) == 1
    refunded = await payments.events("payment.refunded")
    assert [(e["reason"], e["amount_vnd"], e["provider"]) for e in refunded] == [
        ("overpayment", 150_000, "vietqr")
    ]
    still = (
        await payments.client.get(f"/api/v1/invoices/{invoice['id']}", headers=payments.citizen())
    ).json()
    assert still["status"] == "paid"

    # Bad bodies: 422 (an amount that is not a positive integer, a naive time).
    for amount in (1.5, "150000", 0):
        assert (await payments.credit({**body, "transaction_id": "FT9", "amount": amount})).status_code == 422
    naive = {**body, "transaction_id": "FT9", "credited_at": "2026-11-10T10:00:00"}
    assert (await payments.credit(naive)).status_code == 422

    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7))).date().isoformat()
    report = await payments.client.get(
        "/api/v1/payments/reports/daily",
        params={"date": today, "provider": "vietqr"},
        headers=payments.finance(),
    )
    assert report.status_code == 200, report.text
    daily = report.json()
    assert daily["succeeded_count"] == 2
    assert daily["succeeded_vnd"] == 300_000
    assert daily["overpayments"] == 1
    assert daily["refunds_vnd"] == 150_000
    assert sorted(m["kind"] for m in daily["mismatches"]) == ["overpayment", "unmatched_credit"]
    citizen = await payments.client.get(
        "/api/v1/payments/reports/daily",
        params={"date": today, "provider": "vietqr"},
        headers=payments.citizen(),
    )
    assert citizen.status_code == 403


async def test_a_statement_import_matches_like_notifications(payments: PaymentService) -> None:
    first = await payments.invoice_for(payments.submitted(fees=FEES[:1]))
    second = await payments.invoice_for(payments.submitted(fees=FEES[1:]))
    one = (await payments.pay(str(first["id"]), provider="vietqr")).json()
    two = (await payments.pay(str(second["id"]), provider="vietqr")).json()
    assert (await payments.credit(_credit("ST1", 100_000, one["reference"]))).json()["status"] == "matched"
    csv = (
        "transaction_id,account,amount,memo,credited_at\n"
        f"ST1,{ACCOUNT},100000,{one['reference']},2026-11-10T03:00:00+00:00\n"
        f"ST2,{ACCOUNT},50000,NOP TIEN {two['reference']},2026-11-10T03:05:00+00:00\n"
        f"ST3,{ACCOUNT},70000,ung ho,2026-11-10T03:06:00+00:00\n"
    )
    files = {"file": ("saoke.csv", csv.encode(), "text/csv")}
    forbidden = await payments.client.post(
        "/api/v1/payments/bank-statements", files=files, headers=payments.citizen()
    )
    assert forbidden.status_code == 403
    imported = await payments.client.post(
        "/api/v1/payments/bank-statements", files=files, headers=payments.finance()
    )
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"rows": 3, "matched": 1, "unmatched": 1, "duplicates": 1}
    assert len(await payments.events("payment.fee_paid")) == 2

    broken = csv.replace("50000,NOP", "5.5,NOP").replace("ST2", "ST4")
    bad = await payments.client.post(
        "/api/v1/payments/bank-statements",
        files={"file": ("saoke.csv", broken.encode(), "text/csv")},
        headers=payments.finance(),
    )
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"field": "line 3", "message": "Sai giá trị: amount"}]
