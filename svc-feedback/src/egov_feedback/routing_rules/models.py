"""The override table of the routing rules (category × area → agency)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from egov_feedback.db import Base
from egov_shared.db import UTCDateTime, utcnow


class RoutingOverride(Base):
    __tablename__ = "routing_overrides"

    category_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    area_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(13))
    note: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
