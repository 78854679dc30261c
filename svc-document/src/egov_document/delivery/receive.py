"""Receiving edXML from partners: documents into our recipients' registers, status messages onto dispatches."""

from __future__ import annotations

import asyncio
import hashlib
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from egov_document.context import Documents
from egov_document.delivery.models import Dispatch
from egov_document.delivery.service import queue_status
from egov_document.documents.models import OfficialDocument
from egov_document.documents.service import record_trace, register_arrival
from egov_document.documents.types import DOCUMENT_TYPES
from egov_document.exchange import (
    Attachment,
    BusinessDocType,
    EdxmlError,
    EdxmlMessage,
    SignatureInvalid,
    StatusCode,
    StatusMessage,
    Trust,
    verify,
)
from egov_document.files.service import grant, keep_upload
from egov_document.files.upload import ReceivedFile, sniff
from egov_document.signatures.pki_store import trust_roots
from egov_shared.agencies import agency_exists
from egov_shared.auth.tokens import Principal
from egov_shared.contracts.identity import AGENCY_CODE_PATTERN
from egov_shared.problems import NotFound, Unprocessable
from egov_shared.uow import UnitOfWork

EXCHANGE_SCOPE = "documents.exchange"
AGENCY_CODE = re.compile(AGENCY_CODE_PATTERN)


def refused(reason: str, code: str) -> Unprocessable:
    """Refusal with edXML status 02 and the reason, as the sender's system expects."""
    return Unprocessable(
        reason, code=code, extra={"edxml_status": StatusCode.REFUSED.value, "reason": reason}
    )


async def _trust(documents: Documents, uow: UnitOfWork) -> Trust:
    roots = list(await trust_roots(uow.session))
    if documents.settings.partner_trust_pem:
        roots += x509.load_pem_x509_certificates(documents.settings.partner_trust_pem.encode())
    return Trust(roots=tuple(roots))


async def receive(uow: UnitOfWork, documents: Documents, principal: Principal, xml: bytes) -> dict[str, Any]:
    try:
        verified = await asyncio.to_thread(verify, xml, await _trust(documents, uow))
    except SignatureInvalid as exc:
        raise refused(f"Chữ ký số của thông điệp không hợp lệ: {exc}", "exchange.bad_signature") from exc
    except EdxmlError as exc:
        raise refused(f"Thông điệp edXML không hợp lệ: {exc}", "exchange.malformed") from exc
    message = verified.message
    certified = _agency_code_of(verified.signer)
    if certified is not None and certified != message.sender.organ_id:
        raise refused(
            f"Chứng thư số ký thông điệp thuộc cơ quan {certified}, không phải nơi gửi {message.sender.organ_id}.",
            "exchange.signer_mismatch",
        )
    if isinstance(message, StatusMessage):
        return await _status(uow, message)
    return await _document(uow, documents, principal, message)


def _agency_code_of(certificate: x509.Certificate) -> str | None:
    """The 13-character agency code a signing certificate names (our PKI puts it in OU), if any."""
    for attribute in certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME):
        value = str(attribute.value)
        if AGENCY_CODE.match(value):
            return value
    return None


async def _status(uow: UnitOfWork, message: StatusMessage) -> dict[str, Any]:
    row = await uow.session.scalar(
        select(Dispatch).where(
            Dispatch.edxml_document_id == message.document_id,
            Dispatch.recipient_code == message.sender.organ_id,
        )
    )
    if row is None:
        raise NotFound(
            "Không có văn bản đã gửi tương ứng với trạng thái này.", code="exchange.unknown_dispatch"
        )
    row.status_code, row.status_description = message.status_code.value, message.description
    await uow.commit()
    return {"status": "accepted", "document_id": message.document_id}


async def _document(
    uow: UnitOfWork, documents: Documents, principal: Principal, message: EdxmlMessage
) -> dict[str, Any]:
    session = uow.session
    ours = [r for r in message.recipients if await agency_exists(session, r.organ_id)]
    if not ours:
        raise refused("Không có nơi nhận nào thuộc hệ thống này.", "exchange.unknown_recipient")
    for attachment in message.attachments:
        if sniff(attachment.content[:8192]) is None:
            raise refused(
                f"Tệp đính kèm '{attachment.name}' không thuộc loại được nhận.", "exchange.attachment_type"
            )
    business = message.business.doc_type
    results: list[uuid.UUID] = []
    for recipient in ours:
        existing = await session.scalar(
            select(OfficialDocument).where(
                OfficialDocument.external_id == message.document_id,
                OfficialDocument.agency_code == recipient.organ_id,
                OfficialDocument.direction == "incoming",
            )
        )
        if business is BusinessDocType.NEW:
            document = existing or await _register(uow, documents, principal, message, recipient.organ_id)
            reply = StatusCode.RECEIVED
        elif existing is None:
            raise NotFound("Không có văn bản cần thu hồi/cập nhật.", code="exchange.unknown_document")
        elif business is BusinessDocType.REVOKE:
            document, reply = existing, StatusCode.REVOKED
            _mark(session, document, "revoke", "revoked", message.business.reason, principal)
        else:  # update or replace: the new metadata and attachments take the place of the old
            document, reply = existing, StatusCode.UPDATE_ACCEPTED
            document.excerpt = message.subject
            document.due_date = message.due_date
            document.file_ids = [str(f) for f in await _store(uow, documents, principal, message.attachments)]
            await grant(
                session,
                [uuid.UUID(f) for f in document.file_ids],
                recipient.organ_id,
                f"document:{document.id}",
            )
            _mark(
                session,
                document,
                "update" if business is BusinessDocType.UPDATE else "replace",
                document.status,
                message.business.reason,
                principal,
            )
        results.append(document.id)
        if message.sender.organ_id in documents.settings.partners and (
            existing is None or reply is not StatusCode.RECEIVED
        ):
            await queue_status(
                uow, documents, recipient.organ_id, message.sender.organ_id, message.document_id, reply, None
            )
    await uow.commit()
    return {"document_id": str(results[0]), "document_ids": [str(r) for r in results], "status": "accepted"}


def _mark(
    session: Any, document: OfficialDocument, action: str, status: str, note: str | None, who: Principal
) -> None:
    source = document.status
    document.status = status
    record_trace(session, document, action, source, actor_id=who.subject, actor_name=who.client_id, note=note)


async def _register(
    uow: UnitOfWork, documents: Documents, principal: Principal, message: EdxmlMessage, agency_code: str
) -> OfficialDocument:
    file_ids = await _store(uow, documents, principal, message.attachments)
    type_code = next(
        (k for k, (name, _) in DOCUMENT_TYPES.items() if name == message.document_type.type_name), "CV"
    )
    document = OfficialDocument(
        agency_code=agency_code,
        direction="incoming",
        doc_type=type_code,
        type_name=message.document_type.type_name,
        number=int(message.code.code_number) if message.code.code_number.isdigit() else None,
        symbol=message.code.code_notation,
        issuer_code=message.sender.organ_id,
        issuer_name=message.sender.organ_name,
        issued_date=message.promulgation.promulgation_date,
        excerpt=message.subject,
        signer_name=message.signer.full_name,
        signer_position=message.signer.position,
        urgency=int(message.other_info.priority),
        due_date=message.due_date,
        page_count=message.other_info.page_amount,
        file_ids=[str(f) for f in file_ids],
        external_id=message.document_id,
        created_by=f"exchange:{principal.client_id}",
        year=message.promulgation.promulgation_date.year,
        status="received",
    )
    await register_arrival(uow, document)
    await grant(uow.session, file_ids, agency_code, f"document:{document.id}")
    record_trace(
        uow.session,
        document,
        "receive",
        None,
        actor_id=principal.subject,
        actor_name=message.sender.organ_name,
        note=message.document_id,
    )
    return document


async def _store(
    uow: UnitOfWork, documents: Documents, principal: Principal, attachments: tuple[Attachment, ...]
) -> list[uuid.UUID]:
    ids = []
    for attachment in attachments:
        received = await asyncio.to_thread(_to_temp, attachment, documents.upload_dir)
        stored = await keep_upload(
            uow, documents.storage, documents.scanner, received, principal, commit=False
        )
        ids.append(stored.id)
    return ids


def _to_temp(attachment: Attachment, directory: Path) -> ReceivedFile:
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, prefix="edxml-", delete=False) as handle:
        handle.write(attachment.content)
    return ReceivedFile(
        path=Path(handle.name),
        filename=attachment.name,
        size=len(attachment.content),
        sha256=hashlib.sha256(attachment.content).hexdigest(),
        content_type=sniff(attachment.content[:8192]) or attachment.content_type,
    )
