"""``/api/v1/files``: upload, metadata, download, short-lived signed URLs, and the ownership check other
services call."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from egov_document.context import DocumentsDep
from egov_document.files import signed_urls
from egov_document.files.models import StoredFile
from egov_document.files.schemas import FileRead, OwnershipCheck, OwnershipResult, SignedUrl
from egov_document.files.service import keep_upload, ownership, readable_file
from egov_document.files.upload import UPLOAD_REQUEST_BODY, receive_upload
from egov_document.signatures.service import SIGN_SCOPE
from egov_shared.auth.dependencies import CurrentPrincipal
from egov_shared.http.app import UoWDep
from egov_shared.http.problems import problem_responses
from egov_shared.problems import Forbidden, NotFound, PayloadTooLarge

router = APIRouter(prefix="/api/v1/files", tags=["files"])


@router.post(
    "",
    status_code=201,
    response_model=FileRead,
    summary="Upload a file (multipart/form-data, part 'file'); the type is judged from its bytes",
    responses=problem_responses(400, 401, 403, 413, 415, 422, 503),
    openapi_extra=UPLOAD_REQUEST_BODY,
)
async def upload(
    request: Request, principal: CurrentPrincipal, uow: UoWDep, documents: DocumentsDep
) -> StoredFile:
    if principal.kind == "client" and not principal.has_scope(SIGN_SCOPE):
        # Services upload only what they have signed (receipts, results); partners use the exchange.
        raise Forbidden(f"Ứng dụng cần phạm vi '{SIGN_SCOPE}' để tải tệp lên.", code="file.person_required")
    limit = documents.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise PayloadTooLarge(f"Tệp vượt quá giới hạn {limit // (1024 * 1024)} MB.", code="file.too_large")
    received = await receive_upload(
        request.headers.get("content-type", ""),
        request.stream(),
        max_bytes=limit,
        directory=documents.upload_dir,
    )
    return await keep_upload(uow, documents.storage, documents.scanner, received, principal)


@router.post(
    "/check",
    response_model=OwnershipResult,
    summary="Which of these files exist and belong to the caller (svc-dossier checks components with it)",
    responses=problem_responses(401, 422),
)
async def check(body: OwnershipCheck, principal: CurrentPrincipal, uow: UoWDep) -> OwnershipResult:
    owned = await ownership(uow.session, body.file_ids, principal)
    found = {f.id for f in owned}
    return OwnershipResult(
        owned=[FileRead.model_validate(f) for f in owned],
        missing=[i for i in body.file_ids if i not in found],
    )


@router.get("/{file_id}", response_model=FileRead, responses=problem_responses(401, 404))
async def metadata(file_id: uuid.UUID, principal: CurrentPrincipal, uow: UoWDep) -> StoredFile:
    return await readable_file(uow.session, file_id, principal)


async def _stream(stored: StoredFile, documents: DocumentsDep) -> StreamingResponse:
    filename = quote(stored.filename)
    return StreamingResponse(
        documents.storage.read(stored.sha256),
        media_type=stored.content_type,
        headers={
            "Content-Length": str(stored.size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{filename}",
            "ETag": f'"{stored.sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.get(
    "/{file_id}/content",
    summary="Download the file",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, **problem_responses(401, 404)},
)
async def download(
    file_id: uuid.UUID, principal: CurrentPrincipal, uow: UoWDep, documents: DocumentsDep
) -> StreamingResponse:
    stored = await readable_file(uow.session, file_id, principal)
    return await _stream(stored, documents)


@router.post(
    "/{file_id}/signed-url",
    response_model=SignedUrl,
    summary="A short-lived URL that lets whoever holds it download the file",
    responses=problem_responses(401, 404),
)
async def signed_url(
    file_id: uuid.UUID, principal: CurrentPrincipal, uow: UoWDep, documents: DocumentsDep
) -> SignedUrl:
    await readable_file(uow.session, file_id, principal)
    settings = documents.settings
    path, expires = signed_urls.signed_path(
        settings.url_signing_secret.get_secret_value(), file_id, ttl_seconds=settings.signed_url_seconds
    )
    return SignedUrl(url=path, expires_at=dt.datetime.fromtimestamp(expires, dt.UTC))


@router.get(
    "/signed/{file_id}",
    summary="Download through a signed URL (no token)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, **problem_responses(404, 422)},
)
async def download_signed(
    file_id: uuid.UUID,
    expires: Annotated[int, Query(ge=0)],
    signature: Annotated[str, Query(min_length=64, max_length=64)],
    uow: UoWDep,
    documents: DocumentsDep,
) -> Response:
    secret = documents.settings.url_signing_secret.get_secret_value()
    stored = await uow.session.get(StoredFile, file_id)
    if stored is None or not signed_urls.check(secret, file_id, expires, signature):
        raise NotFound("Liên kết không hợp lệ hoặc đã hết hạn.", code="file.link_invalid")
    return await _stream(stored, documents)
