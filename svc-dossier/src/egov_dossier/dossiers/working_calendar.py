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
    # Locked: two administrators changing one day commit in the order of the times their events carry.
    row = await uow.session.get(CalendarDay, day, with_for_update=True)
    now = utcnow()  # the row and its event carry the same time: a republished correction is no newer
    if row is None:
        row = CalendarDay(day=day, working=working, note=note, updated_by=by, updated_at=now)
        uow.session.add(row)
    else:
        row.working, row.note, row.updated_by, row.updated_at = working, note, by, now
    uow.publish(
        DossierCalendarCorrected(day=day, working=working, note=note, corrected_at=now),
        subject=day.isoformat(),
    )
    await uow.commit()
    return row


async def clear_day(uow: UnitOfWork, day: dt.date) -> bool:
    row = await uow.session.get(CalendarDay, day, with_for_update=True)
    if row is None:
        return False
    await uow.session.delete(row)
    uow.publish(
        DossierCalendarCorrected(day=day, working=None, note=None, corrected_at=utcnow()),
        subject=day.isoformat(),
    )
    await uow.commit()
    return True


async def republish_corrections(uow: UnitOfWork) -> int:
    """Publish every correction again, with the time it was made: a service deployed after the corrections (whose
    queue did not exist when they were published) catches up, and one that has them changes nothing."""
    rows = (await uow.session.scalars(select(CalendarDay).order_by(CalendarDay.day))).all()
    for row in rows:
        uow.publish(
            DossierCalendarCorrected(
                day=row.day, working=row.working, note=row.note, corrected_at=row.updated_at
            ),
            subject=row.day.isoformat(),
        )
    await uow.commit()
    return len(rows)
