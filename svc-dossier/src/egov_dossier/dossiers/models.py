"""Tables of the dossier domain."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from egov_dossier.db import Base
from egov_shared.db import UTCDateTime, utcnow


class CalendarDay(Base):
    """An administrator's correction of the working calendar: an extra day off, or a make-up working day
    (often a Saturday). Government notices come late, so this table wins over the holiday library."""

    __tablename__ = "calendar_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(300))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
