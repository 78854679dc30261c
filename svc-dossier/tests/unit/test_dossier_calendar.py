"""Deadline maths: working days (holidays.VN + admin table), working hours, pauses, Decision 766 classification.

Expected values are counted by hand with the default hours 07:00-11:30 and 13:30-17:00 (8 h a day), local time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest

from egov_dossier.dossiers.timeliness import Timeliness, classify
from egov_shared.calendar import VN_TZ, WorkingCalendar


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


CAL = WorkingCalendar()


# -- working days -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 3, 14), True),  # an ordinary Friday
        (date(2025, 3, 15), False),  # Saturday
        (date(2025, 3, 16), False),  # Sunday
        # Tết 2025: Mon 27 Jan - Sat 1 Feb off, back on Mon 3 Feb
        (date(2025, 1, 24), True),
        (date(2025, 1, 27), False),
        (date(2025, 1, 31), False),
        (date(2025, 2, 3), True),
        # Tết 2026: Mon 16 - Fri 20 Feb
        (date(2026, 2, 13), True),
        (date(2026, 2, 16), False),
        (date(2026, 2, 20), False),
        (date(2026, 2, 23), True),
        # 2025 swap: Fri 2 May off, Sat 26 Apr worked instead
        (date(2025, 5, 2), False),
        (date(2025, 4, 26), True),
        # 2026 swap: Mon 31 Aug off, Sat 22 Aug worked instead
        (date(2026, 8, 31), False),
        (date(2026, 8, 22), True),
        (date(2026, 4, 27), False),  # Hùng Kings on Sunday 26 Apr 2026, observed on Monday
        (date(2025, 9, 1), False),  # National Day's adjacent day 2025
        # Vietnam Culture Day, a paid day off from 2026 on (not before)
        (date(2026, 11, 24), False),
        (date(2025, 11, 24), True),
        (date(2024, 12, 31), True),
        (date(2025, 1, 1), False),
    ],
)
def test_working_days_follow_the_law_and_government_swaps(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_admin_table_overrides_the_library_both_ways() -> None:
    calendar = WorkingCalendar(
        {
            date(2025, 3, 15): True,  # a make-up Saturday the library does not know
            date(2025, 3, 17): False,  # an extra day off on a Monday
            date(2025, 4, 26): False,  # the library's make-up Saturday, cancelled
            date(2025, 5, 2): True,  # the library's swapped day off, worked after all
        }
    )
    assert calendar.is_working_day(date(2025, 3, 15))
    assert not calendar.is_working_day(date(2025, 3, 17))
    assert not calendar.is_working_day(date(2025, 4, 26))
    assert calendar.is_working_day(date(2025, 5, 2))
    # days not in the table keep the library's answer
    assert not calendar.is_working_day(date(2025, 3, 16))
    assert calendar.is_working_day(date(2025, 3, 18))


def test_is_working_day_refuses_a_datetime() -> None:
    with pytest.raises(TypeError):
        CAL.is_working_day(vn(2025, 3, 14, 9))


# -- when the clock starts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "starts"),
    [
        (vn(2025, 3, 10, 9, 0), vn(2025, 3, 10, 9, 0)),  # Monday, working hours
        (vn(2025, 3, 10, 7, 0), vn(2025, 3, 10, 7, 0)),
        (vn(2025, 3, 10, 6, 15), vn(2025, 3, 10, 7, 0)),  # before opening
        (vn(2025, 3, 10, 11, 30), vn(2025, 3, 10, 13, 30)),  # lunch starts at 11:30
        (vn(2025, 3, 10, 12, 45), vn(2025, 3, 10, 13, 30)),
        (vn(2025, 3, 10, 16, 59), vn(2025, 3, 10, 16, 59)),
        (vn(2025, 3, 10, 17, 0), vn(2025, 3, 11, 7, 0)),  # closing time is after hours
        (vn(2025, 3, 10, 22, 0), vn(2025, 3, 11, 7, 0)),
        (vn(2025, 3, 14, 17, 5), vn(2025, 3, 17, 7, 0)),  # Friday evening -> Monday
        (vn(2025, 3, 16, 10, 0), vn(2025, 3, 17, 7, 0)),  # Sunday
        (vn(2025, 1, 29, 9, 0), vn(2025, 2, 3, 7, 0)),  # first day of Tết 2025
        # 23:30 UTC Monday is 06:30 Tuesday in Hà Nội: the local date decides
        (datetime(2025, 3, 10, 23, 30, tzinfo=UTC), vn(2025, 3, 11, 7, 0)),
    ],
)
def test_start_of_clock(received: datetime, starts: datetime) -> None:
    result = CAL.start_of_clock(received)
    assert result == starts
    assert result.tzinfo is UTC


# -- processing time in working days ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "days", "hours", "due"),
    [
        (vn(2025, 3, 10, 9, 0), 1, 0, vn(2025, 3, 11, 9, 0)),  # Monday 09:00 -> Tuesday 09:00
        (vn(2025, 3, 10, 16, 30), 1, 0, vn(2025, 3, 11, 16, 30)),  # 0.5 h Monday + 7.5 h Tuesday
        (vn(2025, 3, 10, 7, 0), 1, 0, vn(2025, 3, 10, 17, 0)),  # a full day ends at closing time
        (
            vn(2025, 3, 10, 12, 0),
            1,
            0,
            vn(2025, 3, 11, 11, 30),
        ),  # lunch: 3.5 h Monday + 4.5 h Tuesday morning
        (vn(2025, 3, 10, 18, 0), 1, 0, vn(2025, 3, 11, 17, 0)),  # after hours: starts Tuesday 07:00
        (vn(2025, 3, 16, 10, 0), 1, 0, vn(2025, 3, 17, 17, 0)),  # Sunday: starts Monday 07:00
        (vn(2025, 3, 14, 15, 0), 1, 0, vn(2025, 3, 17, 15, 0)),  # Friday 15:00 -> Monday 15:00
        (vn(2025, 3, 10, 9, 0), 5, 0, vn(2025, 3, 17, 9, 0)),  # a working week spans the weekend
        (vn(2025, 3, 10, 10, 0), 0, 2, vn(2025, 3, 10, 14, 0)),  # 1.5 h morning, lunch, 0.5 h afternoon
        (vn(2025, 3, 10, 11, 0), 0, 0.5, vn(2025, 3, 10, 11, 30)),  # ends at the end of the morning
        (vn(2025, 3, 10, 16, 0), 0, 4, vn(2025, 3, 11, 10, 0)),  # 1 h Monday + 3 h Tuesday
        (vn(2025, 3, 10, 9, 0), 1, 2, vn(2025, 3, 11, 11, 0)),
        (vn(2025, 3, 10, 9, 0), 0, 0, vn(2025, 3, 10, 9, 0)),
        (vn(2024, 12, 31, 10, 0), 1, 0, vn(2025, 1, 2, 10, 0)),  # New Year's Day across the year boundary
        # Tết 2025: Friday 24 Jan 10:00 + 3 days -> Mon 3, Tue 4, Wed 5 Feb 10:00
        (vn(2025, 1, 24, 10, 0), 3, 0, vn(2025, 2, 5, 10, 0)),
        # Tết 2026: Friday 13 Feb 09:00 + 5 days -> Mon 23 ... Fri 27 Feb 09:00
        (vn(2026, 2, 13, 9, 0), 5, 0, vn(2026, 2, 27, 9, 0)),
        # ... received after hours that Friday: starts Mon 23 Feb 07:00, due Fri 27 Feb 17:00
        (vn(2026, 2, 13, 17, 30), 5, 0, vn(2026, 2, 27, 17, 0)),
        # 30/4, 1/5 and the swapped 2/5 in 2025: Tuesday 29 Apr 10:00 + 1 day -> Monday 5 May 10:00
        (vn(2025, 4, 29, 10, 0), 1, 0, vn(2025, 5, 5, 10, 0)),
        # the library's make-up Saturday 26 Apr 2025 counts
        (vn(2025, 4, 25, 15, 0), 1, 0, vn(2025, 4, 26, 15, 0)),
        # Vietnam Culture Day 2026 (Tuesday 24 Nov) is skipped
        (vn(2026, 11, 23, 9, 0), 1, 0, vn(2026, 11, 25, 9, 0)),
    ],
)
def test_add_working_time(received: datetime, days: int, hours: float, due: datetime) -> None:
    result = CAL.add_working_time(received, days=days, hours=hours)
    assert result == due
    assert result.tzinfo is UTC


def test_admin_make_up_saturday_counts() -> None:
    calendar = WorkingCalendar({date(2025, 3, 15): True})
    assert calendar.add_working_time(vn(2025, 3, 14, 15, 0), days=1) == vn(2025, 3, 15, 15, 0)
    assert calendar.start_of_clock(vn(2025, 3, 14, 18, 0)) == vn(2025, 3, 15, 7, 0)


def test_admin_extra_day_off_is_skipped() -> None:
    calendar = WorkingCalendar({date(2025, 3, 17): False})
    assert calendar.add_working_time(vn(2025, 3, 14, 15, 0), days=1) == vn(2025, 3, 18, 15, 0)


def test_admin_cancelling_the_library_make_up_saturday() -> None:
    calendar = WorkingCalendar({date(2025, 4, 26): False})
    # Sat 26 Apr no longer worked; Mon 28 Apr is the next working day
    assert calendar.add_working_time(vn(2025, 4, 25, 15, 0), days=1) == vn(2025, 4, 28, 15, 0)


@pytest.mark.parametrize(("days", "hours"), [(-1, 0), (0, -0.5), (0, float("nan")), (0, float("inf"))])
def test_add_working_time_refuses_bad_amounts(days: int, hours: float) -> None:
    with pytest.raises(ValueError, match="processing time"):
        CAL.add_working_time(vn(2025, 3, 10, 9), days=days, hours=hours)


# -- processing time in calendar days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        (vn(2025, 3, 10, 9, 0), 4, vn(2025, 3, 14, 9, 0)),  # ends on a Friday: as is
        (vn(2025, 3, 10, 9, 0), 5, vn(2025, 3, 17, 17, 0)),  # ends on a Saturday: end of Monday
        (vn(2025, 3, 10, 9, 0), 6, vn(2025, 3, 17, 17, 0)),  # ends on a Sunday: end of Monday
        (vn(2025, 3, 10, 9, 0), 7, vn(2025, 3, 17, 9, 0)),  # ends on a Monday: as is
        # ends on 30/4/2025: 1/5, 2/5 (swap), weekend -> end of Monday 5 May
        (vn(2025, 4, 28, 9, 0), 2, vn(2025, 5, 5, 17, 0)),
        # ends on Monday 16 Feb 2026, Tết -> end of Monday 23 Feb
        (vn(2026, 2, 6, 10, 0), 10, vn(2026, 2, 23, 17, 0)),
        # received Friday evening: the clock starts Monday 17 Mar 07:00
        (vn(2025, 3, 14, 18, 0), 7, vn(2025, 3, 24, 7, 0)),
        (vn(2025, 3, 10, 9, 0), 0, vn(2025, 3, 10, 9, 0)),
    ],
)
def test_add_calendar_days(received: datetime, days: int, due: datetime) -> None:
    result = CAL.add_calendar_days(received, days)
    assert result == due
    assert result.tzinfo is UTC


def test_calendar_days_ending_on_an_admin_make_up_saturday_stay_there() -> None:
    calendar = WorkingCalendar({date(2025, 3, 15): True})
    assert calendar.add_calendar_days(vn(2025, 3, 10, 9, 0), 5) == vn(2025, 3, 15, 9, 0)


# -- supplementation pauses -------------------------------------------------------------------------------------


def test_pause_from_tuesday_to_thursday_moves_the_due_date_by_its_working_time() -> None:
    paused_from, resumed_at = vn(2025, 3, 11, 10, 0), vn(2025, 3, 13, 14, 0)
    # Tue 10:00-11:30 1.5 h + 13:30-17:00 3.5 h; Wed 8 h; Thu 07:00-11:30 4.5 h + 13:30-14:00 0.5 h = 18 h
    assert CAL.working_time_between(paused_from, resumed_at) == timedelta(hours=18)
    # due Fri 14 Mar 16:00 + 18 h: Fri 1 h, Mon 8 h, Tue 8 h, Wed 1 h -> Wed 19 Mar 08:00
    assert CAL.extend_for_pause(vn(2025, 3, 14, 16, 0), paused_from, resumed_at) == vn(2025, 3, 19, 8, 0)


def test_pause_outside_working_hours_leaves_the_due_date() -> None:
    due = vn(2025, 3, 17, 11, 30)
    assert CAL.extend_for_pause(due, vn(2025, 3, 14, 17, 30), vn(2025, 3, 17, 6, 0)) == due


def test_due_date_at_closing_time_moves_into_the_next_working_morning() -> None:
    assert CAL.extend_for_pause(vn(2025, 3, 10, 17, 0), vn(2025, 3, 11, 8, 0), vn(2025, 3, 11, 10, 0)) == vn(
        2025, 3, 11, 9, 0
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (vn(2025, 3, 10, 9, 0), vn(2025, 3, 10, 9, 0), timedelta()),
        (vn(2025, 3, 10, 11, 0), vn(2025, 3, 10, 14, 0), timedelta(hours=1)),  # 0.5 h + 0.5 h around lunch
        (vn(2025, 3, 14, 16, 0), vn(2025, 3, 17, 8, 0), timedelta(hours=2)),  # over a weekend
        (
            vn(2025, 1, 24, 0, 0),
            vn(2025, 2, 4, 0, 0),
            timedelta(hours=16),
        ),  # Tết 2025: Fri 24 Jan + Mon 3 Feb
        (vn(2025, 3, 10, 0, 0), vn(2025, 3, 17, 0, 0), timedelta(hours=40)),
    ],
)
def test_working_time_between(a: datetime, b: datetime, expected: timedelta) -> None:
    assert CAL.working_time_between(a, b) == expected


def test_working_time_between_refuses_a_reversed_interval() -> None:
    with pytest.raises(ValueError, match="before start"):
        CAL.working_time_between(vn(2025, 3, 11, 9), vn(2025, 3, 10, 9))


# -- working hours configuration --------------------------------------------------------------------------------


def test_configured_hours() -> None:
    half_days = WorkingCalendar(working_hours=[(time(8, 0), time(12, 0))])
    assert half_days.working_day_length == timedelta(hours=4)
    assert half_days.start_of_clock(vn(2025, 3, 10, 13, 0)) == vn(2025, 3, 11, 8, 0)
    assert half_days.add_working_time(vn(2025, 3, 10, 9, 0), days=1) == vn(2025, 3, 11, 9, 0)
    assert half_days.add_working_time(vn(2025, 3, 10, 9, 0), hours=6) == vn(2025, 3, 11, 11, 0)
    assert CAL.working_day_length == timedelta(hours=8)


@pytest.mark.parametrize(
    "hours",
    [
        [],
        [(time(9, 0), time(8, 0))],
        [(time(13, 0), time(17, 0)), (time(7, 0), time(11, 0))],  # out of order
        [(time(7, 0), time(12, 0)), (time(11, 0), time(17, 0))],  # overlapping
        [(time(7, 0, tzinfo=UTC), time(11, 0))],
    ],
)
def test_bad_working_hours_are_refused(hours: list[tuple[time, time]]) -> None:
    with pytest.raises(ValueError, match="working"):
        WorkingCalendar(working_hours=hours)


# -- naive datetimes --------------------------------------------------------------------------------------------

NAIVE = datetime(2025, 3, 10, 9, 0)
AWARE = vn(2025, 3, 10, 9, 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: CAL.start_of_clock(NAIVE),
        lambda: CAL.add_working_time(NAIVE, days=1),
        lambda: CAL.add_calendar_days(NAIVE, 1),
        lambda: CAL.working_time_between(NAIVE, AWARE),
        lambda: CAL.working_time_between(AWARE, NAIVE),
        lambda: CAL.extend_for_pause(NAIVE, AWARE, AWARE),
        lambda: CAL.extend_for_pause(AWARE, NAIVE, AWARE),
        lambda: classify(due_at=NAIVE, finished_at=AWARE, measured_at=None, supplementation_requests=0),
        lambda: classify(due_at=AWARE, finished_at=NAIVE, measured_at=None, supplementation_requests=0),
        lambda: classify(due_at=AWARE, finished_at=None, measured_at=NAIVE, supplementation_requests=0),
    ],
)
def test_naive_datetimes_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


# -- Decision 766 classification --------------------------------------------------------------------------------

DUE = vn(2025, 3, 14, 15, 0)  # Friday 15:00


@pytest.mark.parametrize(
    ("finished_at", "measured_at", "requests", "paused_since", "outcome"),
    [
        # finished
        (vn(2025, 3, 13, 16, 0), None, 0, None, Timeliness.EARLY),  # the day before the appointment day
        (vn(2025, 3, 13, 16, 0), None, 1, None, Timeliness.EARLY),  # one supplementation request is allowed
        (vn(2025, 3, 14, 8, 0), None, 0, None, Timeliness.ON_TIME),  # the appointment day, before the hour
        (DUE, None, 0, None, Timeliness.ON_TIME),  # end <= appointment
        (vn(2025, 3, 14, 15, 1), None, 0, None, Timeliness.LATE),
        (vn(2025, 3, 13, 16, 0), None, 2, None, Timeliness.LATE),  # more than one supplementation request
        # 23:30 UTC Thursday is 06:30 Friday in Hà Nội: the appointment day, so not early
        (datetime(2025, 3, 13, 23, 30, tzinfo=UTC), None, 0, None, Timeliness.ON_TIME),
        (vn(2025, 3, 13, 16, 0), vn(2025, 3, 31), 0, None, Timeliness.EARLY),  # measured later: irrelevant
        # open at the end of the period
        (None, vn(2025, 3, 14, 14, 0), 0, None, Timeliness.IN_PROGRESS_WITHIN_TIME),
        (None, DUE, 1, None, Timeliness.IN_PROGRESS_WITHIN_TIME),
        (None, vn(2025, 3, 17, 9, 0), 0, None, Timeliness.IN_PROGRESS_OVERDUE),
        (None, vn(2025, 3, 14, 14, 0), 2, None, Timeliness.IN_PROGRESS_OVERDUE),
        # paused: the clock stopped before the due date, so it stays within time however long it waits
        (None, vn(2025, 3, 31), 1, vn(2025, 3, 13, 10, 0), Timeliness.PAUSED_WITHIN_TIME),
        (None, vn(2025, 3, 31), 1, DUE, Timeliness.PAUSED_WITHIN_TIME),
        (None, vn(2025, 3, 31), 1, vn(2025, 3, 17, 8, 0), Timeliness.PAUSED_OVERDUE),  # paused when late
        (None, vn(2025, 3, 14, 14, 0), 2, vn(2025, 3, 13, 10, 0), Timeliness.PAUSED_OVERDUE),
    ],
)
def test_classify(
    finished_at: datetime | None,
    measured_at: datetime | None,
    requests: int,
    paused_since: datetime | None,
    outcome: Timeliness,
) -> None:
    result = classify(
        due_at=DUE,
        finished_at=finished_at,
        measured_at=measured_at,
        supplementation_requests=requests,
        paused_since=paused_since,
    )
    assert result is outcome


def test_outcome_names_are_those_the_reports_use() -> None:
    assert {t.value for t in Timeliness} == {
        "early",
        "on_time",
        "late",
        "in_progress_within_time",
        "in_progress_overdue",
        "paused_within_time",
        "paused_overdue",
    }


@pytest.mark.parametrize(
    ("finished_at", "measured_at", "requests", "paused_since", "message"),
    [
        (None, None, 0, None, "needs measured_at"),
        (vn(2025, 3, 13), None, 0, vn(2025, 3, 12), "cannot be paused"),
        (vn(2025, 3, 20), vn(2025, 3, 15), 0, None, "finished after measured_at"),
        (None, vn(2025, 3, 12), 0, vn(2025, 3, 13), "paused after measured_at"),
        (vn(2025, 3, 13), None, -1, None, "must not be negative"),
    ],
)
def test_classify_refuses_inconsistent_input(
    finished_at: datetime | None,
    measured_at: datetime | None,
    requests: int,
    paused_since: datetime | None,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        classify(
            due_at=DUE,
            finished_at=finished_at,
            measured_at=measured_at,
            supplementation_requests=requests,
            paused_since=paused_since,
        )
