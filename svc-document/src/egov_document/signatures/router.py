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
from egov_shared.auth.dependencies import CurrentPrincipal
from egov_shared.contracts.identity import AGENCY_CODE_PATTERN
from egov_shared.http.app import UoWDep
from egov_shared.http.problems import problem_responses
from egov_shared.problems import UnsupportedMediaType

router = APIRouter(tags=["signatures"])


class SignRequest(BaseModel):
    file_id: uuid.UUID
    agency_code: str = Field(pattern=AGENCY_CODE_PATTERN)
    reason: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(
        default=None, max_length=120, description="What it is for, e.g. receipt:<id>"
    )


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
    )
    return SignResult(
        signed_file_id=signed.id,
        source_file_id=body.file_id,
        sha256=signed.sha256,
        agency_code=body.agency_code,
        signed_at=signed.created_at,
    )


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
