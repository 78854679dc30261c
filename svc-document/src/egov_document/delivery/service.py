"""Sending issued documents and reporting processing status, inside the deployment or as edXML.

A recipient inside the deployment's agency tree gets the document straight into its incoming register (status
03 at once). A recipient that is a configured partner gets a signed edXML message over our HTTP binding, sent
by a periodic job with retries; its status messages come back to ``POST /api/v1/exchange/edxml``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from typing import TypeVar

import httpx
from sqlalchemy import select

from egov_document.context import Documents
from egov_document.delivery.models import Dispatch, OutboundStatus
from egov_document.documents.models import OfficialDocument
from egov_document.documents.service import VIETNAM, record_trace, register_arrival
from egov_document.exchange import (
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentType,
    EdxmlMessage,
    Organization,
    OtherInfo,
    Priority,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StatusCode,
    StatusMessage,
    TraceHeader,
    format_document_id,
    post_edxml,
    sign,
    to_xml,
    vn_now,
)
from egov_document.exchange.status import label
from egov_document.files.models import StoredFile
from egov_document.files.service import grant
from egov_document.signatures.pki_store import agency_identity
from egov_document.signatures.service import read_bytes
from egov_shared.agencies import agency_exists, agency_name
from egov_shared.db import utcnow
from egov_shared.problems import Unprocessable
from egov_shared.runtime import ServiceRuntime
from egov_shared.uow import UnitOfWork

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# Incoming workflow steps and the status the sender is told.
STATUS_OF_ACTION = {
    "assign": StatusCode.ASSIGNED,
    "start": StatusCode.PROCESSING,
    "complete": StatusCode.DONE,
}


def edxml_id(document: OfficialDocument) -> str:
    assert document.number is not None
    assert document.symbol is not None
    assert document.issued_date is not None
    return format_document_id(
        document.issuer_code, document.issued_date, f"{document.number:02d}", document.symbol
    )


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 3600))


async def on_transition(
    uow: UnitOfWork, documents: Documents, document: OfficialDocument, action: str, reason: str | None = None
) -> None:
    """Called inside the unit of work of a workflow step, before it commits."""
    if action == "send":
        await dispatch(uow, documents, document)
    elif action == "revoke":
        await revoke(uow, document, reason)
    elif document.direction == "incoming" and action in STATUS_OF_ACTION:
        await report_status(uow, documents, document, STATUS_OF_ACTION[action], None)


async def dispatch(uow: UnitOfWork, documents: Documents, document: OfficialDocument) -> list[Dispatch]:
    session = uow.session
    dispatches: list[Dispatch] = []
    for recipient in document.recipients:
        code, name = recipient.get("code"), str(recipient.get("name", ""))
        row = Dispatch(
            document_id=document.id,
            recipient_code=code or "",
            recipient_name=name,
            channel="edxml",
            edxml_document_id=edxml_id(document),
        )
        if code and code in documents.settings.partners:
            row.state = "pending"
        elif code and await agency_exists(session, code):
            incoming = await _deliver_inside(uow, document, code)
            row.channel, row.state, row.status_code = "internal", "delivered", StatusCode.RECEIVED.value
            row.status_description, row.recipient_document_id = label(StatusCode.RECEIVED), incoming.id
        else:
            row.state, row.last_error = (
                "failed",
                "Nơi nhận không có trong hệ thống và không phải đối tác đã cấu hình.",
            )
        session.add(row)
        dispatches.append(row)
    return dispatches


async def revoke(uow: UnitOfWork, document: OfficialDocument, reason: str | None) -> None:
    """Tell every recipient the document is revoked: inside, their copy is; outside, an edXML revocation."""
    if not reason or not reason.strip():
        raise Unprocessable(
            "Thu hồi văn bản cần nêu lý do.",
            code="document.reason_required",
            errors=[{"field": "note", "message": "required"}],
        )
    rows = await uow.session.scalars(select(Dispatch).where(Dispatch.document_id == document.id))
    for row in rows:
        if row.channel == "internal" and row.recipient_document_id is not None:
            copy = await uow.session.get(OfficialDocument, row.recipient_document_id)
            if copy is not None and copy.status != "revoked":
                source, copy.status = copy.status, "revoked"
                record_trace(
                    uow.session,
                    copy,
                    "revoke",
                    source,
                    actor_id=f"exchange:{document.agency_code}",
                    actor_name=document.issuer_name,
                    note=reason,
                )
            row.status_code, row.status_description = StatusCode.REVOKED.value, label(StatusCode.REVOKED)
        elif row.channel == "edxml" and row.state != "failed":
            row.business, row.business_reason = int(BusinessDocType.REVOKE), reason
            row.state, row.attempts, row.next_attempt_at, row.last_error = "pending", 0, utcnow(), None


async def amend(uow: UnitOfWork, document: OfficialDocument, kind: BusinessDocType, reason: str) -> None:
    """Send the corrected document to every recipient: inside, their copy takes the new content; outside,
    an edXML update or replacement."""
    rows = await uow.session.scalars(select(Dispatch).where(Dispatch.document_id == document.id))
    for row in rows:
        if row.channel == "internal" and row.recipient_document_id is not None:
            copy = await uow.session.get(OfficialDocument, row.recipient_document_id)
            if copy is not None and copy.status != "revoked":
                copy.excerpt, copy.due_date, copy.file_ids = (
                    document.excerpt,
                    document.due_date,
                    list(document.file_ids),
                )
                files = [uuid.UUID(f) for f in document.file_ids]
                await grant(uow.session, files, copy.agency_code, f"document:{copy.id}")
                record_trace(
                    uow.session,
                    copy,
                    kind.name.lower(),
                    copy.status,
                    actor_id=f"exchange:{document.agency_code}",
                    actor_name=document.issuer_name,
                    note=reason,
                )
            row.status_code, row.status_description = (
                StatusCode.UPDATE_ACCEPTED.value,
                label(StatusCode.UPDATE_ACCEPTED),
            )
        elif row.channel == "edxml" and row.state != "failed":
            row.business, row.business_reason = int(kind), reason
            row.state, row.attempts, row.next_attempt_at, row.last_error = "pending", 0, utcnow(), None


async def _deliver_inside(
    uow: UnitOfWork, document: OfficialDocument, recipient_code: str
) -> OfficialDocument:
    incoming = OfficialDocument(
        agency_code=recipient_code,
        direction="incoming",
        doc_type=document.doc_type,
        type_name=document.type_name,
        number=document.number,
        symbol=document.symbol,
        issuer_code=document.issuer_code,
        issuer_name=document.issuer_name,
        issued_date=document.issued_date,
        excerpt=document.excerpt,
        signer_name=document.signer_name,
        signer_position=document.signer_position,
        urgency=document.urgency,
        secrecy=document.secrecy,
        recipients=document.recipients,
        due_date=document.due_date,
        page_count=document.page_count,
        file_ids=list(document.file_ids),
        external_id=edxml_id(document),
        created_by=f"exchange:{document.agency_code}",
        year=document.year,
        status="received",
    )
    await register_arrival(uow, incoming)
    await grant(
        uow.session, [uuid.UUID(f) for f in document.file_ids], recipient_code, f"document:{incoming.id}"
    )
    return incoming


async def report_status(
    uow: UnitOfWork,
    documents: Documents,
    document: OfficialDocument,
    code: StatusCode,
    description: str | None,
) -> None:
    """Tell the sender how its document is being handled: directly inside, by a status message outside."""
    session = uow.session
    inside = await session.scalar(select(Dispatch).where(Dispatch.recipient_document_id == document.id))
    if inside is not None:
        inside.status_code, inside.status_description = code.value, description or label(code)
        return
    if document.external_id and document.issuer_code in documents.settings.partners:
        await queue_status(
            uow,
            documents,
            document.agency_code,
            document.issuer_code,
            document.external_id,
            code,
            description,
        )


async def queue_status(
    uow: UnitOfWork,
    documents: Documents,
    reporter_code: str,
    partner_code: str,
    document_id: str,
    code: StatusCode,
    description: str | None,
) -> None:
    name = await agency_name(uow.session, reporter_code) or reporter_code
    message = StatusMessage(
        response_for=ResponseFor.from_document_id(document_id),
        sender=Organization(organ_id=reporter_code, organ_name=name),
        status_code=code,
        description=description or label(code),
        timestamp=vn_now(),
    )
    identity = await agency_identity(uow.session, documents.vault, reporter_code, name)
    body = await asyncio.to_thread(
        sign, to_xml(message), identity.private_key, identity.certificate, chain=identity.chain
    )
    uow.session.add(
        OutboundStatus(
            partner_code=partner_code, edxml_document_id=document_id, status_code=code.value, body=body
        )
    )


async def _message_for(documents: Documents, runtime: ServiceRuntime, dispatch_id: object) -> bytes:
    async with runtime.read_sessionmaker() as session:
        row = await session.get(Dispatch, dispatch_id)
        assert row is not None
        sender = await session.get(OfficialDocument, row.document_id)
        assert sender is not None
    # The agency's credential may be issued on first use: that is a write, in its own short transaction.
    async with runtime.sessionmaker() as session, session.begin():
        identity = await agency_identity(session, documents.vault, sender.issuer_code, sender.issuer_name)
    async with runtime.read_sessionmaker() as session:
        row = await session.get(Dispatch, dispatch_id)
        assert row is not None
        document = await session.get(OfficialDocument, row.document_id)
        assert document is not None
        assert document.issued_date is not None
        assert document.number is not None
        files = [await session.get(StoredFile, uuid.UUID(f)) for f in document.file_ids]
        attachments: list[Attachment] = []
        for stored in files:
            if stored is not None:
                content = await read_bytes(documents, stored)
                attachments.append(
                    Attachment(name=stored.filename, content_type=stored.content_type, content=content)
                )
        sender_name = document.issuer_name
        message = EdxmlMessage(
            sender=Organization(organ_id=document.issuer_code, organ_name=sender_name),
            recipients=(
                Organization(
                    organ_id=row.recipient_code, organ_name=row.recipient_name or row.recipient_code
                ),
            ),
            code=Code(code_number=f"{document.number:02d}", code_notation=document.symbol or ""),
            promulgation=PromulgationInfo(place=sender_name[:200], promulgation_date=document.issued_date),
            document_type=DocumentType(type=1, type_name=document.type_name),
            subject=document.excerpt,
            signer=SignerInfo(
                position=document.signer_position or "Thủ trưởng",
                full_name=document.signer_name or sender_name,
            ),
            due_date=document.due_date,
            other_info=OtherInfo(
                priority=Priority(min(document.urgency, 4)), page_amount=document.page_count
            ),
            trace=(TraceHeader(organ_id=document.issuer_code, timestamp=vn_now()),),
            attachments=tuple(attachments),
        )
    if row.business:
        message = message.model_copy(
            update={"business": Business(doc_type=BusinessDocType(row.business), reason=row.business_reason)}
        )
    return await asyncio.to_thread(
        sign, to_xml(message), identity.private_key, identity.certificate, chain=identity.chain
    )


async def deliver_pending(
    runtime: ServiceRuntime,
    documents: Documents,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    limit: int = 20,
) -> int:
    """Send due edXML dispatches and status messages to partners; returns how many went through."""
    sent = 0
    for dispatch_id in await _claim(runtime, Dispatch, limit):
        sent += await _send_one(runtime, documents, Dispatch, dispatch_id, transport)
    for status_id in await _claim(runtime, OutboundStatus, limit):
        sent += await _send_one(runtime, documents, OutboundStatus, status_id, transport)
    return sent


RetriedRow = TypeVar("RetriedRow", Dispatch, OutboundStatus)


async def _claim(runtime: ServiceRuntime, kind: type[RetriedRow], limit: int) -> list[object]:
    """Take due rows by pushing their next attempt forward (a lease), so another replica skips them."""
    now = utcnow()
    async with runtime.sessionmaker() as session, session.begin():
        rows = list(
            await session.scalars(
                select(kind)
                .where(kind.state == "pending", kind.next_attempt_at <= now)
                .order_by(kind.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            row.next_attempt_at = now + dt.timedelta(minutes=5)
        return [row.id for row in rows]


async def _send_one(
    runtime: ServiceRuntime,
    documents: Documents,
    kind: type[RetriedRow],
    row_id: object,
    transport: httpx.AsyncBaseTransport | None,
) -> int:
    async with runtime.read_sessionmaker() as session:
        row = await session.get(kind, row_id)
        assert row is not None
        partner_code = row.recipient_code if isinstance(row, Dispatch) else row.partner_code
        body = row.body if isinstance(row, OutboundStatus) else None
    partner = documents.settings.partners.get(partner_code)
    error: str | None = None
    status = 0
    if partner is None:
        error = "đối tác không còn trong cấu hình"
    else:
        try:
            xml = body if body is not None else await _message_for(documents, runtime, row_id)
            status, answer = await post_edxml(
                transport or partner.url, xml, partner.token.get_secret_value(), base_url=partner.url
            )
            if status != 202:
                error = f"HTTP {status}: {str(answer)[:300]}"
        except (httpx.HTTPError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
    async with runtime.sessionmaker() as session, session.begin():
        row = await session.get(kind, row_id)
        assert row is not None
        row.attempts += 1
        if error is None:
            row.state = "delivered"
            if isinstance(row, Dispatch):
                row.status_code, row.status_description = StatusCode.ARRIVED.value, label(StatusCode.ARRIVED)
            return 1
        row.last_error = error
        if row.attempts >= MAX_ATTEMPTS or partner is None:
            row.state = "failed"
        else:
            row.next_attempt_at = utcnow() + backoff(row.attempts)
        log.warning("edXML delivery failed", extra={"partner": partner_code, "attempt": row.attempts})
        return 0


__all__ = ["VIETNAM", "deliver_pending", "dispatch", "on_transition", "queue_status", "report_status"]
