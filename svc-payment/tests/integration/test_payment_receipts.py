"""Receipts: numbers without gaps under concurrency, cancel-and-replace, the public verification link, the
PDF; and the cashless statistics they feed."""

from __future__ import annotations

import asyncio
import datetime as dt

from payment_harness import JUSTICE, PROVINCE, WARD, PaymentService


async def test_receipt_numbers_have_no_gaps_under_concurrency(payments: PaymentService) -> None:
    invoices = [await payments.invoice_for(payments.submitted()) for _ in range(12)]
    online = invoices[:4]
    cash = invoices[4:]

    # Eight cash payments recorded at once by finance, and four VNPay IPNs at the same time.
    started = [(await payments.pay(str(i["id"]))).json() for i in online]
    results = await asyncio.gather(
        *(payments.pay(str(i["id"]), provider="cash", headers=payments.finance()) for i in cash),
        *(payments.settle(p) for p in started),
    )
    assert all(getattr(r, "status_code", 201) == 201 for r in results)
    numbers = []
    for invoice in invoices:
        receipts = await payments.client.get(
            "/api/v1/receipts", params={"invoice_id": invoice["id"]}, headers=payments.citizen()
        )
        assert receipts.status_code == 200, receipts.text
        [receipt] = receipts.json()
        numbers.append(receipt["number"])
        assert receipt["receipt_number"].endswith(f"-{JUSTICE}-{receipt['number']:07d}")
    assert sorted(numbers) == list(range(1, 13))
    assert len(await payments.events("payment.fee_paid")) == 12


async def test_a_receipt_is_cancelled_and_replaced_never_edited(payments: PaymentService) -> None:
    invoice = await payments.invoice_for(payments.submitted())
    paid = await payments.pay(str(invoice["id"]), provider="cash", headers=payments.finance())
    assert paid.status_code == 201, paid.text
    receipt_id = paid.json()["receipt_id"]
    path = f"/api/v1/receipts/{receipt_id}"
    receipt = (await payments.client.get(path, headers=payments.citizen())).json()
    assert receipt["method"] == "Tiền mặt"
    assert receipt["status"] == "issued"
    assert (await payments.client.get(path, headers=payments.citizen("citizen-2"))).status_code == 404

    body = {"reason": "Sai tên người nộp", "payer_name": "Nguyễn Văn Ân"}
    assert (
        await payments.client.post(f"{path}/cancel", json=body, headers=payments.finance())
    ).status_code == 428
    clerk = {**payments.official("receiver"), "If-Match": '"1"'}
    assert (await payments.client.post(f"{path}/cancel", json=body, headers=clerk)).status_code == 403
    finance = {**payments.finance(), "If-Match": '"1"'}
    done = await payments.client.post(f"{path}/cancel", json=body, headers=finance)
    assert done.status_code == 200, done.text
    cancelled, replacement = done.json()["cancelled"], done.json()["replacement"]
    assert cancelled["status"] == "cancelled"
    assert cancelled["payer_name"] == receipt["payer_name"]
    assert replacement["replaces_id"] == receipt_id
    assert replacement["payer_name"] == "Nguyễn Văn Ân"
    assert replacement["number"] == receipt["number"] + 1
    assert replacement["amount_vnd"] == receipt["amount_vnd"]
    again = {**payments.finance(), "If-Match": '"2"'}
    assert (await payments.client.post(f"{path}/cancel", json=body, headers=again)).status_code == 409

    # The public verification link (printed as a QR code on the receipt): facts, and the signature state.
    async with payments.runtime.read_sessionmaker() as session:
        from egov_payment.receipts.models import Receipt

        row = await session.get(Receipt, __import__("uuid").UUID(receipt_id))
        assert row is not None
        code = row.verification_code
    verify = f"/api/v1/receipts/verify/{receipt_id}"
    checked = await payments.client.get(verify, params={"code": code})
    assert checked.status_code == 200, checked.text
    facts = checked.json()
    assert facts["status"] == "cancelled"
    assert facts["replaced_by"] == replacement["receipt_number"]
    assert facts["signed"] is False
    assert facts["signature_valid"] is False
    assert (await payments.client.get(verify, params={"code": "wrong-code-123"})).status_code == 404

    pdf = await payments.client.get(f"/api/v1/receipts/{replacement['id']}/pdf", headers=payments.citizen())
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["x-receipt-signed"] == "false"
    assert pdf.content.startswith(b"%PDF")


async def test_statistics_give_the_cashless_share_by_agency(payments: PaymentService) -> None:
    justice = [await payments.invoice_for(payments.submitted()) for _ in range(3)]
    ward = await payments.invoice_for(payments.submitted(agency=WARD))
    await payments.invoice_for(payments.submitted(agency=WARD))  # unpaid
    for invoice in justice[:2]:
        await payments.settle((await payments.pay(str(invoice["id"]))).json())
    await payments.pay(str(justice[2]["id"]), provider="cash", headers=payments.finance())
    await payments.settle((await payments.pay(str(ward["id"]))).json())

    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    params = {
        "agency_code": PROVINCE,
        "from": (today - dt.timedelta(days=1)).isoformat(),
        "to": today.isoformat(),
    }
    response = await payments.client.get(
        "/api/v1/payments/statistics", params=params, headers=payments.finance()
    )
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["totals"]["invoices"] == 5
    assert stats["totals"]["paid"] == 4
    assert stats["totals"]["paid_cashless"] == 3
    assert stats["totals"]["cashless_share"] == 75.0
    by_code = {row["agency_code"]: row for row in stats["agencies"]}
    assert by_code[JUSTICE]["cashless_share"] == 66.67
    assert by_code[JUSTICE]["paid_vnd"] == 450_000
    assert by_code[WARD]["cashless_share"] == 100.0
    assert by_code[WARD]["invoices"] == 2

    ward_only = await payments.client.get(
        "/api/v1/payments/statistics",
        params={**params, "agency_code": WARD},
        headers=payments.official(agency=WARD),
    )
    assert [row["agency_code"] for row in ward_only.json()["agencies"]] == [WARD]
    outside = await payments.client.get(
        "/api/v1/payments/statistics", params=params, headers=payments.official(agency=WARD)
    )
    assert outside.status_code == 403
    backwards = {**params, "from": today.isoformat(), "to": (today - dt.timedelta(days=3)).isoformat()}
    bad = await payments.client.get(
        "/api/v1/payments/statistics", params=backwards, headers=payments.finance()
    )
    assert bad.status_code == 422
