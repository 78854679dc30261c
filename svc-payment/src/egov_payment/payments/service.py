"""Use cases of payments: start one, and record its outcome exactly once whichever way it arrives (VNPay's
IPN, querydr, a bank credit, cash at the desk).

Locking: every change to an invoice's payments, refunds or receipts locks the invoice row first (``SELECT ...
FOR UPDATE`` on PostgreSQL; SQLite writers are serialised by ``BEGIN IMMEDIATE``), then the payment row. So
fifty copies of one IPN queue up on the invoice: the first records the success, the others find it recorded
and answer "already confirmed", and two different payments of one invoice cannot both become *the* payment —
the second is an overpayment, refunded.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_payment import ledger
from egov_payment.context import PaymentContext
from egov_payment.invoices import repository as invoices
from egov_payment.invoices.models import Invoice, InvoiceStatus
from egov_payment.invoices.rules import new_reference
from egov_payment.invoices.service import is_finance, may_see
from egov_payment.payments import refunds
from egov_payment.payments.models import Payment, PaymentStatus
from egov_payment.payments.providers.registry import provider as provider_named
from egov_payment.payments.schemas import PaymentCreate
from egov_payment.receipts import service as receipts
from egov_payment.receipts.models import Receipt
from egov_payment.vnpay.protocol import (
    CallbackError,
    IpnResult,
    describe_response,
    ipn_result,
    parse_callback,
    verify,
)
from egov_shared.agencies import acts_for
from egov_shared.auth.tokens import Principal
from egov_shared.contracts.payment import PaymentFeePaid
from egov_shared.db import utcnow
from egov_shared.problems import Conflict, Forbidden, NotFound, Unprocessable
from egov_shared.uow import UnitOfWork

log = logging.getLogger(__name__)


async def lock_payment(session: AsyncSession, payment_id: uuid.UUID) -> Payment | None:
    payment: Payment | None = await session.scalar(
        select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return payment


async def by_reference(session: AsyncSession, reference: str) -> Payment | None:
    payment: Payment | None = await session.scalar(select(Payment).where(Payment.reference == reference))
    return payment


async def visible(session: AsyncSession, principal: Principal, payment_id: uuid.UUID) -> Payment:
    payment = await session.get(Payment, payment_id)
    invoice = await session.get(Invoice, payment.invoice_id) if payment else None
    if payment is None or invoice is None or not await may_see(session, principal, invoice):
        raise NotFound("Không tìm thấy giao dịch thanh toán.", code="payment.not_found")
    return payment


# --- starting a payment ----------------------------------------------------------------------------------


async def create(
    uow: UnitOfWork,
    context: PaymentContext,
    principal: Principal,
    body: PaymentCreate,
    *,
    client_ip: str,
) -> tuple[Payment, Receipt | None]:
    """Start paying an invoice: the payer (or an official of its agency) through a provider.

    Cash is recorded by a finance officer and settles at once (a receipt comes back with it).
    """
    session = uow.session
    invoice = await invoices.lock(session, body.invoice_id)
    if invoice is None or not await _may_pay(session, principal, invoice):
        raise NotFound("Không tìm thấy hóa đơn.", code="invoice.not_found")
    if body.provider == "cash" and not is_finance(principal):
        raise Forbidden("Chỉ kế toán ghi nhận được khoản nộp tiền mặt.", code="payment.cash_not_allowed")
    if invoice.status == InvoiceStatus.PAID:
        raise Conflict("Hóa đơn này đã được thanh toán.", code="invoice.already_paid")
    if invoice.status != InvoiceStatus.UNPAID:
        raise Conflict(
            "Hóa đơn này không còn phải thanh toán.",
            code="invoice.not_payable",
            extra={"invoice_status": invoice.status},
        )
    if body.amount_vnd is not None and body.amount_vnd != invoice.amount_vnd:
        raise Unprocessable(
            f"Số tiền phải đúng bằng số tiền của hóa đơn ({invoice.amount_vnd} đồng).",
            code="payment.amount_mismatch",
            errors=[{"field": "amount_vnd", "message": "Số tiền khác số tiền của hóa đơn."}],
        )
    provider = provider_named(context, body.provider)
    now = utcnow()
    payment = Payment(
        id=uuid.uuid4(),
        reference=new_reference("TT"),
        invoice_id=invoice.id,
        agency_code=invoice.agency_code,
        provider=provider.name,
        amount_vnd=invoice.amount_vnd,
        status=PaymentStatus.PENDING.value,
        overpayment=False,
        refunded_vnd=0,
        payer_id=principal.subject,
        payer_name=principal.name if principal.kind == "citizen" else invoice.payer_name,
        bank_code=body.bank_code,
        return_url=body.return_url,
        created_by=principal.subject,
        created_at=now,
    )
    checkout = provider.checkout(
        payment,
        invoice,
        ip_addr=client_ip,
        return_url=body.return_url
        or context.settings.browser_url + "/api/v1/payments/providers/vnpay/return",
        now=now,
    )
    payment.payment_url = checkout.payment_url
    payment.qr_payload = checkout.qr_payload
    payment.provider_created_at = checkout.provider_created_at
    payment.expires_at = checkout.expires_at
    session.add(payment)
    await session.flush()
    ledger.record(
        session,
        ledger.Entry.PAYMENT_CREATED,
        invoice_id=invoice.id,
        payment_id=payment.id,
        agency_code=invoice.agency_code,
        provider=provider.name,
        amount_vnd=payment.amount_vnd,
        reference=payment.reference,
    )
    receipt = None
    if provider.settles_immediately:
        receipt = await apply_success(
            uow, context, invoice=invoice, payment=payment, transaction_no="", paid_at=now
        )
    await uow.commit()
    return payment, receipt


async def _may_pay(session: AsyncSession, principal: Principal, invoice: Invoice) -> bool:
    if principal.kind == "citizen":
        # An invoice billed without a payer account (a walk-in payer) may be paid by whoever holds its id.
        return invoice.payer_id is None or invoice.payer_id == principal.subject
    if principal.kind == "official":
        return await acts_for(session, principal.agency, invoice.agency_code)
    return False


# --- recording the outcome -------------------------------------------------------------------------------


async def apply_success(
    uow: UnitOfWork,
    context: PaymentContext,
    *,
    invoice: Invoice,
    payment: Payment,
    transaction_no: str,
    paid_at: dt.datetime | None,
) -> Receipt | None:
    """The provider says ``payment`` (pending, both rows locked) succeeded.

    The first success of an unpaid invoice pays it: a receipt is issued and ``payment.fee_paid`` published,
    in this transaction. A success on an invoice already paid, cancelled or refunded is an overpayment: it is
    booked and refunded, never ignored.
    """
    session = uow.session
    now = utcnow()
    payment.status = PaymentStatus.SUCCEEDED.value
    payment.succeeded_at = now
    payment.provider_transaction_no = transaction_no or None
    payment.provider_response_code = "00"
    payment.version += 1
    ledger.record(
        session,
        ledger.Entry.PAYMENT_SUCCEEDED,
        invoice_id=invoice.id,
        payment_id=payment.id,
        agency_code=invoice.agency_code,
        provider=payment.provider,
        amount_vnd=payment.amount_vnd,
        transaction_no=transaction_no or None,
        provider_paid_at=paid_at.isoformat() if paid_at else None,
    )
    if invoice.status != InvoiceStatus.UNPAID:
        payment.overpayment = True
        ledger.record(
            session,
            ledger.Entry.OVERPAYMENT,
            invoice_id=invoice.id,
            payment_id=payment.id,
            agency_code=invoice.agency_code,
            provider=payment.provider,
            amount_vnd=payment.amount_vnd,
            invoice_status=invoice.status,
        )
        await refunds.request(uow, invoice=invoice, payment=payment, reason=refunds.OVERPAYMENT)
        return None
    invoice.status = InvoiceStatus.PAID.value
    invoice.paid_payment_id = payment.id
    invoice.paid_at = now
    ledger.record(
        session,
        ledger.Entry.INVOICE_PAID,
        invoice_id=invoice.id,
        payment_id=payment.id,
        agency_code=invoice.agency_code,
        provider=payment.provider,
        amount_vnd=invoice.amount_vnd,
    )
    receipt = await receipts.issue(
        session,
        context.settings,
        invoice=invoice,
        payment=payment,
        method=provider_named(context, payment.provider).method_label,
    )
    uow.publish(
        PaymentFeePaid(
            invoice_id=invoice.id,
            dossier_id=invoice.dossier_id,
            stage=invoice.stage,
            agency_code=invoice.agency_code,
            amount_vnd=invoice.amount_vnd,
            provider=payment.provider,
            receipt_number=receipt.receipt_number,
            receipt_id=receipt.id,
            paid_at=now,
        ),
        subject=str(invoice.id),
    )
    return receipt


def mark_failed(session: AsyncSession, payment: Payment, *, code: str, reason: str) -> None:
    payment.status = PaymentStatus.FAILED.value
    payment.provider_response_code = code[:4]
    payment.failure_reason = reason[:300]
    payment.version += 1
    ledger.record(
        session,
        ledger.Entry.PAYMENT_FAILED,
        invoice_id=payment.invoice_id,
        payment_id=payment.id,
        agency_code=payment.agency_code,
        provider=payment.provider,
        amount_vnd=payment.amount_vnd,
        code=code,
        reason=reason,
    )


@dataclass(frozen=True)
class IpnOutcome:
    result: IpnResult
    receipt: Receipt | None = None


async def handle_ipn(uow: UnitOfWork, context: PaymentContext, params: Mapping[str, str]) -> IpnOutcome:
    """VNPay's IPN, checked in its order: signature (97), order (01), amount (04), state (02); then the
    outcome is recorded and committed (00). Any answer but 00 changes nothing."""
    secret = context.secret
    try:
        callback = parse_callback(params, secret)
    except CallbackError:
        # A malformed message: if it is not even signed by VNPay, say so; else we cannot read it.
        return IpnOutcome(
            IpnResult.INVALID_SIGNATURE if not verify(params, secret) else IpnResult.UNKNOWN_ERROR
        )
    if not callback.signature_valid:
        return IpnOutcome(IpnResult.INVALID_SIGNATURE)
    session = uow.session
    found = await by_reference(session, callback.txn_ref)
    if found is None or found.provider != "vnpay" or callback.tmn_code != context.settings.vnpay_tmn_code:
        return IpnOutcome(IpnResult.ORDER_NOT_FOUND)
    invoice = await invoices.lock(session, found.invoice_id)
    payment = await lock_payment(session, found.id)
    if invoice is None or payment is None:  # pragma: no cover - foreign keys forbid it
        return IpnOutcome(IpnResult.ORDER_NOT_FOUND)
    result = ipn_result(
        callback,
        order_amount_vnd=payment.amount_vnd,
        already_confirmed=payment.status != PaymentStatus.PENDING,
    )
    if result is not IpnResult.CONFIRM_SUCCESS:
        return IpnOutcome(result)
    receipt = None
    if callback.paid:
        receipt = await apply_success(
            uow,
            context,
            invoice=invoice,
            payment=payment,
            transaction_no=callback.transaction_no,
            paid_at=callback.pay_date,
        )
    else:
        mark_failed(
            session, payment, code=callback.response_code, reason=describe_response(callback.response_code)
        )
    await uow.commit()
    return IpnOutcome(result, receipt)
