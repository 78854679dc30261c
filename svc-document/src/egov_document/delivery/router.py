"""``/api/v1/exchange``: the edXML HTTP binding partners post to, and what the sender sees of its dispatches."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from egov_document.context import DocumentsDep
from egov_document.delivery.models import Dispatch
from egov_document.delivery.receive import EXCHANGE_SCOPE, receive
from egov_document.documents.service import get_document
from egov_shared.auth.dependencies import CurrentOfficial, scope
from egov_shared.auth.tokens import Principal
from egov_shared.http.app import UoWDep
from egov_shared.http.problems import problem_responses
from egov_shared.problems import PayloadTooLarge, UnsupportedMediaType

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"])

Partner = Annotated[Principal, Depends(scope(EXCHANGE_SCOPE))]


class DispatchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    recipient_code: str
    recipient_name: str
    channel: str
    state: str
    status_code: str | None
    status_description: str | None
    attempts: int
    last_error: str | None
    updated_at: dt.datetime


@router.post(
    "/edxml",
    status_code=202,
    summary="Receive an edXML document or status message (application/xml, signed; client token with scope "
    "documents.exchange)",
    responses=problem_responses(401, 403, 404, 413, 415, 422),
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/xml": {"schema": {"type": "string"}}}}
    },
)
async def post_edxml(
    request: Request, partner: Partner, uow: UoWDep, documents: DocumentsDep
) -> JSONResponse:
    if "xml" not in request.headers.get("content-type", ""):
        raise UnsupportedMediaType(
            "Gửi thông điệp edXML với Content-Type: application/xml.", code="exchange.xml_required"
        )
    limit = documents.settings.max_upload_bytes * 2
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge("Thông điệp quá lớn.", code="exchange.too_large")
    result: dict[str, Any] = await receive(uow, documents, partner, bytes(body))
    return JSONResponse(result, status_code=202)


@router.get(
    "/dispatches",
    response_model=list[DispatchRead],
    summary="Where a sent document went and what each recipient reported (status 01–06, 13, 15, 16)",
    responses=problem_responses(401, 403, 404, 422),
)
async def dispatches(
    document_id: Annotated[uuid.UUID, Query()], official: CurrentOfficial, uow: UoWDep
) -> list[Dispatch]:
    await get_document(uow.session, official, document_id)
    rows = await uow.session.scalars(select(Dispatch).where(Dispatch.document_id == document_id))
    return list(rows)
