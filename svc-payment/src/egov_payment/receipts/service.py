"""Issuing, reading and cancelling receipts.

One receipt per successful payment (not one per fee kind: a payment settles one invoice, and one document
with its phí and lệ phí lines is what the payer keeps). Numbers come from one series per agency and Vietnamese
calendar year, drawn in the payment's own transaction, so committed numbers have no gaps even under
concurrency; a rolled-back payment gives its number back.
"""

from __future__ import annotations

import hmac
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_payment import ledger
from egov_payment.config import Settings
from egov_payment.invoices.models import Invoice
from egov_payment.invoices.service import is_finance
from egov_payment.payments.models import Payment
from egov_payment.receipts.models import Receipt, ReceiptStatus, SigningStatus
from egov_payment.vnpay.protocol import GMT7
from egov_payment.words import amount_in_words
from egov_shared.agencies import acts_for, agency_name
from egov_shared.auth.tokens import Principal
from egov_shared.counters import next_in_series
from egov_shared.db import utcnow
from egov_shared.http.etag import check_version
from egov_shared.problems import Conflict, Forbidden, NotFound

DEFAULT_PAYER_NAME = "Người nộp tiền"


def series_of(agency_code: str, year: int) -> str:
    return f"{agency_code}/{year}"


def receipt_number(symbol: str, agency_code: str, number: int) -> str:
    """What the receipt is known by outside: ``BL26-000.00.00.H27-0000042`` (symbol, agency, number)."""
    return f"{symbol}-{agency_code}-{number:07d}"


async def issue(
    session: AsyncSession,
    settings: Settings,
    *,
    invoice: Invoice,
    payment: Payment,
    method: str,
    payer_name: str | None = None,
    replaces: Receipt | None = None,
) -> Receipt:
    """A new receipt in the caller's transaction, signing pending (done after commit, over HTTP)."""
    now = utcnow()
    year = now.astimezone(GMT7).year
    series = series_of(invoice.agency_code, year)
    name = await agency_name(session, invoice.agency_code) or invoice.agency_code
    # Drawn last: the series row stays locked until commit, so nothing slow may follow it.
    number = await next_in_series(session, f"receipt:{series}")
    symbol = f"BL{year % 100:02d}"
    receipt = Receipt(
        id=uuid.uuid4(),
        series=series,
        number=number,
        form_number=settings.receipt_form_number,
        symbol=symbol,
        receipt_number=receipt_number(symbol, invoice.agency_code, number),
        invoice_id=invoice.id,
        payment_id=payment.id,
        agency_code=invoice.agency_code,
        agency_name=name,
        tax_code=settings.agency_tax_codes.get(invoice.agency_code),
        payer_id=invoice.payer_id,
        payer_name=payer_name or payment.payer_name or invoice.payer_name or DEFAULT_PAYER_NAME,
        dossier_code=invoice.dossier_code,
        lines=list(invoice.lines),
        amount_vnd=invoice.amount_vnd,
        amount_in_words=amount_in_words(invoice.amount_vnd),
        method=method,
        provider=payment.provider,
        issued_at=now,
        verification_code=secrets.token_urlsafe(12),
        status=ReceiptStatus.ISSUED.value,
        replaces_id=replaces.id if replaces else None,
        signing_status=SigningStatus.PENDING.value,
        signing_attempts=0,
        version=1,
    )
    session.add(receipt)
    ledger.record(
        session,
        ledger.Entry.RECEIPT_ISSUED,
        invoice_id=invoice.id,
        payment_id=payment.id,
        receipt_id=receipt.id,
        agency_code=invoice.agency_code,
        provider=payment.provider,
        amount_vnd=invoice.amount_vnd,
        receipt_number=receipt.receipt_number,
        replaces=str(replaces.id) if replaces else None,
    )
    return receipt


async def may_see(session: AsyncSession, principal: Principal, receipt: Receipt) -> bool:
    if principal.kind == "citizen":
        return receipt.payer_id is not None and receipt.payer_id == principal.subject
    if principal.kind == "official":
        return await acts_for(session, principal.agency, receipt.agency_code)
    return False


async def visible(session: AsyncSession, principal: Principal, receipt_id: uuid.UUID) -> Receipt:
    receipt = await session.get(Receipt, receipt_id)
    if receipt is None or not await may_see(session, principal, receipt):
        raise NotFound("Không tìm thấy biên lai.", code="receipt.not_found")
    return receipt


async def for_verification(session: AsyncSession, receipt_id: uuid.UUID, code: str) -> Receipt:
    """The receipt a verification link names, if its code is right (constant-time); 404 otherwise."""
    receipt = await session.get(Receipt, receipt_id)
    if receipt is None or not hmac.compare_digest(receipt.verification_code.encode(), code.encode()):
        raise NotFound("Không tìm thấy biên lai hoặc mã kiểm tra không đúng.", code="receipt.not_found")
    return receipt


async def replacement_of(session: AsyncSession, receipt_id: uuid.UUID) -> Receipt | None:
    found: Receipt | None = await session.scalar(select(Receipt).where(Receipt.replaces_id == receipt_id))
    return found


async def cancel_and_replace(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    receipt_id: uuid.UUID,
    *,
    version: int,
    reason: str,
    payer_name: str | None,
) -> tuple[Receipt, Receipt]:
    """Cancel a receipt issued by mistake and issue its replacement (a new number) referencing it.

    The receipt itself is never edited: a corrected payer name goes on the replacement.
    """
    if not is_finance(principal):
        raise Forbidden("Cần vai trò kế toán (finance).", code="auth.role_required")
    receipt = await session.scalar(
        select(Receipt)
        .where(Receipt.id == receipt_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if receipt is None or not await acts_for(session, principal.agency, receipt.agency_code):
        raise NotFound("Không tìm thấy biên lai.", code="receipt.not_found")
    check_version(version, receipt.version)
    if receipt.status != ReceiptStatus.ISSUED:
        raise Conflict("Biên lai đã bị hủy trước đó.", code="receipt.already_cancelled")
    invoice = await session.get(Invoice, receipt.invoice_id)
    payment = await session.get(Payment, receipt.payment_id)
    if invoice is None or payment is None:  # pragma: no cover - foreign keys forbid it
        raise NotFound("Không tìm thấy hóa đơn của biên lai.", code="receipt.not_found")
    receipt.status = ReceiptStatus.CANCELLED.value
    receipt.cancelled_at = utcnow()
    receipt.cancel_reason = reason
    receipt.cancelled_by = principal.subject
    receipt.version += 1
    ledger.record(
        session,
        ledger.Entry.RECEIPT_CANCELLED,
        invoice_id=invoice.id,
        payment_id=payment.id,
        receipt_id=receipt.id,
        agency_code=receipt.agency_code,
        amount_vnd=receipt.amount_vnd,
        reason=reason,
        by=principal.subject,
    )
    replacement = await issue(
        session,
        settings,
        invoice=invoice,
        payment=payment,
        method=receipt.method,
        payer_name=payer_name or receipt.payer_name,
        replaces=receipt,
    )
    return receipt, replacement
