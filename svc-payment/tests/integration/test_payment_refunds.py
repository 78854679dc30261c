"""Refunds by finance officers: partial or full, guarded by the amount still refundable (stale: 412), through
the provider (VNPay's refund API, 03 then 02; the treasury for cash and transfers), append-only in the ledger,
``payment.refunded`` with the state change; and never more than was paid, even under concurrent requests."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from payment_harness import JUSTICE, OTHER_PROVINCE, WARD, PaymentService
from sqlalchemy import select

from egov_payment.ledger import LedgerEntry
from egov_payment.payments.models import Refund
from egov_payment.payments.refunds import send_requested
from egov_shared.testing.waiting import eventually


async def _paid_by_vnpay(payments: PaymentService) -> tuple[dict[str, Any], dict[str, Any]]:
    invoice = await payments.invoice_for(payments.submitted())
    payment = (await payments.pay(str(invoice["id"]))).json()
    assert (await payments.settle(payment)).rsp_code == "00"
    return await _invoice(payments, invoice["id"]), payment


async def _invoice(payments: PaymentService, invoice_id: object) -> dict[str, Any]:
    response = await payments.client.get(f"/api/v1/invoices/{invoice_id}", headers=payments.finance())
    assert response.status_code == 200, response.text
    got: dict[str, Any] = response.json()
    return got


async def _refund(
    payments: PaymentService,
    invoice_id: object,
    amount: int,
    refundable: int,
    *,
    headers: dict[str, str] | None = None,
    key: str | None = None,
    reason: str = "Thu thừa phí thẩm định",
) -> httpx.Response:
    headers = dict(headers or payments.finance())
    if key:
        headers["Idempotency-Key"] = key
    return await payments.client.post(
        f"/api/v1/invoices/{invoice_id}/refunds",
        json={"amount_vnd": amount, "reason": reason, "refundable_vnd": refundable},
        headers=headers,
    )


async def _sent(payments: PaymentService, count: int) -> None:
    assert await send_requested(payments.runtime, payments.context) == count


async def _refund_rows(payments: PaymentService, invoice_id: object) -> list[Refund]:
    async with payments.runtime.read_sessionmaker() as session:
        rows = await session.scalars(
            select(Refund).where(Refund.invoice_id == uuid.UUID(str(invoice_id))).order_by(Refund.created_at)
        )
        return list(rows)


async def test_finance_refunds_a_vnpay_payment_in_parts(payments: PaymentService) -> None:
    invoice, payment = await _paid_by_vnpay(payments)
    assert (invoice["status"], invoice["refundable_vnd"], invoice["refunded_vnd"]) == ("paid", 150_000, 0)

    first = await _refund(payments, invoice["id"], 50_000, 150_000, key="refund-1")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["status"], body["amount_vnd"], body["provider"]) == ("requested", 50_000, "vnpay")
    assert (body["reason"], body["note"], body["requested_by"]) == (
        "finance_decision",
        "Thu thừa phí thẩm định",
        "ketoan",
    )
    # Asked of VNPay, not yet answered: already out of the refundable amount, not yet refunded.
    assert body["invoice"]["refund_pending_vnd"] == 50_000
    assert body["invoice"]["refundable_vnd"] == 100_000
    assert body["invoice"]["status"] == "paid"
    assert await payments.events("payment.refunded") == []

    # The same request again (a retry): the original answer, nothing refunded twice.
    replay = await _refund(payments, invoice["id"], 50_000, 150_000, key="refund-1")
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == body
    reused = await _refund(payments, invoice["id"], 40_000, 150_000, key="refund-1")
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency.key_reused"
    # What the officer saw is stale now: 412 with the current amount, then a too large amount: 422.
    stale = await _refund(payments, invoice["id"], 10_000, 150_000)
    assert stale.status_code == 412, stale.text
    assert stale.json()["code"] == "refund.stale_amount"
    assert stale.json()["refundable_vnd"] == 100_000
    over = await _refund(payments, invoice["id"], 100_001, 100_000)
    assert over.status_code == 422, over.text
    assert over.json()["code"] == "refund.amount_exceeds_refundable"
    assert over.json()["errors"][0]["field"] == "amount_vnd"

    # The refunds job sends it to VNPay (a partial refund, 03); the invoice is partly refunded.
    await _sent(payments, 1)
    got = await _invoice(payments, invoice["id"])
    assert (got["status"], got["refunded_vnd"], got["refund_pending_vnd"], got["refundable_vnd"]) == (
        "partially_refunded",
        50_000,
        0,
        100_000,
    )
    events = await payments.events("payment.refunded")
    assert [(e["amount_vnd"], e["reason"], e["provider"]) for e in events] == [
        (50_000, "finance_decision", "vnpay")
    ]
    assert events[0]["dossier_id"] == str(invoice["dossier_id"])
    assert payments.simulator.transaction(str(payment["reference"])).refunded == 5_000_000

    # The rest: VNPay is asked for everything left (02); the invoice is refunded, nothing more can be.
    rest = await _refund(payments, invoice["id"], 100_000, 100_000)
    assert rest.status_code == 201, rest.text
    await _sent(payments, 1)
    got = await _invoice(payments, invoice["id"])
    assert (got["status"], got["refunded_vnd"], got["refundable_vnd"]) == ("refunded", 150_000, 0)
    assert payments.simulator.transaction(str(payment["reference"])).refunded == 15_000_000
    rows = await _refund_rows(payments, invoice["id"])
    assert [(r.status, (r.provider_reply or {}).get("vnp_TransactionType")) for r in rows] == [
        ("completed", "03"),
        ("completed", "02"),
    ]
    again = await _refund(payments, invoice["id"], 1, 0)
    assert again.status_code == 409
    assert again.json()["code"] == "invoice.not_refundable"
    assert len(await payments.events("payment.refunded")) == 2

    listed = await payments.client.get(
        f"/api/v1/invoices/{invoice['id']}/refunds", headers=payments.citizen()
    )
    assert listed.status_code == 200, listed.text
    assert [(r["amount_vnd"], r["status"]) for r in listed.json()] == [
        (50_000, "completed"),
        (100_000, "completed"),
    ]
    kinds = [
        e.kind
        for e in await _ledger(payments, invoice["id"])
        if e.kind.startswith(("refund", "invoice_refunded"))
    ]
    assert kinds == ["refund_requested", "refund_completed", "invoice_refunded"] * 2


async def _ledger(payments: PaymentService, invoice_id: object) -> list[LedgerEntry]:
    async with payments.runtime.read_sessionmaker() as session:
        rows = await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.invoice_id == uuid.UUID(str(invoice_id)))
            .order_by(LedgerEntry.id)
        )
        return list(rows)


async def test_cash_is_refunded_by_the_treasury_at_once_and_a_withdrawal_refunds_the_rest(
    payments: PaymentService,
) -> None:
    dossier = payments.submitted()
    invoice = await payments.invoice_for(dossier)
    paid = await payments.pay(str(invoice["id"]), provider="cash", headers=payments.finance())
    assert paid.status_code == 201, paid.text

    partial = await _refund(payments, invoice["id"], 40_000, 150_000)
    assert partial.status_code == 201, partial.text
    assert partial.json()["status"] == "treasury"
    assert partial.json()["invoice"]["status"] == "partially_refunded"
    assert partial.json()["invoice"]["refunded_vnd"] == 40_000
    assert partial.json()["invoice"]["refundable_vnd"] == 110_000
    # Recorded for the treasury and said so in the same transaction: nothing for the refunds job.
    assert [(e["amount_vnd"], e["provider"]) for e in await payments.events("payment.refunded")] == [
        (40_000, "cash")
    ]
    await _sent(payments, 0)

    # The dossier is withdrawn with a refund owed: what is left goes back, once.
    withdrawn = payments.status_changed(dossier, 7, refund=True)
    await payments.deliver(withdrawn)
    await payments.deliver(withdrawn)

    async def refunded() -> bool:
        return len(await payments.events("payment.refunded")) == 2

    await eventually(refunded, what="the rest refunded")
    events = await payments.events("payment.refunded")
    assert [(e["amount_vnd"], e["reason"]) for e in events] == [
        (40_000, "finance_decision"),
        (110_000, "dossier_withdrawn"),
    ]
    got = await _invoice(payments, invoice["id"])
    assert (got["status"], got["refunded_vnd"], got["refundable_vnd"]) == ("refunded", 150_000, 0)


async def test_who_may_refund_and_what(payments: PaymentService) -> None:
    unpaid = await payments.invoice_for(payments.submitted())
    assert unpaid["refundable_vnd"] == 0
    response = await _refund(payments, unpaid["id"], 1_000, 0)
    assert response.status_code == 409
    assert response.json()["code"] == "invoice.not_refundable"
    assert response.json()["invoice_status"] == "unpaid"

    invoice, _ = await _paid_by_vnpay(payments)
    # Not finance: 403; finance of an agency that does not act for the invoice's: 404, as if it did not exist.
    for headers, status in (
        (payments.official("reception"), 403),
        (payments.citizen(), 403),
        (payments.finance(agency=WARD), 404),
        (payments.finance(agency=OTHER_PROVINCE), 404),
        (payments.finance(agency=JUSTICE), 201),
    ):
        response = await _refund(payments, invoice["id"], 1_000, 150_000, headers=headers)
        assert response.status_code == status, (headers, response.text)
    assert (await _refund(payments, uuid.uuid4(), 1_000, 149_000)).status_code == 404
    assert (
        await payments.client.post(f"/api/v1/invoices/{invoice['id']}/refunds", json={})
    ).status_code == 401
    for bad in (
        {"amount_vnd": 0, "refundable_vnd": 149_000},
        {"amount_vnd": -5, "refundable_vnd": 149_000},
        {"amount_vnd": 1.5, "refundable_vnd": 149_000},
        {"amount_vnd": "1000", "refundable_vnd": 149_000},
        {"amount_vnd": 1_000},
        {"amount_vnd": 1_000, "refundable_vnd": -1},
    ):
        response = await payments.client.post(
            f"/api/v1/invoices/{invoice['id']}/refunds",
            json={"reason": "Hoàn phí", **bad},
            headers=payments.finance(),
        )
        assert response.status_code == 422, bad
    got = await _invoice(payments, invoice["id"])
    assert (got["refund_pending_vnd"], got["refundable_vnd"]) == (1_000, 149_000)


async def test_concurrent_refunds_never_exceed_what_was_paid(payments: PaymentService) -> None:
    invoice, payment = await _paid_by_vnpay(payments)
    path = invoice["id"]

    # Ten officers press at once, all having seen 150 000 refundable: one refund, nine stale guards.
    burst = await asyncio.gather(
        *(_refund(payments, path, 20_000, 150_000, key=f"burst-{n}") for n in range(10))
    )
    assert sorted(r.status_code for r in burst) == [201] + [412] * 9

    # Ten more, each reloading on 412 and trying again, 20 000 at a time: 200 000 asked, at most 150 000 paid.
    async def officer() -> int:
        given = 0
        while True:
            refundable = (await _invoice(payments, path))["refundable_vnd"]
            response = await _refund(payments, path, 20_000, refundable)
            if response.status_code == 201:
                given += 20_000
            elif response.status_code in (409, 422):
                return given
            else:
                assert response.status_code == 412, response.text

    given = await asyncio.gather(*(officer() for _ in range(10)))
    assert sum(given) == 120_000  # with the burst's: 7 x 20 000, and 10 000 too little for another
    got = await _invoice(payments, path)
    assert (got["refund_pending_vnd"], got["refundable_vnd"]) == (140_000, 10_000)
    rows = await _refund_rows(payments, path)
    assert len(rows) == 7
    assert sum(r.amount_vnd for r in rows) == 140_000

    await _sent(payments, 7)
    got = await _invoice(payments, path)
    assert (got["status"], got["refunded_vnd"], got["refundable_vnd"]) == (
        "partially_refunded",
        140_000,
        10_000,
    )
    assert payments.simulator.transaction(str(payment["reference"])).refunded == 14_000_000
    assert sum(e["amount_vnd"] for e in await payments.events("payment.refunded")) == 140_000
