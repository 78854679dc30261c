"""``/api/v1/signatures`` (signing for officials and services) and ``/api/v1/documents/verify`` (public)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from egov_document.context import DocumentsDep
from egov_document.files.upload import UPLOAD_REQUEST_BODY, receive_upload
from egov_document.signatures import service
from egov_document.signatures.pki_store import trust_roots
from egov_document.signing.validation import validate_pdf
from egov_shared.agencies import acts_for
from egov_shared.auth.dependencies import CurrentPrincipal
from egov_shared.contracts.identity import AGENCY_CODE_PATTERN
from egov_shared.http.app import UoWDep
from egov_shared.http.problems import problem_responses
from egov_shared.problems import Forbidden, NotFound, UnsupportedMediaType

router = APIRouter(tags=["signatures"])


class SignRequest(BaseModel):
    file_id: uuid.UUID
    agency_code: str = Field(pattern=AGENCY_CODE_PATTERN)
    reason: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(
        default=None, max_length=120, description="What it is for, e.g. receipt:<id>"
    )
    with_official_signature: bool = Field(
        default=False,
        description="The signing official signs first (their signature image), then the agency's seal",
    )
    box: tuple[float, float, float, float] | None = Field(
        default=None, description="Where the official's signature goes (points: x1, y1, x2, y2)"
    )
    page: int = Field(default=-1, ge=-50, le=5000, description="Page index; negative counts from the end")


class SignResult(BaseModel):
    signed_file_id: uuid.UUID
    source_file_id: uuid.UUID
    sha256: str
    agency_code: str
    signed_at: dt.datetime


@router.post(
    "/api/v1/signatures",
    status_code=201,
    response_model=SignResult,
    summary="Sign a stored PDF as an agency (PAdES); the signed copy is a new file",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def sign(
    body: SignRequest, principal: CurrentPrincipal, uow: UoWDep, documents: DocumentsDep
) -> SignResult:
    signed = await service.sign_as_agency(
        uow,
        documents,
        documents.vault,
        principal,
        file_id=body.file_id,
        agency_code=body.agency_code,
        reason=body.reason,
        reference=body.reference,
        with_official_signature=body.with_official_signature,
        box=body.box,
        page=body.page,
    )
    return SignResult(
        signed_file_id=signed.id,
        source_file_id=body.file_id,
        sha256=signed.sha256,
        agency_code=body.agency_code,
        signed_at=signed.created_at,
    )


@router.delete(
    "/api/v1/signatures/{signed_file_id}",
    status_code=204,
    summary="Withdraw a signed copy nobody has received (its signer, within an hour of signing)",
    responses=problem_responses(401, 404, 409),
)
async def withdraw(signed_file_id: uuid.UUID, principal: CurrentPrincipal, uow: UoWDep) -> None:
    await service.withdraw_signed_copy(uow, principal, signed_file_id)


@router.post(
    "/api/v1/documents/verify",
    summary="Verify the signatures of any PDF (public): signer, time, integrity, chain",
    responses=problem_responses(400, 413, 415, 422),
    openapi_extra=UPLOAD_REQUEST_BODY,
)
async def verify(request: Request, uow: UoWDep, documents: DocumentsDep) -> dict[str, Any]:
    received = await receive_upload(
        request.headers.get("content-type", ""),
        request.stream(),
        max_bytes=documents.settings.max_upload_bytes,
        directory=documents.upload_dir,
    )
    try:
        if received.content_type != "application/pdf":
            raise UnsupportedMediaType(
                "Chỉ kiểm tra được chữ ký trên tệp PDF.", code="signature.pdf_required"
            )
        pdf = await asyncio.to_thread(received.path.read_bytes)
    finally:
        await asyncio.to_thread(received.path.unlink, missing_ok=True)
    roots = await trust_roots(uow.session)
    report = await asyncio.to_thread(validate_pdf, pdf, roots)
    return report.as_dict()


async def _png(request: Request, documents: DocumentsDep) -> bytes:
    received = await receive_upload(
        request.headers.get("content-type", ""),
        request.stream(),
        max_bytes=2 * 1024 * 1024,
        directory=documents.upload_dir,
    )
    try:
        if received.content_type != "image/png":
            raise UnsupportedMediaType(
                "Ảnh chữ ký và con dấu phải là PNG nền trong suốt.", code="signature.png_required"
            )
        return await asyncio.to_thread(received.path.read_bytes)
    finally:
        await asyncio.to_thread(received.path.unlink, missing_ok=True)


@router.put(
    "/api/v1/signatures/images/me",
    status_code=204,
    summary="Set the signing official's handwritten signature image (transparent PNG, shown in blue)",
    responses=problem_responses(401, 403, 413, 415, 422),
    openapi_extra=UPLOAD_REQUEST_BODY,
)
async def set_my_signature(
    request: Request, principal: CurrentPrincipal, uow: UoWDep, documents: DocumentsDep
) -> None:
    if principal.kind != "official" or "signer" not in principal.roles:
        raise Forbidden("Chỉ cán bộ có vai trò ký số mới có ảnh chữ ký.", code="signature.not_allowed")
    await service.keep_image(uow.session, "official", principal.subject, await _png(request, documents))
    await uow.commit()


@router.put(
    "/api/v1/signatures/images/agencies/{agency_code}",
    status_code=204,
    summary="Set an agency's seal image (transparent PNG, red, actual size)",
    responses=problem_responses(401, 403, 404, 413, 415, 422),
    openapi_extra=UPLOAD_REQUEST_BODY,
)
async def set_agency_seal(
    agency_code: str, request: Request, principal: CurrentPrincipal, uow: UoWDep, documents: DocumentsDep
) -> None:
    if principal.kind != "official" or not principal.roles.intersection({"signer", "admin"}):
        raise Forbidden("Cần vai trò ký số hoặc quản trị.", code="signature.not_allowed")
    if not await acts_for(uow.session, principal.agency, agency_code):
        raise NotFound("Không có cơ quan này.", code="agency.not_found")
    await service.keep_image(uow.session, "agency", agency_code, await _png(request, documents))
    await uow.commit()
