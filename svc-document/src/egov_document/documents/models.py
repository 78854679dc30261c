"""Official documents in an agency's outgoing and incoming registers, and their processing trace."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from egov_document.db import Base
from egov_shared.db import UTCDateTime, utcnow


class OfficialDocument(Base):
    """Metadata of Decree 30 Appendix VI: type, number and symbol, issuer, excerpt, signer, urgency, secrecy,
    recipients, due date; for incoming documents the arrival number and date."""

    __tablename__ = "official_documents"
    __table_args__ = (
        Index("ix_official_documents_register", "agency_code", "direction", "year"),
        Index("ix_official_documents_identity", "issuer_code", "number", "symbol"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    agency_code: Mapped[str] = mapped_column(String(13))
    direction: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    doc_type: Mapped[str] = mapped_column(String(5))
    type_name: Mapped[str] = mapped_column(String(100))
    number: Mapped[int | None] = mapped_column(Integer)
    symbol: Mapped[str | None] = mapped_column(String(30))
    issuer_code: Mapped[str] = mapped_column(String(13))
    issuer_name: Mapped[str] = mapped_column(String(300))
    issued_date: Mapped[dt.date | None] = mapped_column(Date)
    excerpt: Mapped[str] = mapped_column(String(500))
    signer_name: Mapped[str | None] = mapped_column(String(200))
    signer_position: Mapped[str | None] = mapped_column(String(200))
    urgency: Mapped[int] = mapped_column(Integer, default=0)
    secrecy: Mapped[str | None] = mapped_column(String(10))
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    page_count: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(10), default="vi")
    arrival_number: Mapped[int | None] = mapped_column(Integer)
    arrival_date: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    signed_file_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    assignee_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    @property
    def number_and_symbol(self) -> str | None:
        if self.number is None or self.symbol is None:
            return None
        return f"{self.number:02d}/{self.symbol}"


class DocumentTrace(Base):
    """Every step a document took: who, in which role, from which status to which, with what note."""

    __tablename__ = "document_traces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("official_documents.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
