"""Administrative procedures (thủ tục hành chính) of the catalogue."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from egov_dossier.db import Base
from egov_shared.db import UTCDateTime, utcnow


class Procedure(Base):
    __tablename__ = "procedures"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    field: Mapped[str] = mapped_column(String(200), index=True)
    # "province": decided by ``agency_code``; "commune": by the commune or ward the applicant chooses.
    level: Mapped[str] = mapped_column(String(10))
    agency_code: Mapped[str] = mapped_column(String(13), index=True)
    online_class: Mapped[str] = mapped_column(String(10), index=True)  # full | partial
    processing_time: Mapped[int] = mapped_column(Integer)
    time_unit: Mapped[str] = mapped_column(String(15))  # working_days | calendar_days
    fees: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    fee_stage: Mapped[str | None] = mapped_column(String(12))  # submission | result | None (no fee)
    components: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    result_type: Mapped[str] = mapped_column(String(300))
    min_assurance_level: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # name + code + field folded (no diacritics, lower case), for accent-insensitive search.
    search_text: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
