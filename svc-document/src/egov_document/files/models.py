"""Stored files: a blob per distinct content (SHA-256), a file record per upload, and read grants."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from egov_document.db import Base
from egov_shared.db import UTCDateTime, utcnow


class Blob(Base):
    """The bytes, stored once however many uploads carry them (deduplication by content)."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    storage_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoredFile(Base):
    """One upload: who brought it, under which name. The uploader may always read it."""

    __tablename__ = "files"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    owner_id: Mapped[str] = mapped_column(String(64), index=True)
    owner_kind: Mapped[str] = mapped_column(String(10))
    # The agency of an official uploader (their agency's officials may read it too).
    owner_agency: Mapped[str | None] = mapped_column(String(13))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FileGrant(Base):
    """An agency may read a file because a dossier or report it handles references it."""

    __tablename__ = "file_grants"
    __table_args__ = (UniqueConstraint("file_id", "agency_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), index=True)
    agency_code: Mapped[str] = mapped_column(String(13), index=True)
    reason: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FileReader(Base):
    """A person (not an agency) may read a file: the applicant, the result of their dossier."""

    __tablename__ = "file_readers"
    __table_args__ = (UniqueConstraint("file_id", "subject", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
