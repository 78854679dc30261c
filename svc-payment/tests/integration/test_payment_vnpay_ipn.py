"""Paying through VNPay (the in-app simulator speaking 2.1.0): the payment URL, every IPN answer, exactly-once
success under 50 concurrent duplicate IPNs, the return page, and querydr reconciliation."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from payment_harness import PaymentService

from egov_payment.config import IPN_PATH
from egov_payment.invoices.models import Invoice
from egov_payment.ledger import LedgerEntry
from egov_payment.payments.models import Payment
from egov_payment.receipts.models import Receipt
from egov_payment.reconciliation import reconcile_pending
from egov_payment.vnpay.protocol import hmac_sha512, sign
from egov_payment.vnpay.simulator import DEMO_HASH_SECRET, DEMO_TMN_CODE


async def _payment(payments: PaymentService, **extra: Any) -> tuple[dict[str, object], dict[str, object]]:
    invoice = await payments.invoice_for(payments.submitted())
    response = await payments.pay(str(invoice["id"]), **extra)
    assert response.status_code == 201, response.text
    return invoice, response.json()


async def _ipn(payments: PaymentService, fields: dict[str, str]) -> dict[str, str]:
    response = await payments.client.get(IPN_PATH, params=fields)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    reply: dict[str, str] = response.json()
    return reply


async def test_the_payment_url_is_signed_as_payment_md_says(payments: PaymentService) -> None:
    invoice, payment = await _payment(payments, bank_code="VNBANK")
    url = str(payment["payment_url"])
    assert url.startswith(
        "http://localhost:8000/api/v1/payments/providers/vnpay/sandbox/paymentv2/vpcpay.html?"
    )
    query = urlsplit(url).query
    fields = dict(parse_qsl(query))
    assert fields["vnp_Version"] == "2.1.0"
    assert fields["vnp_Command"] == "pay"
    assert fields["vnp_TmnCode"] == DEMO_TMN_CODE
    assert fields["vnp_Amount"] == "15000000"  # 150 000 VND x 100
    assert fields["vnp_CurrCode"] == "VND"
    assert fields["vnp_BankCode"] == "VNBANK"
    assert fields["vnp_TxnRef"] == payment["reference"]
    assert fields["vnp_OrderInfo"].isascii()
    assert fields["vnp_ReturnUrl"].endswith("/api/v1/payments/providers/vnpay/return")
    assert "vnp_SecureHashType" not in fields
    # The rule itself: the sorted, quote_plus-encoded fields before the hash, HMAC-SHA512, lowercase hex.
    hashed, _, secure_hash = query.rpartition("&vnp_SecureHash=")
    assert secure_hash == hmac_sha512(DEMO_HASH_SECRET, hashed)
    assert hashed.split("&") == sorted(hashed.split("&"))
    assert payment["status"] == "pending"
    assert payment["amount_vnd"] == invoice["amount_vnd"] == 150_000


async def test_paying_through_the_simulator_pays_the_invoice_once(payments: PaymentService) -> None:
    invoice, payment = await _payment(payments)

    delivery = await payments.settle(payment)

    assert delivery.rsp_code == "00"
    paid = (await payments.client.get(f"/api/v1/invoices/{invoice['id']}", headers=payments.citizen())).json()
    assert paid["status"] == "paid"
    fee_paid = await payments.events("payment.fee_paid")
    assert len(fee_paid) == 1
    event = fee_paid[0]
    assert event["invoice_id"] == invoice["id"]
    assert event["stage"] == "submission"
    assert event["amount_vnd"] == 150_000
    assert event["provider"] == "vnpay"
    got = (await payments.client.get(f"/api/v1/payments/{payment['id']}", headers=payments.citizen())).json()
    assert got["status"] == "succeeded"
    receipt = (
        await payments.client.get(f"/api/v1/receipts/{got['receipt_id']}", headers=payments.citizen())
    ).json()
    assert receipt["receipt_number"] == event["receipt_number"]
    assert receipt["amount_in_words"] == "Một trăm năm mươi nghìn đồng"
    assert receipt["payer_name"] == "Nguyễn Văn An"
    assert receipt["method"] == "Thanh toán trực tuyến qua VNPAY"
    assert receipt["signing_status"] == "pending"

    # The same notification again: already confirmed, nothing new.
    assert await _ipn(payments, delivery.fields) == {"RspCode": "02", "Message": "Order already confirmed"}
    assert len(await payments.events("payment.fee_paid")) == 1

    # Paying an invoice already paid is a conflict.
    again = await payments.pay(str(invoice["id"]))
    assert again.status_code == 409
    assert again.json()["code"] == "invoice.already_paid"

    # The return page shows the outcome and changes nothing.
    page = await payments.client.get(delivery.return_url.replace("http://localhost:8000", ""))
    assert page.status_code == 200
    assert "Thanh toán thành công" in page.text
    kinds = [e.kind for e in await _ledger(payments, payment["id"])]
    assert kinds == ["payment_created", "payment_succeeded", "invoice_paid", "receipt_issued"]


async def _ledger(payments: PaymentService, payment_id: object) -> list[LedgerEntry]:
    from sqlalchemy import select

    async with payments.runtime.read_sessionmaker() as session:
        rows = await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.payment_id == uuid.UUID(str(payment_id)))
            .order_by(LedgerEntry.id)
        )
        return list(rows)


async def test_every_ipn_answer(payments: PaymentService) -> None:
    invoice, payment = await _payment(payments)
    simulator = payments.simulator

    # 97: a signature made with another secret. Nothing changes.
    simulator.accept(str(payment["payment_url"]))
    bad = await simulator.simulate_payment(str(payment["reference"]), "bad_signature")
    assert bad.rsp_code == "97"
    # 04: an amount other than the order's. Nothing changes.
    simulator.transactions.clear()
    simulator.accept(str(payment["payment_url"]))
    wrong = await simulator.simulate_payment(str(payment["reference"]), "wrong_amount")
    assert wrong.rsp_code == "04"
    assert await payments.count(Receipt) == 0
    assert len(await _ledger(payments, payment["id"])) == 1  # payment_created only
    assert await payments.events("payment.fee_paid") == []

    # 01: a correctly signed notification for an order we never made.
    unknown = {**wrong.fields, "vnp_TxnRef": "TTNOSUCHORDER", "vnp_Amount": "15000000"}
    unknown.pop("vnp_SecureHash")
    unknown["vnp_SecureHash"] = sign(unknown, DEMO_HASH_SECRET)
    assert (await _ipn(payments, unknown))["RspCode"] == "01"
    # 97 for an unsigned or tampered message, whatever else it holds.
    assert (await _ipn(payments, {**unknown, "vnp_Amount": "1500000000"}))["RspCode"] == "97"
    assert (await _ipn(payments, {}))["RspCode"] == "97"
    # A NUL character too gets VNPay's answer (never problem details): it does not verify.
    assert (await _ipn(payments, {**unknown, "vnp_OrderInfo": "a\x00b"}))["RspCode"] == "97"
    # 99: signed by VNPay but unreadable (a required field missing).
    partial = {k: v for k, v in wrong.fields.items() if k not in ("vnp_SecureHash", "vnp_ResponseCode")}
    partial["vnp_SecureHash"] = sign(partial, DEMO_HASH_SECRET)
    assert (await _ipn(payments, partial)) == {"RspCode": "99", "Message": "Unknown error"}

    # 00 then 02: the genuine success, then its replay.
    simulator.transactions.clear()
    good = await simulator.simulate_payment(outcome="success", payment_url=str(payment["payment_url"]))
    assert good.rsp_code == "00"
    assert (await _ipn(payments, good.fields))["RspCode"] == "02"
    assert len(await payments.events("payment.fee_paid")) == 1
    paid = (await payments.client.get(f"/api/v1/invoices/{invoice['id']}", headers=payments.citizen())).json()
    assert paid["status"] == "paid"


async def test_a_cancelled_payment_is_confirmed_and_fails(payments: PaymentService) -> None:
    invoice, payment = await _payment(payments)
    delivery = await payments.settle(payment, "cancel")
    assert delivery.rsp_code == "00"
    got = (await payments.client.get(f"/api/v1/payments/{payment['id']}", headers=payments.citizen())).json()
    assert got["status"] == "failed"
    assert "hủy" in got["failure_reason"]
    still = (
        await payments.client.get(f"/api/v1/invoices/{invoice['id']}", headers=payments.citizen())
    ).json()
    assert still["status"] == "unpaid"
    page = await payments.client.get(delivery.return_url.replace("http://localhost:8000", ""))
    assert "không thành công" in page.text
    # A new attempt is allowed.
    assert (await payments.pay(str(invoice["id"]))).status_code == 201


async def test_fifty_concurrent_duplicate_ipns_give_one_success(payments: PaymentService) -> None:
    invoice, payment = await _payment(payments)
    # The first delivery is lost on the way, so all 50 copies arrive together afterwards.
    payments.route(refuse=lambda request: request.url.path == IPN_PATH)
    lost = await payments.settle(payment)
    assert not lost.delivered
    payments.route()

    deliveries = await payments.simulator.replay_ipn(str(payment["reference"]), times=50)

    codes = sorted(d.rsp_code or "none" for d in deliveries)
    assert codes == ["00"] + ["02"] * 49
    assert await payments.count(Receipt, Receipt.invoice_id == uuid.UUID(str(invoice["id"]))) == 1
    assert len(await payments.events("payment.fee_paid")) == 1
    assert await payments.count(Payment, Payment.status == "succeeded") == 1
    succeeded = [e for e in await _ledger(payments, payment["id"]) if e.kind == "payment_succeeded"]
    assert len(succeeded) == 1


async def test_idempotency_key_replays_the_payment(payments: PaymentService) -> None:
    invoice = await payments.invoice_for(payments.submitted())
    headers = {**payments.citizen(), "Idempotency-Key": "pay-1"}
    first = await payments.pay(str(invoice["id"]), headers=headers)
    second = await payments.pay(str(invoice["id"]), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    other = await payments.pay(str(invoice["id"]), provider="vietqr", headers=headers)
    assert other.status_code == 422
    assert await payments.count(Payment) == 1


async def test_bad_payment_requests(payments: PaymentService) -> None:
    invoice = await payments.invoice_for(payments.submitted())
    for amount in (1.5, "150000", -1, 0, True):
        response = await payments.pay(str(invoice["id"]), amount_vnd=amount)
        assert response.status_code == 422, amount
    mismatch = await payments.pay(str(invoice["id"]), amount_vnd=1000)
    assert mismatch.json()["code"] == "payment.amount_mismatch"
    assert (await payments.pay(str(invoice["id"]), provider="paypal")).status_code == 422
    # Another citizen's invoice does not exist for them; cash is finance's.
    assert (await payments.pay(str(invoice["id"]), headers=payments.citizen("citizen-2"))).status_code == 404
    assert (await payments.pay(str(invoice["id"]), provider="cash")).status_code == 403
    assert (await payments.client.post("/api/v1/payments", json={})).status_code == 401


async def test_querydr_reconciles_a_payment_whose_ipn_never_came(payments: PaymentService) -> None:
    invoice, payment = await _payment(payments)
    _, abandoned = await _payment(payments)
    payments.route(refuse=lambda request: request.url.path == IPN_PATH)
    lost = await payments.settle(payment)
    assert not lost.delivered
    payments.route()

    # Within 15 minutes nothing is asked; afterwards VNPay's answer is applied as an IPN would be.
    assert await reconcile_pending(payments.runtime, payments.context) == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=20)
    assert await reconcile_pending(payments.runtime, payments.context, now=later) == 2

    got = (await payments.client.get(f"/api/v1/payments/{payment['id']}", headers=payments.citizen())).json()
    assert got["status"] == "succeeded"
    paid = (await payments.client.get(f"/api/v1/invoices/{invoice['id']}", headers=payments.citizen())).json()
    assert paid["status"] == "paid"
    assert len(await payments.events("payment.fee_paid")) == 1
    # The other was never opened at VNPay and has expired: failed.
    other = (
        await payments.client.get(f"/api/v1/payments/{abandoned['id']}", headers=payments.citizen())
    ).json()
    assert other["status"] == "failed"
    # The IPN arriving late after all is answered "already confirmed".
    payments.route()
    late = await payments.simulator.replay_ipn(str(payment["reference"]))
    assert late[0].rsp_code == "02"


async def test_the_return_page_refuses_unsigned_queries(payments: PaymentService) -> None:
    page = await payments.client.get(
        "/api/v1/payments/providers/vnpay/return", params={"vnp_TxnRef": "X", "vnp_ResponseCode": "00"}
    )
    assert page.status_code == 400
    assert "text/html" in page.headers["content-type"]


async def test_the_simulator_page_is_served_by_the_app(payments: PaymentService) -> None:
    _, payment = await _payment(payments)
    path = str(payment["payment_url"]).replace("http://localhost:8000", "")
    page = await payments.client.get(path)
    assert page.status_code == 200
    assert "150.000 VND" in page.text
    token = page.text.split("name='token' value='")[1].split("'")[0]
    pressed = await payments.client.post(
        "/api/v1/payments/providers/vnpay/sandbox/paymentv2/vpcpay.html",
        data={"token": token, "action": "pay"},
    )
    assert pressed.status_code == 302
    assert isinstance(pressed.headers["location"], str)
    assert len(await payments.events("payment.fee_paid")) == 1
    _ = httpx  # the harness routes the simulator's IPN through the app in-process
    _ = Invoice
