"""``/api/v1/invoices``: payers see their own; officials their agencies'; finance bills other obligations and
refunds what was paid (refunds live under the invoice: its row is the lock, its ``refundable_vnd`` the guard)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from egov_payment.context import PaymentDep
from egov_payment.invoices import repository, service
from egov_payment.invoices.models import Invoice, InvoiceStatus
from egov_payment.invoices.schemas import InvoiceCancel, InvoiceCreate, InvoiceRead
from egov_payment.payments import refunds
from egov_payment.payments.schemas import RefundCreate, RefundCreated, RefundRead
from egov_shared.auth.dependencies import CurrentPrincipal
from egov_shared.http.app import UoWDep
from egov_shared.http.etag import IfMatchVersion, set_etag
from egov_shared.http.idempotency import Idempotency
from egov_shared.http.pagination import Page, PageParamsDep, encode_cursor
from egov_shared.http.problems import problem_responses
from egov_shared.problems import Unprocessable

router = APIRouter(prefix="/api/v1/invoices", tags=["invoices"])


@router.post(
    "",
    status_code=201,
    response_model=InvoiceRead,
    summary="Bill an obligation (finance officer of the agency or one above it)",
    responses=problem_responses(401, 403, 409, 422),
)
async def create_invoice(
    body: InvoiceCreate, principal: CurrentPrincipal, uow: UoWDep, payment: PaymentDep, idem: Idempotency
) -> Response:
    async def action() -> Invoice:
        return await service.create_by_finance(uow, payment.settings, principal, body)

    return await idem.run(
        uow, body, action, response_model=InvoiceRead, headers=lambda i: {"ETag": f'"{i.version}"'}
    )


@router.get(
    "",
    response_model=Page[InvoiceRead],
    summary="List invoices: ?mine (the caller's), ?dossier_id= (payer or officials), or an agency's (officials)",
    responses=problem_responses(401, 403, 422),
)
async def list_invoices(
    principal: CurrentPrincipal,
    uow: UoWDep,
    page: PageParamsDep,
    mine: Annotated[bool, Query()] = False,
    dossier_id: Annotated[uuid.UUID | None, Query()] = None,
    agency_code: Annotated[str | None, Query(max_length=13)] = None,
    status: Annotated[InvoiceStatus | None, Query()] = None,
) -> Page[InvoiceRead]:
    session = uow.session
    after = _after(page.after)
    if mine or principal.kind == "citizen":
        query = repository.listing(
            payer_id=principal.subject,
            dossier_id=dossier_id,
            status=status.value if status else None,
            after=after,
        )
    else:
        agencies = await service.visible_agencies(session, principal, agency_code)
        query = repository.listing(
            dossier_id=dossier_id, agencies=agencies, status=status.value if status else None, after=after
        )
    rows = list(await session.scalars(query.limit(page.limit + 1)))
    items = rows[: page.limit]
    next_cursor = None
    if len(rows) > page.limit:
        last = items[-1]
        next_cursor = encode_cursor([last.created_at.isoformat(), str(last.id)])
    return Page[InvoiceRead](items=[InvoiceRead.model_validate(i) for i in items], next_cursor=next_cursor)


def _after(cursor: list[object] | None) -> tuple[dt.datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        created, last_id = cursor
        return dt.datetime.fromisoformat(str(created)), uuid.UUID(str(last_id))
    except ValueError as exc:
        raise Unprocessable("Con trỏ phân trang không hợp lệ.", code="request.invalid_cursor") from exc


@router.get("/{invoice_id}", response_model=InvoiceRead, responses=problem_responses(401, 404, 422))
async def get_invoice(
    invoice_id: uuid.UUID, principal: CurrentPrincipal, uow: UoWDep, response: Response
) -> Invoice:
    invoice = await service.visible(uow.session, principal, invoice_id)
    set_etag(response, invoice.version)
    return invoice


@router.post(
    "/{invoice_id}/cancel",
    response_model=InvoiceRead,
    summary="Cancel an unpaid invoice (finance); needs If-Match",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
async def cancel_invoice(
    invoice_id: uuid.UUID,
    body: InvoiceCancel,
    principal: CurrentPrincipal,
    uow: UoWDep,
    version: IfMatchVersion,
    response: Response,
) -> Invoice:
    invoice = await service.cancel_by_finance(uow, principal, invoice_id, version=version, reason=body.reason)
    set_etag(response, invoice.version)
    return invoice


@router.post(
    "/{invoice_id}/refunds",
    status_code=201,
    response_model=RefundCreated,
    summary="Refund part or all of what was paid (finance); guard refundable_vnd (stale: 412); Idempotency-Key",
    responses=problem_responses(401, 403, 404, 409, 412, 422),
)
async def create_refund(
    invoice_id: uuid.UUID, body: RefundCreate, principal: CurrentPrincipal, uow: UoWDep, idem: Idempotency
) -> Response:
    async def action() -> RefundCreated:
        refund, invoice = await refunds.request_by_finance(
            uow,
            principal,
            invoice_id,
            amount_vnd=body.amount_vnd,
            refundable_vnd=body.refundable_vnd,
            note=body.reason,
        )
        return RefundCreated(
            **RefundRead.model_validate(refund).model_dump(), invoice=InvoiceRead.model_validate(invoice)
        )

    return await idem.run(uow, body, action, response_model=RefundCreated)


@router.get(
    "/{invoice_id}/refunds",
    response_model=list[RefundRead],
    summary="The invoice's refunds, oldest first (the payer, officials of the agency or above)",
    responses=problem_responses(401, 404, 422),
)
async def list_refunds(invoice_id: uuid.UUID, principal: CurrentPrincipal, uow: UoWDep) -> list[RefundRead]:
    invoice = await service.visible(uow.session, principal, invoice_id)
    return [RefundRead.model_validate(r) for r in await refunds.of_invoice(uow.session, invoice.id)]
