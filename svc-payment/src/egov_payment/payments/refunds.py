"""Refunds: requested in the transaction that decides them, sent to the provider afterwards.

A VNPay refund is an HTTP call, so it is never made inside a transaction: the refund row is written with the
decision (status ``requested``) and the ``refunds`` job sends it, then records the answer. Money that came by
bank transfer or cash goes back through the treasury: the refund is recorded as ``treasury`` at once and
``payment.refunded`` is published in the same transaction.

Refunds come from dossier events and overpayments (what is left, automatically) and from finance officers
(any amount up to what is still refundable, guarded by the amount they saw: payment.md). A refund asked of
a provider and not yet answered counts against the invoice at once (``refund_pending_vnd``), so refunds
decided one after the other under the invoice's row lock never add up to more than was paid.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_payment import ledger
from egov_payment.context import PaymentContext
from egov_payment.invoices.models import Invoice, InvoiceStatus
from egov_payment.invoices.repository import lock as lock_invoice
from egov_payment.invoices.rules import REFUNDABLE_STATUSES
from egov_payment.invoices.service import is_finance
from egov_payment.payments.models import Payment, Refund, RefundStatus
from egov_payment.payments.providers.registry import provider
from egov_shared.agencies import acts_for
from egov_shared.auth.tokens import Principal
from egov_shared.contracts.payment import PaymentRefunded
from egov_shared.db import utcnow
from egov_shared.problems import Conflict, Forbidden, NotFound, PreconditionFailed, Unprocessable
from egov_shared.runtime import ServiceRuntime
from egov_shared.uow import UnitOfWork

log = logging.getLogger(__name__)

# Reasons are stable codes (consumers of payment.refunded may tell an overpayment from a dossier refund).
OVERPAYMENT = "overpayment"
DOSSIER_REASONS = {3: "dossier_refused", 7: "dossier_withdrawn", 8: "dossier_stopped"}
# A finance officer's decision (their own words are in the refund's ``note`` and the ledger).
FINANCE_DECISION = "finance_decision"


async def request(uow: UnitOfWork, *, invoice: Invoice, payment: Payment, reason: str) -> Refund | None:
    """Decide to give back what is left of ``payment`` (both rows locked by the caller), once per payment and
    reason: a redelivered event finds the first decision. Nothing when nothing is left (a finance officer
    may have refunded it all already)."""
    session = uow.session
    existing: Refund | None = await session.scalar(
        select(Refund).where(Refund.payment_id == payment.id, Refund.reason == reason).limit(1)
    )
    if existing is not None:
        return existing
    amount = payment.amount_vnd - payment.refunded_vnd if payment.overpayment else invoice.refundable_vnd
    if amount <= 0:
        return None
    return open_refund(uow, invoice=invoice, payment=payment, amount_vnd=amount, reason=reason)


def open_refund(
    uow: UnitOfWork,
    *,
    invoice: Invoice,
    payment: Payment,
    amount_vnd: int,
    reason: str,
    note: str | None = None,
    by: str | None = None,
) -> Refund:
    """Record the decision to give back ``amount_vnd`` of ``payment`` (both rows locked, the amount checked
    by the caller). VNPay's is sent by the ``refunds`` job; the treasury's is complete at once."""
    session = uow.session
    refund = Refund(
        id=uuid.uuid4(),
        payment_id=payment.id,
        invoice_id=invoice.id,
        provider=payment.provider,
        amount_vnd=amount_vnd,
        reason=reason,
        note=note,
        requested_by=by,
        status=RefundStatus.REQUESTED.value,
        attempts=0,
        created_at=utcnow(),
    )
    session.add(refund)
    if not payment.overpayment:
        invoice.refund_pending_vnd += amount_vnd
    ledger.record(
        session,
        ledger.Entry.REFUND_REQUESTED,
        invoice_id=invoice.id,
        payment_id=payment.id,
        agency_code=invoice.agency_code,
        provider=payment.provider,
        amount_vnd=amount_vnd,
        reason=reason,
        refund_id=str(refund.id),
        note=note,
        by=by,
    )
    if payment.provider != "vnpay":
        complete(uow, refund, invoice=invoice, payment=payment, status=RefundStatus.TREASURY, reply={})
    return refund


async def request_by_finance(
    uow: UnitOfWork,
    principal: Principal,
    invoice_id: uuid.UUID,
    *,
    amount_vnd: int,
    refundable_vnd: int,
    note: str,
) -> tuple[Refund, Invoice]:
    """A finance officer of the invoice's agency (or one above it) gives back ``amount_vnd`` of what was paid.

    ``refundable_vnd`` is what the officer saw as still refundable: checked under the invoice's row lock, a
    stale value (another refund since) is 412, so two officers, or one double click, cannot refund twice
    what they meant once. Commits.
    """
    session = uow.session
    if not is_finance(principal):
        raise Forbidden("Cần vai trò kế toán (finance).", code="auth.role_required")
    invoice = await lock_invoice(session, invoice_id)
    if invoice is None or not await acts_for(session, principal.agency, invoice.agency_code):
        raise NotFound("Không tìm thấy hóa đơn.", code="invoice.not_found")
    if invoice.status not in REFUNDABLE_STATUSES or invoice.paid_payment_id is None:
        raise Conflict(
            "Chỉ hoàn được tiền của hóa đơn đã thanh toán và chưa hoàn hết.",
            code="invoice.not_refundable",
            extra={"invoice_status": invoice.status},
        )
    current = invoice.refundable_vnd
    if refundable_vnd != current:
        raise PreconditionFailed(
            f"Số tiền còn có thể hoàn đã thay đổi, hiện là {current} đồng. Hãy tải lại hóa đơn rồi thử lại.",
            code="refund.stale_amount",
            extra={"refundable_vnd": current},
        )
    if amount_vnd > current:
        raise Unprocessable(
            f"Số tiền hoàn vượt quá số tiền còn có thể hoàn ({current} đồng).",
            code="refund.amount_exceeds_refundable",
            errors=[{"field": "amount_vnd", "message": f"Tối đa {current} đồng."}],
            extra={"refundable_vnd": current},
        )
    payment = await _lock_payment(session, invoice.paid_payment_id)
    if payment is None:  # pragma: no cover - foreign keys forbid it
        raise LookupError(invoice.paid_payment_id)
    refund = open_refund(
        uow,
        invoice=invoice,
        payment=payment,
        amount_vnd=amount_vnd,
        reason=FINANCE_DECISION,
        note=note,
        by=principal.subject,
    )
    await uow.commit()
    return refund, invoice


async def _lock_payment(session: AsyncSession, payment_id: uuid.UUID) -> Payment | None:
    # payments.service.lock_payment, which cannot be imported here (that module imports this one).
    payment: Payment | None = await session.scalar(
        select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return payment


async def of_invoice(session: AsyncSession, invoice_id: uuid.UUID) -> list[Refund]:
    """An invoice's refunds (its overpayments' too), oldest first."""
    rows = await session.scalars(
        select(Refund).where(Refund.invoice_id == invoice_id).order_by(Refund.created_at, Refund.id)
    )
    return list(rows)


def complete(
    uow: UnitOfWork,
    refund: Refund,
    *,
    invoice: Invoice,
    payment: Payment,
    status: RefundStatus,
    reply: dict[str, str],
) -> None:
    """The money is (or will be, by the treasury) back with the payer: book it and say so."""
    session = uow.session
    now = utcnow()
    refund.status = status.value
    refund.completed_at = now
    refund.provider_reply = reply or None
    payment.refunded_vnd += refund.amount_vnd
    if not payment.overpayment:
        invoice.refund_pending_vnd -= refund.amount_vnd
    ledger.record(
        session,
        ledger.Entry.REFUND_TREASURY if status is RefundStatus.TREASURY else ledger.Entry.REFUND_COMPLETED,
        invoice_id=invoice.id,
        payment_id=payment.id,
        agency_code=invoice.agency_code,
        provider=payment.provider,
        amount_vnd=refund.amount_vnd,
        reason=refund.reason,
        refund_id=str(refund.id),
    )
    if not payment.overpayment:
        invoice.refunded_vnd += refund.amount_vnd
        invoice.status = (
            InvoiceStatus.REFUNDED.value
            if invoice.refunded_vnd >= invoice.amount_vnd
            else InvoiceStatus.PARTIALLY_REFUNDED.value
        )
        ledger.record(
            session,
            ledger.Entry.INVOICE_REFUNDED,
            invoice_id=invoice.id,
            payment_id=payment.id,
            agency_code=invoice.agency_code,
            amount_vnd=refund.amount_vnd,
        )
    uow.publish(
        PaymentRefunded(
            invoice_id=invoice.id,
            dossier_id=invoice.dossier_id,
            stage=invoice.stage,
            agency_code=invoice.agency_code,
            amount_vnd=refund.amount_vnd,
            provider=payment.provider,
            reason=refund.reason,
            refunded_at=now,
        ),
        subject=str(invoice.id),
    )


async def _requested(session: AsyncSession, limit: int) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Refund.id)
        .where(Refund.status == RefundStatus.REQUESTED.value)
        .order_by(Refund.created_at)
        .limit(limit)
    )
    return list(rows)


async def send_requested(runtime: ServiceRuntime, context: PaymentContext, *, limit: int = 50) -> int:
    """Send the requested refunds to their provider (the ``refunds`` job); returns how many completed."""
    async with runtime.read_sessionmaker() as session:
        ids = await _requested(session, limit)
    done = 0
    for refund_id in ids:
        try:
            done += await _send(runtime, context, refund_id)
        except Exception:
            log.exception("refund failed", extra={"refund_id": str(refund_id)})
    return done


async def _send(runtime: ServiceRuntime, context: PaymentContext, refund_id: uuid.UUID) -> int:
    async with runtime.read_sessionmaker() as session:
        refund = await session.get(Refund, refund_id)
        payment = await session.get(Payment, refund.payment_id) if refund else None
    if refund is None or payment is None or refund.status != RefundStatus.REQUESTED:
        return 0
    # The HTTP call happens outside any transaction; VNPay refuses a repeated request id, and a refund that
    # went through but whose answer was lost shows up as "refund processing" in querydr for finance.
    outcome = await provider(context, payment.provider).refund(
        payment, refund.amount_vnd, reason=refund.reason, now=utcnow()
    )
    async with runtime.new_uow() as uow:
        invoice = await lock_invoice(uow.session, refund.invoice_id)
        locked = await uow.session.scalar(
            select(Refund)
            .where(Refund.id == refund_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        payment = await uow.session.get(Payment, refund.payment_id, populate_existing=True)
        if invoice is None or locked is None or payment is None or locked.status != RefundStatus.REQUESTED:
            return 0
        locked.attempts += 1
        if outcome.status in (RefundStatus.COMPLETED, RefundStatus.TREASURY):
            complete(
                uow, locked, invoice=invoice, payment=payment, status=outcome.status, reply=outcome.reply
            )
        elif outcome.status is RefundStatus.FAILED:
            locked.status = RefundStatus.FAILED.value
            locked.provider_reply = outcome.reply or {"message": outcome.message}
            if not payment.overpayment:
                # Refused: the money was not given back, so it is refundable again (finance must act).
                invoice.refund_pending_vnd -= locked.amount_vnd
            ledger.record(
                uow.session,
                ledger.Entry.REFUND_FAILED,
                invoice_id=invoice.id,
                payment_id=payment.id,
                agency_code=invoice.agency_code,
                provider=payment.provider,
                amount_vnd=locked.amount_vnd,
                message=outcome.message,
                refund_id=str(locked.id),
            )
        await uow.commit()
    return 1 if outcome.status in (RefundStatus.COMPLETED, RefundStatus.TREASURY) else 0
