"""The Vietnamese working calendar: working days and working hours, for deadlines in working time.

Used by svc-dossier (dossier appointment dates, in working hours) and svc-feedback (report deadlines, in whole
working days). Pure: no I/O, no clock; a service that keeps an administrators' table of extra days off and make-up
working days passes it in as ``overrides``.

Conventions (every function refuses naive datetimes with ValueError; results are in UTC):

- Working days: Monday to Friday unless `holidays.VN` (public category only) marks the day off, plus the
  library's make-up working Saturdays (its `weekend_workdays`, e.g. 2025-04-26 swapped for 2025-05-02). The
  admin table wins over the library both ways, because government notices arrive after the library is released.
- Working hours are wall-clock periods in Asia/Ho_Chi_Minh, half-open [start, end): by default 07:00-11:30 and
  13:30-17:00, so one working day is 8 h. 11:30 itself is lunch and 17:00 itself is after hours.
- The clock starts at the first working instant at or after reception (`start_of_clock`).
- A processing time in working days is working *time*: N days = N x the working-day length, counted from the
  clock start. The due date is the earliest instant at which that much working time has elapsed, so it never
  falls in a gap; when the time runs out exactly at the end of a period it is that end (11:30 or 17:00), not
  the start of the next one. Examples with the default hours, 1 working day: received Monday 09:00 -> Tuesday
  09:00; Monday 16:30 -> Tuesday 16:30; Friday 15:00 -> Monday 15:00; Monday 07:00 -> Monday 17:00; at lunch
  (clock starts 13:30) -> Tuesday 11:30; Monday 18:00 (clock starts Tuesday 07:00) -> Tuesday 17:00.
- A processing time in calendar days counts straight through from the clock start, same wall-clock time. If
  that lands on a day that is not a working day the deadline is the end of the next working day (17:00), as the
  Civil Code 2015 art. 148(5) does for time limits ending on a rest day or holiday.
- A supplementation pause moves the due date by the working time during which the clock was stopped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import holidays
from holidays.constants import PUBLIC

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_WORKING_HOURS: tuple[tuple[time, time], ...] = (
    (time(7, 0), time(11, 30)),
    (time(13, 30), time(17, 0)),
)
# Tết with its weekends is at most ~10 days off; a longer run means a broken admin table, not a long holiday.
_MAX_DAYS_WITHOUT_WORK = 366


def require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")


class WorkingCalendar:
    """Working days and hours of a one-stop desk.

    `overrides` is the admin table: True marks a make-up working day (it may be a Saturday or a day the library
    has as a holiday), False an extra day off. `holidays.VN` fills each year lazily the first time a date of
    that year is asked about.
    """

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        *,
        working_hours: Sequence[tuple[time, time]] = DEFAULT_WORKING_HOURS,
        tz: tzinfo = VN_TZ,
    ) -> None:
        self._overrides: dict[date, bool] = {}
        for day, is_working in (overrides or {}).items():
            if isinstance(day, datetime) or not isinstance(day, date):
                raise TypeError(f"override keys must be dates, got {day!r}")
            self._overrides[day] = bool(is_working)
        self._hours = _validated_hours(working_hours)
        self._tz = tz
        # Only the public category: those are the statutory days off (Labour Code art. 112 and the government's
        # day swaps); anything the library files elsewhere is not a day off for the desk.
        self._library = holidays.country_holidays("VN", categories=PUBLIC)
        self.working_day_length: timedelta = sum(
            (_on(date(2000, 1, 1), end) - _on(date(2000, 1, 1), start) for start, end in self._hours),
            timedelta(),
        )

    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            # The date of a datetime depends on its time zone; make the caller pick it.
            raise TypeError("is_working_day takes a date, not a datetime")
        override = self._overrides.get(day)
        if override is not None:
            return override
        # The library's own rule: a weekday not in its holiday list, or a Saturday/Sunday in weekend_workdays.
        return self._library.is_working_day(day)

    def start_of_clock(self, received_at: datetime) -> datetime:
        """The first working instant at or after reception."""
        require_aware(received_at, "received_at")
        at = received_at.astimezone(UTC)
        start, _ = next(self._periods_from(at))
        return max(start, at)

    def add_working_time(self, start: datetime, *, days: int = 0, hours: float = 0) -> datetime:
        """The due date of `days` working days plus `hours` working hours of processing from `start`.

        `start` need not be a working instant: working time only elapses inside working hours. With nothing to
        add, `start` is returned unchanged (in UTC).
        """
        require_aware(start, "start")
        if days < 0 or not math.isfinite(hours) or hours < 0:
            raise ValueError(f"processing time must be finite and not negative, got {days=} {hours=}")
        return self._advance(start.astimezone(UTC), days * self.working_day_length + timedelta(hours=hours))

    def add_calendar_days(self, start: datetime, days: int) -> datetime:
        """The due date of a processing time in calendar days, counted from the clock start."""
        require_aware(start, "start")
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        # Wall-clock arithmetic in the local zone: "the same time N days later".
        due = self.start_of_clock(start).astimezone(self._tz) + timedelta(days=days)
        if self.is_working_day(due.date()):
            return due.astimezone(UTC)
        first_period, _ = next(self._periods_from(_on(due.date() + timedelta(days=1), time(0), self._tz)))
        return self._periods(first_period.astimezone(self._tz).date())[-1][1]

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time inside [a, b]; b must not be before a."""
        require_aware(a, "a")
        require_aware(b, "b")
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        if b < a:
            raise ValueError(f"end {b.isoformat()} is before start {a.isoformat()}")
        total = timedelta()
        for start, end in self._periods_from(a):
            if start >= b:
                break
            total += min(end, b) - max(start, a)
        return total

    def extend_for_pause(self, due: datetime, paused_from: datetime, resumed_at: datetime) -> datetime:
        """The due date after a supplementation pause: moved by the working time the clock was stopped.

        The result is working time after `due`, so a due date at 17:00 moved by 2 h is 09:00 the next working
        day; a pause entirely outside working hours leaves the due date as it was.
        """
        require_aware(due, "due")
        stopped = self.working_time_between(paused_from, resumed_at)
        return self._advance(due.astimezone(UTC), stopped)

    # -- internals: all instants are UTC datetimes, periods are (start, end) in UTC ------------------------------

    def _periods(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        return [(_on(day, start, self._tz), _on(day, end, self._tz)) for start, end in self._hours]

    def _periods_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working periods that end after `at`, in order (the first may have begun before `at`)."""
        day = at.astimezone(self._tz).date()
        days_without_work = 0
        while True:
            periods = self._periods(day)
            if periods:
                days_without_work = 0
            else:
                days_without_work += 1
                if days_without_work > _MAX_DAYS_WITHOUT_WORK:
                    raise ValueError(f"no working day within {_MAX_DAYS_WITHOUT_WORK} days after {day}")
            for start, end in periods:
                if end > at:
                    yield start, end
            day += timedelta(days=1)

    def _advance(self, at: datetime, amount: timedelta) -> datetime:
        if amount <= timedelta():
            return at
        remaining = amount
        for start, end in self._periods_from(at):
            begin = max(start, at)
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        raise AssertionError("_periods_from never ends")  # pragma: no cover


def _on(day: date, at: time, tz: tzinfo = UTC) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _validated_hours(working_hours: Sequence[tuple[time, time]]) -> tuple[tuple[time, time], ...]:
    hours = tuple(working_hours)
    if not hours:
        raise ValueError("working hours must have at least one period")
    previous_end: time | None = None
    for start, end in hours:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("working hours are wall-clock times; give them without a time zone")
        if not start < end:
            raise ValueError(f"working period {start}-{end} must start before it ends")
        if previous_end is not None and start < previous_end:
            raise ValueError("working periods must be in order and must not overlap")
        previous_end = end
    return hours
