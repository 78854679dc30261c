"""Signing a stored PDF as an agency (PAdES), for officials and for the other services."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import String, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_document.context import Documents
from egov_document.documents.models import OfficialDocument
from egov_document.files.models import FileGrant, FileReader, StoredFile
from egov_document.files.service import grant, keep_upload, may_read
from egov_document.files.upload import ReceivedFile
from egov_document.signatures.models import SignatureImage
from egov_document.signatures.pki_store import agency_identity, official_identity
from egov_document.signing.appearance import Appearance, AppearanceError, Box, check_png
from egov_document.signing.pades import SigningError, sign_pdf
from egov_shared.agencies import acts_for, agency_name
from egov_shared.auth.tokens import Principal
from egov_shared.contracts.document import DocumentSigned
from egov_shared.crypto import SecretBox
from egov_shared.db import utcnow
from egov_shared.problems import Conflict, Forbidden, NotFound, Unprocessable
from egov_shared.uow import UnitOfWork

log = logging.getLogger(__name__)

SIGN_SCOPE = "documents.sign"
# How long a signed copy nobody has received may still be withdrawn by its signer.
WITHDRAWAL_WINDOW = dt.timedelta(hours=1)
# Where an official's signature goes when the caller does not say: the lower right of the last page (points).
DEFAULT_SIGNATURE_BOX: Box = (340.0, 110.0, 520.0, 180.0)


async def read_bytes(documents: Documents, stored: StoredFile) -> bytes:
    chunks = [chunk async for chunk in documents.storage.read(stored.sha256)]
    return b"".join(chunks)


async def sign_as_agency(
    uow: UnitOfWork,
    documents: Documents,
    vault: SecretBox,
    principal: Principal,
    *,
    file_id: uuid.UUID,
    agency_code: str,
    reason: str | None,
    reference: str | None,
    with_official_signature: bool = False,
    box: Box | None = None,
    page: int = -1,
) -> StoredFile:
    """Sign the file with the agency's certificate and keep the signed copy as a new file.

    With ``with_official_signature`` the signing official signs first with their own certificate (showing
    their handwritten signature where one is configured, else a text stamp), then the agency's seal is added
    over the left third of it (Decree 30); otherwise the agency's signature alone, invisible.
    """
    session = uow.session
    if principal.kind == "official":
        if "signer" not in principal.roles or not await acts_for(session, principal.agency, agency_code):
            raise Forbidden("Cần vai trò ký số của cơ quan này.", code="signature.not_allowed")
    elif not (principal.kind == "client" and principal.has_scope(SIGN_SCOPE)):
        raise Forbidden(f"Cần phạm vi '{SIGN_SCOPE}' hoặc vai trò ký số.", code="signature.not_allowed")
    stored = await session.get(StoredFile, file_id)
    if stored is None or not await may_read(session, stored, principal):
        raise NotFound("Không có tệp này.", code="file.not_found")
    if stored.content_type != "application/pdf":
        raise Unprocessable("Chỉ ký được tệp PDF.", code="signature.pdf_required")
    name = await agency_name(session, agency_code)
    if name is None:
        raise Unprocessable(f"Không có cơ quan mã {agency_code}.", code="signature.unknown_agency")
    identity = await agency_identity(session, vault, agency_code, name)
    signed_at = utcnow()
    pdf = await read_bytes(documents, stored)
    seal: Appearance | None = None
    try:
        if with_official_signature:
            if principal.kind != "official":
                raise Forbidden("Chỉ cán bộ ký số mới có chữ ký cá nhân.", code="signature.not_allowed")
            area = box or DEFAULT_SIGNATURE_BOX
            official = await official_identity(
                session,
                vault,
                subject=principal.subject,
                full_name=principal.name or "Cán bộ",
                position="Người có thẩm quyền ký",
                agency_code=agency_code,
                agency_name=name,
            )
            handwriting = await image_of(session, "official", principal.subject)
            look = (
                Appearance.signature_image(handwriting, box=area, page=page)
                if handwriting
                else Appearance(box=area, page=page)
            )
            pdf = await asyncio.to_thread(
                sign_pdf,
                pdf,
                official,
                field_name=f"signer-{uuid.uuid4().hex[:8]}",
                reason=reason or "Ký ban hành",
                location="Việt Nam",
                signing_time=signed_at,
                appearance=look,
            )
            seal_image = await image_of(session, "agency", agency_code)
            seal = Appearance.seal(seal_image, over=area, page=page) if seal_image else None
        signed = await asyncio.to_thread(
            sign_pdf,
            pdf,
            identity,
            field_name=f"agency-{uuid.uuid4().hex[:8]}",
            reason=reason or "Ký số của cơ quan",
            location="Việt Nam",
            signing_time=signed_at,
            appearance=seal,
        )
    except (SigningError, AppearanceError) as exc:
        raise Unprocessable(f"Không ký được tệp: {exc}", code="signature.failed") from exc
    received = await asyncio.to_thread(_to_temp, signed, documents.upload_dir, stored.filename)
    result = await keep_upload(uow, documents.storage, None, received, principal, commit=False)
    result.owner_agency = agency_code
    await grant(session, [result.id], agency_code, f"signed:{stored.id}")
    uow.publish(
        DocumentSigned(
            source_file_id=stored.id,
            signed_file_id=result.id,
            agency_code=agency_code,
            signer=identity.display_name,
            reference=reference,
            signed_at=signed_at,
        ),
        subject=str(result.id),
    )
    await uow.commit()
    return result


async def withdraw_signed_copy(uow: UnitOfWork, principal: Principal, signed_file_id: uuid.UUID) -> None:
    """Delete a signed copy that has gone nowhere yet: its signer's way back when what it was signed for
    failed (svc-dossier's approval lost a race after signing).

    Only the principal who signed it (a service only with the signing scope), only while no one but the
    signing agency may read it, no official document carries it, and within an hour of signing; otherwise
    409. Anything else, or a file that is not a signed copy, is 404. The blob stays: blobs are shared by
    content and nothing deletes them.
    """
    session = uow.session
    # Locked, so a grant arriving meanwhile (dossier.completed) waits for the outcome instead of racing it.
    stored = await session.get(StoredFile, signed_file_id, with_for_update=True)
    if stored is None or not _signed_by(stored, principal):
        raise NotFound("Không có bản đã ký này.", code="signature.not_found")
    grants = list(await session.scalars(select(FileGrant).where(FileGrant.file_id == stored.id)))
    if not any(g.reason.startswith("signed:") for g in grants):
        raise NotFound("Không có bản đã ký này.", code="signature.not_found")
    if any(not g.reason.startswith("signed:") for g in grants) or await session.scalar(
        select(FileReader.id).where(FileReader.file_id == stored.id).limit(1)
    ):
        raise Conflict(
            "Bản đã ký đã được chia sẻ cho người khác đọc; không thể thu hồi.",
            code="signature.not_withdrawable",
        )
    if await _in_official_document(session, stored):
        raise Conflict(
            "Bản đã ký đã được đưa vào văn bản của cơ quan; không thể thu hồi.",
            code="signature.not_withdrawable",
        )
    if utcnow() - stored.created_at >= WITHDRAWAL_WINDOW:
        raise Conflict(
            "Bản đã ký được tạo quá một giờ trước; không thể thu hồi.", code="signature.not_withdrawable"
        )
    ids = {"signed_file_id": str(stored.id), "agency_code": stored.owner_agency}
    await session.delete(stored)  # its signed: grant goes with it (ON DELETE CASCADE)
    await uow.commit()
    # No event: nothing consumes document.signed, so no one needs to hear that a copy is gone.
    log.info("signed copy withdrawn", extra=ids)


def _signed_by(stored: StoredFile, principal: Principal) -> bool:
    if stored.owner_id != principal.subject or stored.owner_kind != principal.kind:
        return False
    return principal.kind != "client" or principal.has_scope(SIGN_SCOPE)


async def _in_official_document(session: AsyncSession, stored: StoredFile) -> bool:
    """Whether a document in a register carries the file, as its signed copy or among its files."""
    found = await session.scalar(
        select(OfficialDocument.id)
        .where(
            or_(
                OfficialDocument.signed_file_id == stored.id,
                cast(OfficialDocument.file_ids, String).contains(str(stored.id)),
            )
        )
        .limit(1)
    )
    return found is not None


async def image_of(session: AsyncSession, owner_kind: str, owner_ref: str) -> bytes | None:
    png: bytes | None = await session.scalar(
        select(SignatureImage.png).where(
            SignatureImage.owner_kind == owner_kind, SignatureImage.owner_ref == owner_ref
        )
    )
    return png


async def keep_image(session: AsyncSession, owner_kind: str, owner_ref: str, png: bytes) -> None:
    """Store (or replace) a signature or seal image; it must be a transparent PNG."""
    try:
        check_png(png)
    except AppearanceError as exc:
        raise Unprocessable(str(exc), code="signature.bad_image") from exc
    row = await session.scalar(
        select(SignatureImage).where(
            SignatureImage.owner_kind == owner_kind, SignatureImage.owner_ref == owner_ref
        )
    )
    if row is None:
        session.add(SignatureImage(owner_kind=owner_kind, owner_ref=owner_ref, png=png))
    else:
        row.png = png


def _to_temp(data: bytes, directory: Path, original_name: str) -> ReceivedFile:
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, prefix="signed-", delete=False) as handle:
        handle.write(data)
    stem = original_name.rsplit(".", 1)[0]
    return ReceivedFile(
        path=Path(handle.name),
        filename=f"{stem}.signed.pdf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_type="application/pdf",
    )
