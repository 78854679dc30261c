"""Use cases of invoices: from dossier events, by a finance officer, cancellation, and who may see them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from egov_payment import ledger
from egov_payment.config import Settings
from egov_payment.invoices import repository
from egov_payment.invoices.models import Invoice, InvoiceStatus
from egov_payment.invoices.rules import describe_dossier_fees, new_reference, payable_lines, total
from egov_payment.invoices.schemas import InvoiceCreate
from egov_shared.agencies import acts_for, agency_exists, subtree
from egov_shared.auth.tokens import Principal
from egov_shared.contracts.dossier import FeeLine
from egov_shared.db import utcnow
from egov_shared.http.etag import check_version
from egov_shared.problems import Conflict, Forbidden, NotFound, Unprocessable
from egov_shared.uow import UnitOfWork

FINANCE_ROLE = "finance"


def is_finance(principal: Principal) -> bool:
    return principal.kind == "official" and FINANCE_ROLE in principal.roles


async def may_see(session: AsyncSession, principal: Principal, invoice: Invoice) -> bool:
    """The payer, and officials of the invoice's agency or one above it."""
    if principal.kind == "citizen":
        return invoice.payer_id is not None and invoice.payer_id == principal.subject
    if principal.kind == "official":
        return await acts_for(session, principal.agency, invoice.agency_code)
    return False


async def visible(session: AsyncSession, principal: Principal, invoice_id: uuid.UUID) -> Invoice:
    """The invoice if the caller may see it; 404 otherwise, whether or not it exists."""
    invoice = await repository.get(session, invoice_id)
    if invoice is None or not await may_see(session, principal, invoice):
        raise NotFound("Không tìm thấy hóa đơn.", code="invoice.not_found")
    return invoice


async def visible_agencies(session: AsyncSession, principal: Principal, agency_code: str | None) -> set[str]:
    """The agencies whose invoices an official may list: their subtree, narrowed to ``agency_code``'s."""
    if principal.kind != "official" or not principal.agency:
        raise Forbidden("Chức năng này dành cho cán bộ.", code="auth.official_required")
    if agency_code is None:
        return await subtree(session, principal.agency)
    if not await acts_for(session, principal.agency, agency_code):
        raise Forbidden("Cơ quan này không thuộc phạm vi của bạn.", code="invoice.agency_not_allowed")
    return await subtree(session, agency_code)


async def create_for_dossier(
    uow: UnitOfWork,
    settings: Settings,
    *,
    dossier_id: uuid.UUID,
    dossier_code: str,
    agency_code: str,
    applicant_id: str,
    fees: Sequence[FeeLine],
    stage: str,
) -> Invoice | None:
    """The dossier's invoice for ``stage``, created once: a redelivered or republished event finds it.

    Nothing is billed when the fee lines sum to zero (such dossiers never wait for a payment).
    """
    lines = payable_lines(fee.model_dump() for fee in fees)
    amount = total(lines)
    if amount <= 0:
        return None
    session = uow.session
    existing = await repository.for_dossier_stage(session, dossier_id, stage)
    if existing is not None:
        return existing
    now = utcnow()
    invoice = Invoice(
        reference=new_reference("HD"),
        dossier_id=dossier_id,
        dossier_code=dossier_code,
        stage=stage,
        agency_code=agency_code,
        payer_id=applicant_id,
        description=describe_dossier_fees(dossier_code, stage),
        lines=lines,
        amount_vnd=amount,
        refunded_vnd=0,
        status=InvoiceStatus.UNPAID.value,
        due_at=now + dt.timedelta(days=settings.invoice_due_days),
        created_by="svc-dossier",
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(invoice)
            await session.flush()
    except IntegrityError:
        # Another replica handled a copy of the same event a moment ago (the unique dossier+stage).
        return await repository.for_dossier_stage(session, dossier_id, stage)
    ledger.record(
        session,
        ledger.Entry.INVOICE_CREATED,
        invoice_id=invoice.id,
        agency_code=agency_code,
        amount_vnd=amount,
        dossier_id=str(dossier_id),
        stage=stage,
    )
    return invoice


async def create_by_finance(
    uow: UnitOfWork, settings: Settings, principal: Principal, body: InvoiceCreate
) -> Invoice:
    """An obligation billed by a finance officer of the agency (or of one above it)."""
    session = uow.session
    if not is_finance(principal):
        raise Forbidden("Cần vai trò kế toán (finance).", code="auth.role_required")
    if not await acts_for(session, principal.agency, body.agency_code):
        raise Forbidden("Cơ quan này không thuộc phạm vi của bạn.", code="invoice.agency_not_allowed")
    if not await agency_exists(session, body.agency_code):
        raise Unprocessable(
            "Không có cơ quan này.",
            code="invoice.unknown_agency",
            errors=[{"field": "agency_code", "message": "Không có cơ quan mang mã này."}],
        )
    now = utcnow()
    if body.due_at is not None and (body.due_at.tzinfo is None or body.due_at <= now):
        raise Unprocessable(
            "Hạn nộp phải là một thời điểm trong tương lai, có múi giờ.",
            code="invoice.bad_due_date",
            errors=[{"field": "due_at", "message": "Hạn nộp phải ở tương lai."}],
        )
    lines = [line.model_dump() for line in body.lines]
    invoice = Invoice(
        reference=new_reference("HD"),
        agency_code=body.agency_code,
        payer_id=body.payer_id,
        payer_name=body.payer_name,
        description=body.description,
        lines=lines,
        amount_vnd=total(lines),
        refunded_vnd=0,
        status=InvoiceStatus.UNPAID.value,
        due_at=body.due_at or now + dt.timedelta(days=settings.invoice_due_days),
        created_by=principal.subject,
        created_at=now,
    )
    session.add(invoice)
    await session.flush()
    ledger.record(
        session,
        ledger.Entry.INVOICE_CREATED,
        invoice_id=invoice.id,
        agency_code=invoice.agency_code,
        amount_vnd=invoice.amount_vnd,
        by=principal.subject,
    )
    await uow.commit()
    return invoice


def cancel(session: AsyncSession, invoice: Invoice, reason: str, *, by: str) -> None:
    """An unpaid invoice is no longer due. Payments still pending may yet succeed: they become overpayments."""
    invoice.status = InvoiceStatus.CANCELLED.value
    invoice.cancelled_at = utcnow()
    invoice.cancel_reason = reason[:500]
    ledger.record(
        session,
        ledger.Entry.INVOICE_CANCELLED,
        invoice_id=invoice.id,
        agency_code=invoice.agency_code,
        amount_vnd=invoice.amount_vnd,
        reason=reason,
        by=by,
    )


async def cancel_by_finance(
    uow: UnitOfWork, principal: Principal, invoice_id: uuid.UUID, *, version: int, reason: str
) -> Invoice:
    session = uow.session
    if not is_finance(principal):
        raise Forbidden("Cần vai trò kế toán (finance).", code="auth.role_required")
    invoice = await repository.lock(session, invoice_id)
    if invoice is None or not await acts_for(session, principal.agency, invoice.agency_code):
        raise NotFound("Không tìm thấy hóa đơn.", code="invoice.not_found")
    check_version(version, invoice.version)
    if invoice.status != InvoiceStatus.UNPAID:
        raise Conflict(
            "Chỉ hủy được hóa đơn chưa thanh toán.",
            code="invoice.not_cancellable",
            extra={"invoice_status": invoice.status},
        )
    cancel(session, invoice, reason, by=principal.subject)
    await uow.commit()
    return invoice
