"""Dispatches of outgoing documents (one per recipient) and status messages still to be sent back."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from egov_document.db import Base
from egov_shared.db import UTCDateTime, utcnow


class Retried:
    """Columns of anything sent to a partner with retries."""

    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)


class Dispatch(Retried, Base):
    """One recipient of one sent document, and what the recipient last reported (status 01–06, 13, 15, 16)."""

    __tablename__ = "dispatches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("official_documents.id"), index=True)
    recipient_code: Mapped[str] = mapped_column(String(13))
    recipient_name: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(10))  # internal | edxml
    edxml_document_id: Mapped[str] = mapped_column(String(200), index=True)
    status_code: Mapped[str | None] = mapped_column(String(2))
    status_description: Mapped[str | None] = mapped_column(Text)
    recipient_document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # What the next delivery says: 0 the document itself, 1 its revocation (with the reason).
    business: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    business_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OutboundStatus(Retried, Base):
    """A signed status message for a partner that sent us a document, delivered with retries."""

    __tablename__ = "outbound_statuses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_code: Mapped[str] = mapped_column(String(13))
    edxml_document_id: Mapped[str] = mapped_column(String(200))
    status_code: Mapped[str] = mapped_column(String(2))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
