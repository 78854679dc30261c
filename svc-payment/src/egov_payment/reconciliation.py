"""Reconciliation with the providers: querydr for VNPay payments still pending after a while, and the daily
report per provider (count, sum, mismatches) for finance.

A payer may close the browser before VNPay's IPN reaches us, or the IPN may never arrive: after
``reconcile_after_minutes`` (15 by default, payment.md) the ``reconcile-vnpay`` job asks VNPay and applies
its answer through the same use case as the IPN (a success pays the invoice, issues the receipt and publishes
``payment.fee_paid``; a failure or an expired request marks the payment failed).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select

from egov_payment import ledger
from egov_payment.context import PaymentContext
from egov_payment.invoices import repository as invoices
from egov_payment.payments.models import BankCredit, CreditStatus, Payment, PaymentStatus, Refund
from egov_payment.payments.providers.base import QueryOutcome
from egov_payment.payments.providers.vnpay import VnpayProvider
from egov_payment.payments.schemas import ProviderReport
from egov_payment.payments.service import apply_success, lock_payment, mark_failed
from egov_payment.receipts.models import Receipt
from egov_payment.receipts.signing import sign_receipt
from egov_payment.vnpay.protocol import GMT7
from egov_shared.db import utcnow
from egov_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

# Older pending payments are not asked about any more (VNPay keeps querydr answers for a limited time).
MAX_AGE = dt.timedelta(days=7)


async def pending_vnpay(runtime: ServiceRuntime, *, older_than: dt.datetime, limit: int) -> list[Payment]:
    async with runtime.read_sessionmaker() as session:
        rows = await session.scalars(
            select(Payment)
            .where(
                Payment.provider == "vnpay",
                Payment.status == PaymentStatus.PENDING.value,
                Payment.created_at <= older_than,
                Payment.created_at >= older_than - MAX_AGE,
            )
            .order_by(Payment.created_at)
            .limit(limit)
        )
        return list(rows)


async def reconcile_pending(
    runtime: ServiceRuntime, context: PaymentContext, *, now: dt.datetime | None = None, limit: int = 100
) -> int:
    """The ``reconcile-vnpay`` job; returns how many payments it settled (succeeded or failed)."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(minutes=context.settings.reconcile_after_minutes)
    provider = VnpayProvider(context)
    settled = 0
    for payment in await pending_vnpay(runtime, older_than=cutoff, limit=limit):
        outcome = await provider.query(payment, now=now)
        if not outcome.answered:
            continue
        try:
            settled += await apply_query(runtime, context, payment.id, outcome, now=now)
        except Exception:
            log.exception("reconciliation failed", extra={"payment_id": str(payment.id)})
    return settled


async def apply_query(
    runtime: ServiceRuntime,
    context: PaymentContext,
    payment_id: uuid.UUID,
    outcome: QueryOutcome,
    *,
    now: dt.datetime,
) -> int:
    receipt: Receipt | None = None
    async with runtime.new_uow() as uow:
        session = uow.session
        found = await session.get(Payment, payment_id)
        if found is None:
            return 0
        invoice = await invoices.lock(session, found.invoice_id)
        payment = await lock_payment(session, payment_id)
        if invoice is None or payment is None or payment.status != PaymentStatus.PENDING:
            return 0
        expired = payment.expires_at is not None and payment.expires_at < now
        if outcome.paid:
            if outcome.amount_vnd != payment.amount_vnd:
                already = await session.scalar(
                    select(func.count())
                    .select_from(ledger.LedgerEntry)
                    .where(
                        ledger.LedgerEntry.payment_id == payment.id,
                        ledger.LedgerEntry.kind == ledger.Entry.RECONCILIATION_MISMATCH.value,
                    )
                )
                if not already:
                    ledger.record(
                        session,
                        ledger.Entry.RECONCILIATION_MISMATCH,
                        invoice_id=invoice.id,
                        payment_id=payment.id,
                        agency_code=payment.agency_code,
                        provider=payment.provider,
                        amount_vnd=outcome.amount_vnd,
                        expected_vnd=payment.amount_vnd,
                        transaction_no=outcome.transaction_no,
                    )
                    await uow.commit()
                return 0
            receipt = await apply_success(
                uow,
                context,
                invoice=invoice,
                payment=payment,
                transaction_no=outcome.transaction_no,
                paid_at=outcome.paid_at,
            )
        elif outcome.failed:
            mark_failed(
                session, payment, code=outcome.code, reason=outcome.description or "VNPAY báo thất bại"
            )
        elif expired:
            mark_failed(session, payment, code="11", reason="Hết thời gian chờ thanh toán")
        else:
            return 0
        await uow.commit()
    if receipt is not None and context.settings.receipt_signing:
        context.in_background(sign_receipt(runtime, context, receipt.id), f"sign-receipt:{receipt.id}")
    return 1


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """A calendar day in Vietnam as a UTC interval [start, end)."""
    start = dt.datetime.combine(day, dt.time(0), GMT7).astimezone(dt.UTC)
    return start, start + dt.timedelta(days=1)


async def daily_report(
    runtime: ServiceRuntime, *, day: dt.date, provider: str, agencies: Collection[str]
) -> ProviderReport:
    start, end = day_bounds(day)
    async with runtime.read_sessionmaker() as session:
        in_scope = (Payment.provider == provider, Payment.agency_code.in_(agencies))
        succeeded = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(Payment.amount_vnd), 0)).where(
                    *in_scope,
                    Payment.status == PaymentStatus.SUCCEEDED.value,
                    Payment.succeeded_at >= start,
                    Payment.succeeded_at < end,
                )
            )
        ).one()
        failed = await session.scalar(
            select(func.count()).where(
                *in_scope,
                Payment.status == PaymentStatus.FAILED.value,
                Payment.updated_at >= start,
                Payment.updated_at < end,
            )
        )
        pending = await session.scalar(
            select(func.count()).where(
                *in_scope,
                Payment.status == PaymentStatus.PENDING.value,
                Payment.created_at >= start,
                Payment.created_at < end,
            )
        )
        overpaid = list(
            await session.scalars(
                select(Payment).where(
                    *in_scope,
                    Payment.overpayment.is_(True),
                    Payment.succeeded_at >= start,
                    Payment.succeeded_at < end,
                )
            )
        )
        refunded = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(Refund.amount_vnd), 0))
                .join(Payment, Payment.id == Refund.payment_id)
                .where(*in_scope, Refund.completed_at >= start, Refund.completed_at < end)
            )
        ).one()
        mismatches: list[dict[str, Any]] = [
            {
                "kind": "overpayment",
                "payment_id": str(p.id),
                "reference": p.reference,
                "amount_vnd": p.amount_vnd,
            }
            for p in overpaid
        ]
        entries = await session.scalars(
            select(ledger.LedgerEntry).where(
                ledger.LedgerEntry.kind == ledger.Entry.RECONCILIATION_MISMATCH.value,
                ledger.LedgerEntry.provider == provider,
                ledger.LedgerEntry.agency_code.in_(agencies),
                ledger.LedgerEntry.created_at >= start,
                ledger.LedgerEntry.created_at < end,
            )
        )
        mismatches += [
            {
                "kind": "reconciliation",
                "payment_id": str(e.payment_id),
                "amount_vnd": e.amount_vnd,
                **e.details,
            }
            for e in entries
        ]
        if provider == "vietqr":
            credits = await session.scalars(
                select(BankCredit)
                .where(
                    BankCredit.status == CreditStatus.UNMATCHED.value,
                    BankCredit.credited_at >= start,
                    BankCredit.credited_at < end,
                )
                .order_by(BankCredit.credited_at)
            )
            mismatches += [
                {
                    "kind": "unmatched_credit",
                    "transaction_id": c.transaction_id,
                    "amount_vnd": c.amount_vnd,
                    "memo": c.memo,
                    "reason": c.reason,
                }
                for c in credits
            ]
    return ProviderReport(
        provider=provider,
        date=day,
        succeeded_count=int(succeeded[0]),
        succeeded_vnd=int(succeeded[1]),
        failed_count=int(failed or 0),
        pending_count=int(pending or 0),
        overpayments=len(overpaid),
        refunds_count=int(refunded[0]),
        refunds_vnd=int(refunded[1]),
        mismatches=mismatches,
    )
