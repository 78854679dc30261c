"""The administrators' corrections of the working calendar, replicated from svc-dossier
(``dossier.calendar_corrected``): extra days off and make-up working days that the holiday library lacks.

One row per corrected day. A removed correction stays as a row with ``working`` NULL, so that an older event
arriving late (a redelivery, another replica's retry) cannot bring it back: a change applies only if it is
newer than the row. Every use case that counts working days loads the calendar from this table in its own
unit of work (:func:`load_calendar`): whichever replica consumed the event, all of them see it at once.
"""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import Boolean, Date, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from egov_feedback.db import Base
from egov_shared.calendar import WorkingCalendar
from egov_shared.contracts.dossier import DossierCalendarCorrected
from egov_shared.db import UTCDateTime, dialect_insert
from egov_shared.events import CloudEvent
from egov_shared.uow import UnitOfWork


class CalendarCorrection(Base):
    __tablename__ = "calendar_corrections"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    # True: a make-up working day; False: an extra day off; None: no correction (the holiday library decides).
    working: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(300))
    corrected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


async def on_calendar_corrected(uow: UnitOfWork, data: DossierCalendarCorrected, event: CloudEvent) -> None:
    """Apply a correction newer than the copy of that day; an older or repeated one changes nothing."""
    values = {"day": data.day, "working": data.working, "note": data.note, "corrected_at": data.corrected_at}
    insert = dialect_insert(uow.session)
    await uow.session.execute(
        insert(CalendarCorrection).values(values).on_conflict_do_nothing(index_elements=["day"])
    )
    await uow.session.execute(
        update(CalendarCorrection)
        .where(CalendarCorrection.day == data.day, CalendarCorrection.corrected_at < data.corrected_at)
        .values(values)
    )


async def load_calendar(session: AsyncSession) -> WorkingCalendar:
    """The working calendar with the corrections as they are now (one query on a table of a few rows)."""
    rows = await session.execute(
        select(CalendarCorrection.day, CalendarCorrection.working).where(
            CalendarCorrection.working.is_not(None)
        )
    )
    return _calendar(frozenset((row.day, bool(row.working)) for row in rows))


@functools.lru_cache(maxsize=8)
def _calendar(overrides: frozenset[tuple[dt.date, bool]]) -> WorkingCalendar:
    # Building one costs milliseconds (the holiday library computes each year's lunar holidays): reuse it
    # while the corrections are the same.
    return WorkingCalendar(dict(overrides))
