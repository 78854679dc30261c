"""``/api/v1/receipts``: read, download, cancel-and-replace (finance), and the public verification link."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from egov_payment.context import PaymentDep
from egov_payment.invoices.service import visible as visible_invoice
from egov_payment.receipts import service, signing
from egov_payment.receipts.models import Receipt
from egov_payment.receipts.signing import sign_receipt
from egov_shared.auth.dependencies import CurrentPrincipal
from egov_shared.http.app import RuntimeDep, UoWDep
from egov_shared.http.etag import IfMatchVersion, set_etag
from egov_shared.http.problems import problem_responses
from egov_shared.problems import ProblemError

router = APIRouter(prefix="/api/v1/receipts", tags=["receipts"])


class ReceiptLine(BaseModel):
    kind: str
    name: str
    amount_vnd: int


class ReceiptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    receipt_number: str
    form_number: str
    symbol: str
    number: int
    invoice_id: uuid.UUID
    payment_id: uuid.UUID
    agency_code: str
    agency_name: str
    tax_code: str | None
    payer_name: str
    dossier_code: str | None
    lines: list[ReceiptLine]
    amount_vnd: int
    amount_in_words: str
    method: str
    provider: str
    issued_at: dt.datetime
    status: str
    replaces_id: uuid.UUID | None
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    signing_status: str
    signed_file_id: uuid.UUID | None
    signed_at: dt.datetime | None
    version: int


class ReceiptCancel(BaseModel):
    reason: str = Field(min_length=3, max_length=500)
    payer_name: str | None = Field(default=None, min_length=1, max_length=200, description="A corrected name")


class ReceiptCancelled(BaseModel):
    cancelled: ReceiptRead
    replacement: ReceiptRead


class ReceiptVerification(BaseModel):
    receipt_number: str
    agency_code: str
    agency_name: str
    amount_vnd: int
    amount_in_words: str
    issued_at: dt.datetime
    status: str
    replaced_by: str | None
    signed: bool
    signature_valid: bool | None = Field(
        description="svc-document's verdict; null when it could not be asked"
    )
    signature: dict[str, Any]


@router.get(
    "/verify/{receipt_id}",
    response_model=ReceiptVerification,
    summary="Public check of a receipt (the link in its QR code): its facts and whether its signature is valid",
    responses=problem_responses(404, 422),
)
async def verify(
    receipt_id: uuid.UUID,
    code: Annotated[str, Query(min_length=8, max_length=40)],
    runtime: RuntimeDep,
    context: PaymentDep,
) -> ReceiptVerification:
    async with runtime.read_sessionmaker() as session:
        receipt = await service.for_verification(session, receipt_id, code)
        replacement = await service.replacement_of(session, receipt.id)
    report = await signing.check_signature(runtime, context, receipt)
    valid = report.get("valid")
    return ReceiptVerification(
        receipt_number=receipt.receipt_number,
        agency_code=receipt.agency_code,
        agency_name=receipt.agency_name,
        amount_vnd=receipt.amount_vnd,
        amount_in_words=receipt.amount_in_words,
        issued_at=receipt.issued_at,
        status=receipt.status,
        replaced_by=replacement.receipt_number if replacement else None,
        signed=receipt.signed_file_id is not None,
        signature_valid=valid if isinstance(valid, bool) else None,
        signature=report,
    )


@router.get(
    "",
    response_model=list[ReceiptRead],
    summary="The receipts of an invoice (its payer, or officials of its agency)",
    responses=problem_responses(401, 404, 422),
)
async def list_receipts(
    invoice_id: Annotated[uuid.UUID, Query()], principal: CurrentPrincipal, uow: UoWDep
) -> list[Receipt]:
    invoice = await visible_invoice(uow.session, principal, invoice_id)
    rows = await uow.session.scalars(
        select(Receipt).where(Receipt.invoice_id == invoice.id).order_by(Receipt.issued_at)
    )
    return list(rows)


@router.get("/{receipt_id}", response_model=ReceiptRead, responses=problem_responses(401, 404, 422))
async def get_receipt(
    receipt_id: uuid.UUID, principal: CurrentPrincipal, uow: UoWDep, response: Response
) -> Receipt:
    receipt = await service.visible(uow.session, principal, receipt_id)
    set_etag(response, receipt.version)
    return receipt


@router.get(
    "/{receipt_id}/pdf",
    response_class=Response,
    summary="The receipt as PDF: the agency-signed copy from svc-document once signed, else rendered unsigned",
    responses={200: {"content": {"application/pdf": {}}}, **problem_responses(401, 404, 422)},
)
async def receipt_pdf(
    receipt_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep, context: PaymentDep
) -> Response:
    # A read session, closed before the calls below: no transaction is held across HTTP.
    async with runtime.read_sessionmaker() as session:
        receipt = await service.visible(session, principal, receipt_id)
    signed = receipt.signed_file_id is not None
    pdf = None
    if receipt.signed_file_id is not None:
        try:
            pdf = await signing.signed_pdf(runtime, context, receipt.signed_file_id)
        except (ProblemError, signing.SigningFailed):
            signed = False
    if pdf is None:
        pdf = await signing.render_pdf(runtime, context.settings, receipt)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="bien-lai-{receipt.number:07d}.pdf"',
            "X-Receipt-Signed": "true" if signed else "false",
            "Cache-Control": "private, no-store",
        },
    )


@router.post(
    "/{receipt_id}/cancel",
    response_model=ReceiptCancelled,
    summary="Cancel a receipt issued by mistake and issue its replacement (finance); needs If-Match",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
async def cancel_receipt(
    receipt_id: uuid.UUID,
    body: ReceiptCancel,
    principal: CurrentPrincipal,
    uow: UoWDep,
    runtime: RuntimeDep,
    context: PaymentDep,
    version: IfMatchVersion,
    response: Response,
) -> ReceiptCancelled:
    cancelled, replacement = await service.cancel_and_replace(
        uow.session,
        context.settings,
        principal,
        receipt_id,
        version=version,
        reason=body.reason,
        payer_name=body.payer_name,
    )
    await uow.commit()
    if context.settings.receipt_signing:
        context.in_background(
            sign_receipt(runtime, context, replacement.id), f"sign-receipt:{replacement.id}"
        )
    set_etag(response, cancelled.version)
    return ReceiptCancelled(
        cancelled=ReceiptRead.model_validate(cancelled), replacement=ReceiptRead.model_validate(replacement)
    )
