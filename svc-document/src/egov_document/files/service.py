"""Use cases of the file store: keep an upload, decide who may read a file, grant agencies access."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_document.files.models import Blob, FileGrant, FileReader, StoredFile
from egov_document.files.scanning import ClamdScanner, ScannerUnavailable
from egov_document.files.storage import FileStorage
from egov_document.files.upload import ReceivedFile
from egov_shared.agencies import subtree
from egov_shared.auth.tokens import Principal
from egov_shared.db import dialect_insert
from egov_shared.problems import NotFound, ServiceUnavailable, Unprocessable
from egov_shared.uow import UnitOfWork


async def keep_upload(
    uow: UnitOfWork,
    storage: FileStorage,
    scanner: ClamdScanner | None,
    received: ReceivedFile,
    owner: Principal,
    *,
    commit: bool = True,
) -> StoredFile:
    """Scan the upload, store its bytes once per content, and record the file for its uploader."""
    try:
        if scanner is not None:
            try:
                verdict = await scanner.scan_file(received.path)
            except ScannerUnavailable as exc:
                raise ServiceUnavailable(
                    "Chưa kiểm tra được mã độc; vui lòng thử lại sau.", code="file.scanner_unavailable"
                ) from exc
            if not verdict.clean:
                raise Unprocessable(
                    "Tệp chứa mã độc và đã bị từ chối.",
                    code="file.infected",
                    extra={"scanner_verdict": verdict.verdict},
                )
        if await uow.session.get(Blob, received.sha256) is None:
            await storage.put_file(received.sha256, received.path, received.content_type)
            insert = dialect_insert(uow.session)
            await uow.session.execute(
                insert(Blob)
                .values(
                    sha256=received.sha256,
                    size=received.size,
                    content_type=received.content_type,
                    storage_key=received.sha256,
                )
                .on_conflict_do_nothing(index_elements=["sha256"])
            )
    finally:
        await asyncio.to_thread(received.path.unlink, missing_ok=True)
    stored = StoredFile(
        sha256=received.sha256,
        filename=received.filename,
        content_type=received.content_type,
        size=received.size,
        owner_id=owner.subject,
        owner_kind=owner.kind,
        owner_agency=owner.agency if owner.kind == "official" else None,
    )
    uow.session.add(stored)
    await uow.session.flush()
    if commit:
        await uow.commit()
    return stored


async def may_read(session: AsyncSession, stored: StoredFile, principal: Principal) -> bool:
    """The uploader; a person the file was given to (a dossier's result, to its applicant); officials of an
    agency that was granted the file (or of one above it); officials of
    the uploading official's agency."""
    if stored.owner_id == principal.subject and stored.owner_kind == principal.kind:
        return True
    if principal.kind != "official" or not principal.agency:
        reader = await session.scalar(
            select(FileReader.id).where(
                FileReader.file_id == stored.id,
                FileReader.subject == principal.subject,
                FileReader.kind == principal.kind,
            )
        )
        return reader is not None
    agencies = set(
        (await session.scalars(select(FileGrant.agency_code).where(FileGrant.file_id == stored.id))).all()
    )
    if stored.owner_agency:
        agencies.add(stored.owner_agency)
    # One look at the tree: the official acts for every agency in their subtree.
    return bool(agencies) and not agencies.isdisjoint(await subtree(session, principal.agency))


async def readable_file(session: AsyncSession, file_id: uuid.UUID, principal: Principal) -> StoredFile:
    """The file if this caller may read it; otherwise 404, whether or not it exists (no probing)."""
    stored = await session.get(StoredFile, file_id)
    if stored is None or not await may_read(session, stored, principal):
        raise NotFound("Không có tệp này.", code="file.not_found")
    return stored


async def grant(session: AsyncSession, file_ids: Iterable[uuid.UUID], agency_code: str, reason: str) -> int:
    """Let ``agency_code`` read these files (those that exist here); returns how many were granted anew."""
    ids = list(dict.fromkeys(file_ids))
    if not ids:
        return 0
    existing = set((await session.scalars(select(StoredFile.id).where(StoredFile.id.in_(ids)))).all())
    already = set(
        (
            await session.scalars(
                select(FileGrant.file_id).where(
                    FileGrant.file_id.in_(ids), FileGrant.agency_code == agency_code
                )
            )
        ).all()
    )
    added = 0
    for file_id in ids:
        if file_id in existing and file_id not in already:
            session.add(FileGrant(file_id=file_id, agency_code=agency_code, reason=reason[:120]))
            added += 1
    return added


async def grant_reader(
    session: AsyncSession, file_ids: Iterable[uuid.UUID], subject: str, kind: str, reason: str
) -> None:
    """Let one person read these files (those that exist here): a dossier's applicant, its result."""
    ids = list(dict.fromkeys(file_ids))
    if not ids:
        return
    existing = set((await session.scalars(select(StoredFile.id).where(StoredFile.id.in_(ids)))).all())
    already = set(
        (
            await session.scalars(
                select(FileReader.file_id).where(
                    FileReader.file_id.in_(ids), FileReader.subject == subject, FileReader.kind == kind
                )
            )
        ).all()
    )
    for file_id in ids:
        if file_id in existing and file_id not in already:
            session.add(FileReader(file_id=file_id, subject=subject, kind=kind, reason=reason[:120]))


async def ownership(
    session: AsyncSession, file_ids: list[uuid.UUID], principal: Principal
) -> list[StoredFile]:
    """The files among ``file_ids`` that exist and belong to ``principal`` (for other services' checks)."""
    if not file_ids:
        return []
    rows = await session.scalars(
        select(StoredFile).where(
            StoredFile.id.in_(file_ids),
            StoredFile.owner_id == principal.subject,
            StoredFile.owner_kind == principal.kind,
        )
    )
    return list(rows)
