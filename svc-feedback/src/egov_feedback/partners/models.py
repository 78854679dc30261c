"""Open311 partners: who may POST requests, identified by an ``api_key`` whose digest is stored."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from egov_feedback.db import Base
from egov_shared.db import UTCDateTime, utcnow


class Open311Partner(Base):
    __tablename__ = "open311_partners"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
