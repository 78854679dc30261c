"""The working calendar as the service uses it: the holiday library plus the administrators' table.

Every change publishes ``dossier.calendar_corrected`` in its unit of work: svc-feedback counts its deadlines on
the same calendar and keeps a copy of the corrections.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_dossier.dossiers.models import CalendarDay
from egov_shared.calendar import WorkingCalendar
from egov_shared.contracts.dossier import DossierCalendarCorrected
from egov_shared.db import utcnow
from egov_shared.uow import UnitOfWork


async def load_calendar(session: AsyncSession) -> WorkingCalendar:
    rows = (await session.execute(select(CalendarDay.day, CalendarDay.working))).all()
    return WorkingCalendar({row.day: row.working for row in rows})


async def set_day(uow: UnitOfWork, day: dt.date, *, working: bool, note: str, by: str) -> CalendarDay:
    row = await uow.session.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day, working=working, note=note, updated_by=by)
        uow.session.add(row)
    else:
        row.working, row.note, row.updated_by = working, note, by
    uow.publish(
        DossierCalendarCorrected(day=day, working=working, note=note, corrected_at=utcnow()),
        subject=day.isoformat(),
    )
    await uow.commit()
    return row


async def clear_day(uow: UnitOfWork, day: dt.date) -> bool:
    row = await uow.session.get(CalendarDay, day)
    if row is None:
        return False
    await uow.session.delete(row)
    uow.publish(
        DossierCalendarCorrected(day=day, working=None, note=None, corrected_at=utcnow()),
        subject=day.isoformat(),
    )
    await uow.commit()
    return True
