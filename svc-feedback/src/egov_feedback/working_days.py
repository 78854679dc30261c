"""Whole working days on the Vietnamese calendar, for the feedback deadlines of Decision 766 (in working days).

Deliberately small: days, not working hours. A deadline of N working days from a moment ends at midnight
(Asia/Ho_Chi_Minh) after the N-th working day following that moment's local date, so the whole last day counts.
Which days are working days is the :class:`egov_shared.calendar.WorkingCalendar` passed in: ``holidays.VN``
with the government's day swaps, the calendar svc-dossier's deadlines use too, plus the administrators'
corrections (extra days off, make-up days) that svc-dossier publishes and this service replicates
(:func:`egov_feedback.calendar_corrections.load_calendar`, loaded by each use case in its unit of work).

A correction applies to the deadlines computed after it arrives; the deadlines of existing reports are not
recomputed (they were announced to the reporter and the agency when set).
"""

from __future__ import annotations

import datetime as dt

from egov_shared.calendar import VN_TZ, WorkingCalendar

# Tết with its weekends is under two weeks; far more means a broken calendar, not a long holiday.
_MAX_DAYS_OFF_IN_A_ROW = 60


def add_working_days(day: dt.date, days: int, *, calendar: WorkingCalendar) -> dt.date:
    """The ``days``-th working day after ``day`` (``day`` itself never counts; 0 gives ``day``)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current, left, idle = day, days, 0
    while left:
        current += dt.timedelta(days=1)
        if calendar.is_working_day(current):
            left, idle = left - 1, 0
        else:
            idle += 1
            if idle > _MAX_DAYS_OFF_IN_A_ROW:
                raise ValueError("no working day for two months: the holiday calendar is broken")
    return current


def working_days_between(start: dt.date, end: dt.date, *, calendar: WorkingCalendar) -> int:
    """How many working days lie in (``start``, ``end``]: 0 when ``end`` is not after ``start``."""
    count, current = 0, start
    while current < end:
        current += dt.timedelta(days=1)
        if calendar.is_working_day(current):
            count += 1
    return count


def local_date(at: dt.datetime) -> dt.date:
    if at.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return at.astimezone(VN_TZ).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """The instant (UTC) at which local ``day`` ends: midnight in Vietnam at the start of the next day."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), VN_TZ).astimezone(dt.UTC)


def deadline_after(start: dt.datetime, days: int, *, calendar: WorkingCalendar) -> dt.datetime:
    """The end of the ``days``-th working day after ``start``'s local date."""
    return end_of_day(add_working_days(local_date(start), days, calendar=calendar))


def extend_deadline(deadline: dt.datetime, days: int, *, calendar: WorkingCalendar) -> dt.datetime:
    """Move a deadline made by :func:`deadline_after` ``days`` working days later (a paused clock)."""
    last_day = local_date(deadline - dt.timedelta(microseconds=1))
    return end_of_day(add_working_days(last_day, days, calendar=calendar))
