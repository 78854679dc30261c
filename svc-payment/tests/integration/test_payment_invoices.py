"""Invoices from dossier events (once per dossier and stage), by finance officers, who sees them, and what a
refused or withdrawn dossier does to them (cancellation, refund through the provider)."""

from __future__ import annotations

import uuid

from payment_harness import FEES, JUSTICE, OTHER_PROVINCE, WARD, PaymentService

from egov_payment.invoices.models import Invoice
from egov_payment.payments.refunds import send_requested
from egov_shared.contracts.dossier import FeeLine
from egov_shared.testing.waiting import eventually


async def test_a_dossier_event_delivered_twice_bills_once(payments: PaymentService) -> None:
    dossier = payments.submitted()
    event = await payments.deliver(dossier)
    await payments.runtime.bus.publish(event)  # the bus delivers the same event again
    await payments.deliver(dossier)  # and svc-dossier republishes it (a new event id)
    free = payments.submitted(fees=[FeeLine(kind="le_phi", name="Miễn lệ phí", amount_vnd=0)])
    await payments.deliver(free)

    invoice = await payments.invoice_for(payments.submitted())  # a later event: the earlier ones are applied
    assert invoice["status"] == "unpaid"
    billed = await payments.invoices_of(dossier.dossier_id, payments.citizen())
    assert len(billed) == 1
    assert billed[0]["amount_vnd"] == 150_000
    assert billed[0]["stage"] == "submission"
    assert billed[0]["payer_id"] == "citizen-1"
    assert billed[0]["agency_code"] == JUSTICE
    assert [line["kind"] for line in billed[0]["lines"]] == ["le_phi", "phi"]
    assert await payments.invoices_of(free.dossier_id, payments.citizen()) == []
    assert await payments.count(Invoice, Invoice.dossier_id == dossier.dossier_id) == 1


async def test_fees_due_before_the_result_bill_the_result_stage(payments: PaymentService) -> None:
    dossier = payments.submitted(fees=[])
    await payments.deliver(dossier)
    fees = [FeeLine(kind="phi", name="Phí đo đạc", amount_vnd=1_250_000)]
    await payments.deliver(payments.status_changed(dossier, 6, fees=fees))
    await payments.deliver(payments.status_changed(dossier, 6, fees=fees))

    async def billed() -> bool:
        return bool(await payments.invoices_of(dossier.dossier_id, payments.citizen()))

    await eventually(billed, what="the result-stage invoice")
    invoices = await payments.invoices_of(dossier.dossier_id, payments.citizen())
    assert [(i["stage"], i["amount_vnd"]) for i in invoices] == [("result", 1_250_000)]


async def test_who_sees_which_invoice(payments: PaymentService) -> None:
    invoice = await payments.invoice_for(payments.submitted())
    path = f"/api/v1/invoices/{invoice['id']}"

    mine = await payments.client.get("/api/v1/invoices", params={"mine": "true"}, headers=payments.citizen())
    assert [i["id"] for i in mine.json()["items"]] == [invoice["id"]]
    got = await payments.client.get(path, headers=payments.citizen())
    assert got.status_code == 200
    assert got.headers["ETag"] == f'"{invoice["version"]}"'
    # Another citizen: as if it did not exist.
    assert (await payments.client.get(path, headers=payments.citizen("citizen-2"))).status_code == 404
    theirs = await payments.client.get(
        "/api/v1/invoices", params={"mine": "true"}, headers=payments.citizen("citizen-2")
    )
    assert theirs.json()["items"] == []
    # Officials of the agency or above see it; of another province, not.
    assert (await payments.client.get(path, headers=payments.official(agency=JUSTICE))).status_code == 200
    assert (await payments.client.get(path, headers=payments.official())).status_code == 200
    assert (await payments.client.get(path, headers=payments.official(agency=WARD))).status_code == 404
    assert (
        await payments.client.get(path, headers=payments.official(agency=OTHER_PROVINCE))
    ).status_code == 404
    by_dossier = await payments.invoices_of(
        uuid.UUID(str(invoice["dossier_id"])), payments.official(agency=JUSTICE)
    )
    assert [i["id"] for i in by_dossier] == [invoice["id"]]
    assert (
        await payments.invoices_of(uuid.UUID(str(invoice["dossier_id"])), payments.official(agency=WARD))
        == []
    )
    assert (await payments.client.get(path)).status_code == 401


async def test_finance_bills_other_obligations(payments: PaymentService) -> None:
    body = {
        "agency_code": JUSTICE,
        "payer_id": "citizen-3",
        "payer_name": "Trần Thị Bình",
        "description": "Phí khai thác, sử dụng tài liệu",
        "lines": [{"kind": "phi", "name": "Phí khai thác tài liệu", "amount_vnd": 21_000}],
    }
    headers = {**payments.finance(), "Idempotency-Key": "bill-1"}
    created = await payments.client.post("/api/v1/invoices", json=body, headers=headers)
    assert created.status_code == 201, created.text
    replay = await payments.client.post("/api/v1/invoices", json=body, headers=headers)
    assert replay.json() == created.json()
    invoice = created.json()
    assert invoice["amount_vnd"] == 21_000
    assert invoice["status"] == "unpaid"

    assert (
        await payments.client.post("/api/v1/invoices", json=body, headers=payments.official())
    ).status_code == 403
    outside = {**body, "agency_code": OTHER_PROVINCE}
    assert (
        await payments.client.post("/api/v1/invoices", json=outside, headers=payments.finance())
    ).status_code == 403
    for amount in (1.5, "21000", 0, -5, None):
        bad = {**body, "lines": [{"kind": "phi", "name": "x", "amount_vnd": amount}]}
        response = await payments.client.post("/api/v1/invoices", json=bad, headers=payments.finance())
        assert response.status_code == 422, amount
        assert response.json()["errors"][0]["field"].startswith("lines.0.amount_vnd")

    # The payer sees it; finance cancels it with If-Match.
    path = f"/api/v1/invoices/{invoice['id']}"
    assert (await payments.client.get(path, headers=payments.citizen("citizen-3"))).status_code == 200
    reason = {"reason": "Lập nhầm hóa đơn"}
    assert (
        await payments.client.post(f"{path}/cancel", json=reason, headers=payments.finance())
    ).status_code == 428
    stale = {**payments.finance(), "If-Match": '"99"'}
    assert (await payments.client.post(f"{path}/cancel", json=reason, headers=stale)).status_code == 412
    fresh = {**payments.finance(), "If-Match": f'"{invoice["version"]}"'}
    cancelled = await payments.client.post(f"{path}/cancel", json=reason, headers=fresh)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    paying = await payments.pay(str(invoice["id"]), headers=payments.citizen("citizen-3"))
    assert paying.status_code == 409
    assert paying.json()["code"] == "invoice.not_payable"


async def test_a_refused_dossier_cancels_what_is_unpaid(payments: PaymentService) -> None:
    dossier = payments.submitted()
    invoice = await payments.invoice_for(dossier)
    await payments.deliver(payments.status_changed(dossier, 3))

    async def cancelled() -> bool:
        got = await payments.client.get(f"/api/v1/invoices/{invoice['id']}", headers=payments.citizen())
        return bool(got.json()["status"] == "cancelled")

    await eventually(cancelled, what="the invoice cancelled")
    assert await payments.events("payment.refunded") == []


async def test_a_withdrawn_dossier_is_refunded_through_vnpay(payments: PaymentService) -> None:
    dossier = payments.submitted()
    invoice = await payments.invoice_for(dossier)
    payment = (await payments.pay(str(invoice["id"]))).json()
    assert (await payments.settle(payment)).rsp_code == "00"

    await payments.deliver(payments.status_changed(dossier, 7, refund=True))

    async def requested() -> bool:
        return await send_requested(payments.runtime, payments.context) == 1

    await eventually(requested, what="the VNPay refund sent")
    refunded = await payments.events("payment.refunded")
    assert len(refunded) == 1
    assert refunded[0]["invoice_id"] == invoice["id"]
    assert refunded[0]["dossier_id"] == str(dossier.dossier_id)
    assert refunded[0]["amount_vnd"] == 150_000
    assert refunded[0]["provider"] == "vnpay"
    assert refunded[0]["reason"] == "dossier_withdrawn"
    got = (await payments.client.get(f"/api/v1/invoices/{invoice['id']}", headers=payments.citizen())).json()
    assert got["status"] == "refunded"
    assert got["refunded_vnd"] == 150_000
    # VNPay recorded it too.
    assert payments.simulator.transaction(str(payment["reference"])).refunded == 15_000_000
    # A second, identical event changes nothing.
    await payments.deliver(payments.status_changed(dossier, 7, refund=True))
    assert await send_requested(payments.runtime, payments.context) == 0
    assert len(await payments.events("payment.refunded")) == 1


async def test_a_withdrawn_dossier_paid_by_transfer_is_refunded_by_the_treasury(
    payments: PaymentService,
) -> None:
    dossier = payments.submitted(fees=FEES[:1])
    invoice = await payments.invoice_for(dossier)
    payment = (await payments.pay(str(invoice["id"]), provider="vietqr")).json()
    credit = {
        "transaction_id": "FT2611100001",
        "account": "113366668888",
        "amount": 100_000,
        "memo": f"CT {payment['reference']} nop le phi",
        "credited_at": "2026-11-10T03:00:00Z",
    }
    assert (await payments.credit(credit)).json()["status"] == "matched"

    await payments.deliver(payments.status_changed(dossier, 3, refund=True))

    async def refunded() -> bool:
        return bool(await payments.events("payment.refunded"))

    await eventually(refunded, what="payment.refunded")
    event = (await payments.events("payment.refunded"))[0]
    assert event["provider"] == "vietqr"
    assert event["reason"] == "dossier_refused"
    got = (await payments.client.get(f"/api/v1/invoices/{invoice['id']}", headers=payments.citizen())).json()
    assert got["status"] == "refunded"
