"""``/api/v1/documents``: the outgoing and incoming registers of an agency and the documents' workflow."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import select, tuple_

from egov_document.context import DocumentsDep
from egov_document.delivery import service as delivery
from egov_document.documents import rules, service
from egov_document.documents.models import OfficialDocument
from egov_document.documents.schemas import (
    DocumentAction,
    DocumentAmendment,
    DocumentCreate,
    DocumentCreated,
    DocumentRead,
    TraceRead,
)
from egov_shared.agencies import acts_for
from egov_shared.auth.dependencies import CurrentOfficial
from egov_shared.http.app import UoWDep
from egov_shared.http.etag import IfMatchVersion, set_etag
from egov_shared.http.pagination import Page, PageParamsDep, encode_cursor
from egov_shared.http.problems import problem_responses
from egov_shared.problems import NotFound

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])

ACTIONS = Literal[
    "submit", "return", "approve", "sign", "issue", "send", "revoke", "assign", "start", "complete"
]


def read(
    document: OfficialDocument, model: type[DocumentRead] = DocumentRead, **extra: object
) -> DocumentRead:
    return model.model_validate(
        {
            **{
                name: getattr(document, name) for name in DocumentRead.model_fields if hasattr(document, name)
            },
            "allowed_actions": rules.allowed_actions(document.direction, document.status),
            **extra,
        }
    )


@router.post(
    "",
    status_code=201,
    response_model=DocumentCreated,
    summary="Draft an outgoing document, or register an incoming one (it gets its arrival number)",
    responses=problem_responses(401, 403, 404, 422),
)
async def create(
    body: DocumentCreate, official: CurrentOfficial, uow: UoWDep, response: Response
) -> DocumentRead:
    document, warnings = await service.create_document(uow, official, body)
    set_etag(response, document.version)
    response.headers["Location"] = f"/api/v1/documents/{document.id}"
    return read(document, DocumentCreated, warnings=warnings)


@router.get(
    "",
    response_model=Page[DocumentRead],
    summary="An agency's register, newest first",
    responses=problem_responses(401, 403, 404, 422),
)
async def register(
    official: CurrentOfficial,
    uow: UoWDep,
    page: PageParamsDep,
    agency_code: Annotated[str, Query(pattern=r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")],
    direction: Literal["outgoing", "incoming"],
    status: Annotated[str | None, Query(max_length=20)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Page[DocumentRead]:
    if not await acts_for(uow.session, official.agency, agency_code):
        raise NotFound("Không có sổ văn bản của cơ quan này.", code="document.register_not_found")
    query = select(OfficialDocument).where(
        OfficialDocument.agency_code == agency_code, OfficialDocument.direction == direction
    )
    if status:
        query = query.where(OfficialDocument.status == status)
    if year:
        query = query.where(OfficialDocument.year == year)
    if page.after:
        after_at, after_id = dt.datetime.fromisoformat(str(page.after[0])), uuid.UUID(str(page.after[1]))
        query = query.where(tuple_(OfficialDocument.created_at, OfficialDocument.id) < (after_at, after_id))
    rows = list(
        await uow.session.scalars(
            query.order_by(OfficialDocument.created_at.desc(), OfficialDocument.id.desc()).limit(
                page.limit + 1
            )
        )
    )
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last = rows[-1]
        next_cursor = encode_cursor([last.created_at.isoformat(), str(last.id)])
    return Page[DocumentRead](items=[read(d) for d in rows], next_cursor=next_cursor)


@router.get("/{document_id}", response_model=DocumentRead, responses=problem_responses(401, 403, 404))
async def get(
    document_id: uuid.UUID, official: CurrentOfficial, uow: UoWDep, response: Response
) -> DocumentRead:
    document = await service.get_document(uow.session, official, document_id)
    set_etag(response, document.version)
    return read(document)


@router.get(
    "/{document_id}/trace", response_model=list[TraceRead], responses=problem_responses(401, 403, 404)
)
async def get_trace(document_id: uuid.UUID, official: CurrentOfficial, uow: UoWDep) -> list[TraceRead]:
    return [TraceRead.model_validate(t) for t in await service.trace(uow.session, official, document_id)]


@router.post(
    "/{document_id}/amendments",
    response_model=DocumentRead,
    summary="Correct an issued document and send the update or replacement to its recipients",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
async def amend(
    document_id: uuid.UUID,
    body: DocumentAmendment,
    official: CurrentOfficial,
    version: IfMatchVersion,
    uow: UoWDep,
    response: Response,
) -> DocumentRead:
    document = await service.amend(
        uow, official, document_id, body, expected_version=version, send=delivery.amend
    )
    set_etag(response, document.version)
    return read(document)


# Declared last: the specific routes above take precedence over /{document_id}/{action}.
@router.post(
    "/{document_id}/{action}",
    response_model=DocumentRead,
    summary="Move the document through its workflow (submit, return, approve, sign, issue, send; assign, start, complete)",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
async def take_action(
    document_id: uuid.UUID,
    action: ACTIONS,
    official: CurrentOfficial,
    version: IfMatchVersion,
    uow: UoWDep,
    documents: DocumentsDep,
    response: Response,
    body: DocumentAction | None = None,
) -> DocumentRead:
    body = body or DocumentAction()

    async def after(document: OfficialDocument, step: str) -> None:
        await delivery.on_transition(uow, documents, document, step, body.note)

    document = await service.act(
        uow,
        official,
        document_id,
        action,
        expected_version=version,
        note=body.note,
        assignee_id=body.assignee_id,
        after=after,
    )
    set_etag(response, document.version)
    return read(document)
