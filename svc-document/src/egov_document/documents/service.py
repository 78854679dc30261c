"""Use cases of the registers: create, register on arrival, number on issue, move through the workflow."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_document.documents import rules
from egov_document.documents.models import DocumentTrace, OfficialDocument
from egov_document.documents.schemas import DocumentAmendment, DocumentCreate
from egov_document.documents.types import DOCUMENT_TYPES
from egov_document.exchange.model import BusinessDocType
from egov_shared.agencies import acts_for, agency_name
from egov_shared.auth.tokens import Principal
from egov_shared.contracts.document import DocumentIssued, DocumentReceived
from egov_shared.contracts.dossier import DossierCompleted
from egov_shared.counters import next_in_series
from egov_shared.db import utcnow
from egov_shared.http.etag import check_version
from egov_shared.problems import Conflict, Forbidden, NotFound, Unprocessable
from egov_shared.uow import UnitOfWork

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def today_in_vietnam() -> dt.date:
    return utcnow().astimezone(VIETNAM).date()


def outgoing_series(agency_code: str, year: int, secret: bool) -> str:
    # Numbers run per issuing agency per calendar year; secret documents have their own series.
    return f"{'outgoing-secret' if secret else 'outgoing'}:{agency_code}:{year}"


def arrival_series(agency_code: str, year: int) -> str:
    return f"incoming:{agency_code}:{year}"


async def _require_agency(session: AsyncSession, principal: Principal, agency_code: str) -> None:
    if principal.kind != "official" or not await acts_for(session, principal.agency, agency_code):
        raise NotFound("Không có sổ văn bản của cơ quan này.", code="document.register_not_found")


def record_trace(
    session: AsyncSession,
    document: OfficialDocument,
    action: str,
    source: str | None,
    *,
    actor_id: str,
    actor_name: str | None,
    note: str | None = None,
) -> None:
    """One step of a document's trace: who did what, from which status to the one it is in now."""
    session.add(
        DocumentTrace(
            document_id=document.id,
            action=action,
            from_status=source,
            to_status=document.status,
            actor_id=actor_id,
            actor_name=actor_name,
            note=note,
        )
    )


def _trace(
    session: AsyncSession,
    document: OfficialDocument,
    action: str,
    source: str | None,
    principal: Principal,
    note: str | None,
) -> None:
    record_trace(
        session, document, action, source, actor_id=principal.subject, actor_name=principal.name, note=note
    )


async def duplicates(session: AsyncSession, document: OfficialDocument) -> list[uuid.UUID]:
    """Other documents in the same register with the same number, symbol and issuer (Decree 30 warning)."""
    if document.number is None or document.symbol is None:
        return []
    rows = await session.scalars(
        select(OfficialDocument.id).where(
            OfficialDocument.agency_code == document.agency_code,
            OfficialDocument.direction == document.direction,
            OfficialDocument.issuer_code == document.issuer_code,
            OfficialDocument.number == document.number,
            OfficialDocument.symbol == document.symbol,
            OfficialDocument.id != document.id,
        )
    )
    return list(rows)


async def create_document(
    uow: UnitOfWork, principal: Principal, body: DocumentCreate
) -> tuple[OfficialDocument, list[str]]:
    await _require_agency(uow.session, principal, body.agency_code)
    if not principal.roles.intersection({"document_clerk", "processor"}):
        raise Forbidden("Cần vai trò văn thư hoặc chuyên viên.", code="auth.role_required")
    type_name, _ = DOCUMENT_TYPES[body.doc_type]
    own_name = await agency_name(uow.session, body.agency_code) or body.agency_code
    common = {
        "agency_code": body.agency_code,
        "direction": body.direction,
        "doc_type": body.doc_type,
        "type_name": type_name,
        "symbol": body.symbol,
        "excerpt": body.excerpt,
        "urgency": body.urgency,
        "secrecy": body.secrecy,
        "recipients": [r.model_dump() for r in body.recipients],
        "due_date": body.due_date,
        "page_count": body.page_count,
        "signer_name": body.signer_name,
        "signer_position": body.signer_position,
        "file_ids": [str(f) for f in body.file_ids],
        "created_by": principal.subject,
        "status": rules.INITIAL[body.direction],
    }
    if body.direction == "outgoing":
        document = OfficialDocument(
            **common, year=today_in_vietnam().year, issuer_code=body.agency_code, issuer_name=own_name
        )
    else:
        if body.number is None or body.issuer_name is None or body.issued_date is None:
            raise Unprocessable(
                "Văn bản đến cần số, cơ quan ban hành và ngày ban hành.",
                code="document.incoming_fields_required",
                errors=[
                    {"field": f, "message": "required"}
                    for f in ("number", "issuer_name", "issued_date")
                    if getattr(body, f) is None
                ],
            )
        document = await register_arrival(
            uow,
            OfficialDocument(
                **common,
                number=body.number,
                issuer_code=body.issuer_code or "",
                issuer_name=body.issuer_name,
                issued_date=body.issued_date,
            ),
        )
    uow.session.add(document)
    await uow.session.flush()
    _trace(
        uow.session, document, "create" if body.direction == "outgoing" else "receive", None, principal, None
    )
    warnings = []
    if await duplicates(uow.session, document):
        warnings.append("duplicate")
    await uow.commit()
    return document, warnings


async def register_arrival(uow: UnitOfWork, document: OfficialDocument) -> OfficialDocument:
    """Give an incoming document its arrival number (continuous within the year) and announce it."""
    now = utcnow()
    year = now.astimezone(VIETNAM).year
    document.year = year
    document.arrival_number = await next_in_series(uow.session, arrival_series(document.agency_code, year))
    document.arrival_date = now
    document.status = rules.INITIAL["incoming"]
    uow.session.add(document)
    await uow.session.flush()
    uow.publish(
        DocumentReceived(
            document_id=document.id,
            agency_code=document.agency_code,
            arrival_number=document.arrival_number,
            sender_organ_id=document.issuer_code,
            received_at=now,
        ),
        subject=str(document.id),
    )
    return document


def announce_issue(uow: UnitOfWork, document: OfficialDocument) -> None:
    assert document.number_and_symbol is not None
    uow.publish(
        DocumentIssued(
            document_id=document.id,
            agency_code=document.agency_code,
            number_and_symbol=document.number_and_symbol,
            issued_at=utcnow(),
        ),
        subject=str(document.id),
    )


async def get_document(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID
) -> OfficialDocument:
    document = await session.get(OfficialDocument, document_id)
    if (
        document is None
        or principal.kind != "official"
        or not await acts_for(session, principal.agency, document.agency_code)
    ):
        raise NotFound("Không có văn bản này.", code="document.not_found")
    return document


async def act(
    uow: UnitOfWork,
    principal: Principal,
    document_id: uuid.UUID,
    action: str,
    *,
    expected_version: int,
    note: str | None = None,
    assignee_id: str | None = None,
    after: Callable[[OfficialDocument, str], Awaitable[None]] | None = None,
) -> OfficialDocument:
    """Take one workflow step; ``after`` runs inside the same transaction (sending, status reports)."""
    document = await get_document(uow.session, principal, document_id)
    check_version(expected_version, document.version)
    step = rules.transition(document.direction, document.status, action)
    if not principal.roles.intersection(step.roles):
        raise Forbidden("Cần vai trò: " + ", ".join(sorted(step.roles)) + ".", code="auth.role_required")
    source = document.status
    document.status = step.target
    if action == "assign":
        if not assignee_id:
            raise Unprocessable("Cần người được giao xử lý.", code="document.assignee_required")
        document.assignee_id = assignee_id
    if action == "issue":
        today = today_in_vietnam()
        document.year = today.year
        document.number = await next_in_series(
            uow.session, outgoing_series(document.agency_code, today.year, document.secrecy is not None)
        )
        document.issued_date = today
    await uow.session.flush()
    _trace(uow.session, document, action, source, principal, note)
    if action == "issue":
        announce_issue(uow, document)
    if after is not None:
        await after(document, action)
    await uow.commit()
    return document


async def trace(session: AsyncSession, principal: Principal, document_id: uuid.UUID) -> list[DocumentTrace]:
    await get_document(session, principal, document_id)
    rows = await session.scalars(
        select(DocumentTrace).where(DocumentTrace.document_id == document_id).order_by(DocumentTrace.id)
    )
    return list(rows)


async def file_dossier_result(uow: UnitOfWork, data: DossierCompleted) -> OfficialDocument | None:
    """A completed dossier's signed result goes into the deciding agency's outgoing register, numbered."""
    if not data.result_file_ids:
        return None
    doc_type = data.result_document_type if data.result_document_type in DOCUMENT_TYPES else "QD"
    type_name, abbreviation = DOCUMENT_TYPES[doc_type]
    today = today_in_vietnam()
    issuer_name = await agency_name(uow.session, data.agency_code) or data.agency_code
    document = OfficialDocument(
        agency_code=data.agency_code,
        direction="outgoing",
        status="issued",
        year=today.year,
        doc_type=doc_type,
        type_name=type_name,
        symbol=data.result_symbol or f"{abbreviation or doc_type}-KQ",
        issuer_code=data.agency_code,
        issuer_name=issuer_name,
        issued_date=today,
        excerpt=(data.result_excerpt or f"Kết quả giải quyết hồ sơ {data.code}")[:500],
        file_ids=[str(f) for f in data.result_file_ids],
        created_by=f"dossier:{data.dossier_id}",
        external_id=f"dossier:{data.dossier_id}",
    )
    document.number = await next_in_series(uow.session, outgoing_series(data.agency_code, today.year, False))
    uow.session.add(document)
    await uow.session.flush()
    record_trace(
        uow.session,
        document,
        "file_result",
        None,
        actor_id=f"dossier:{data.dossier_id}",
        actor_name="svc-dossier",
        note=f"Hồ sơ {data.code}",
    )
    announce_issue(uow, document)
    return document


AMENDABLE = ("issued", "sent")


async def amend(
    uow: UnitOfWork,
    principal: Principal,
    document_id: uuid.UUID,
    body: DocumentAmendment,
    *,
    expected_version: int,
    send: Callable[[UnitOfWork, OfficialDocument, BusinessDocType, str], Awaitable[None]],
) -> OfficialDocument:
    """Change an issued document's excerpt, due date or attachments, traced, and send the correction on."""
    document = await get_document(uow.session, principal, document_id)
    check_version(expected_version, document.version)
    if document.direction != "outgoing" or document.status not in AMENDABLE:
        raise Conflict(
            "Chỉ sửa đổi, thay thế được văn bản đi đã ban hành.",
            code="document.not_amendable",
            extra={"document_status": document.status},
        )
    if not principal.roles.intersection({"approver", "document_clerk"}):
        raise Forbidden("Cần vai trò lãnh đạo hoặc văn thư.", code="auth.role_required")
    if body.excerpt is not None:
        document.excerpt = body.excerpt
    if body.due_date is not None:
        document.due_date = body.due_date
    if body.file_ids is not None:
        document.file_ids = [str(f) for f in body.file_ids]
    await uow.session.flush()
    _trace(uow.session, document, body.kind, document.status, principal, body.reason)
    kind = BusinessDocType.UPDATE if body.kind == "update" else BusinessDocType.REPLACE
    await send(uow, document, kind, body.reason)
    await uow.commit()
    return document
