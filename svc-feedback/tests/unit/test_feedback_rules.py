"""The report state machine, its deadlines on the Vietnamese working calendar, and the duplicate radius."""

from __future__ import annotations

import datetime as dt

import pytest

from egov_feedback import working_days
from egov_feedback.geo import DUPLICATE_RADIUS_M, distance_m, offset
from egov_feedback.reports.rules import (
    HANDLER,
    REOPEN_WINDOW,
    Action,
    Actor,
    Context,
    Deadlines,
    Status,
    allowed_actions,
    deadlines,
    decide,
    initial_deadlines,
)
from egov_shared.calendar import WorkingCalendar
from egov_shared.problems import Conflict, Forbidden, Unprocessable

ICT = dt.timezone(dt.timedelta(hours=7))
NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
STAFF = Actor.official(HANDLER)
REPORTER = Actor.citizen()
CALENDAR = WorkingCalendar()  # the holiday library, no administrators' corrections


def local(y: int, m: int, d: int, h: int = 9) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=ICT)


# --- working days -----------------------------------------------------------------------------------------------


def test_working_days_skip_weekends_tet_and_count_make_up_saturdays() -> None:
    add, between = working_days.add_working_days, working_days.working_days_between
    # Tết 2026: Mon 16 to Fri 20 February are public holidays.
    assert add(dt.date(2026, 2, 12), 1, calendar=CALENDAR) == dt.date(2026, 2, 13)
    assert add(dt.date(2026, 2, 12), 2, calendar=CALENDAR) == dt.date(2026, 2, 23)
    assert add(dt.date(2026, 2, 13), 0, calendar=CALENDAR) == dt.date(2026, 2, 13)
    # 2 September (National Day) with 31 August swapped for Saturday 22 August.
    assert CALENDAR.is_working_day(dt.date(2026, 8, 22))
    assert not CALENDAR.is_working_day(dt.date(2026, 8, 31))
    assert add(dt.date(2026, 8, 21), 1, calendar=CALENDAR) == dt.date(2026, 8, 22)
    assert add(dt.date(2026, 8, 28), 1, calendar=CALENDAR) == dt.date(2026, 9, 3)
    assert between(dt.date(2026, 2, 12), dt.date(2026, 2, 25), calendar=CALENDAR) == 4
    assert between(dt.date(2026, 2, 25), dt.date(2026, 2, 12), calendar=CALENDAR) == 0
    with pytest.raises(ValueError, match="negative"):
        add(dt.date(2026, 1, 1), -1, calendar=CALENDAR)


def test_working_days_follow_the_administrators_corrections() -> None:
    # Tuesday 5 January 2027 an extra day off, Saturday 9 January a make-up working day.
    corrected = WorkingCalendar({dt.date(2027, 1, 5): False, dt.date(2027, 1, 9): True})
    add, between = working_days.add_working_days, working_days.working_days_between
    assert add(dt.date(2027, 1, 4), 1, calendar=CALENDAR) == dt.date(2027, 1, 5)
    assert add(dt.date(2027, 1, 4), 1, calendar=corrected) == dt.date(2027, 1, 6)
    assert add(dt.date(2027, 1, 8), 1, calendar=corrected) == dt.date(2027, 1, 9)
    assert between(dt.date(2027, 1, 4), dt.date(2027, 1, 11), calendar=CALENDAR) == 5
    assert between(dt.date(2027, 1, 4), dt.date(2027, 1, 11), calendar=corrected) == 5  # one off, one on
    assert working_days.deadline_after(local(2027, 1, 4), 2, calendar=corrected) == dt.datetime(
        2027, 1, 8, tzinfo=ICT
    )


def test_a_deadline_ends_at_midnight_in_vietnam_after_the_last_working_day() -> None:
    due = working_days.deadline_after(local(2026, 2, 12), 2, calendar=CALENDAR)
    assert due == dt.datetime(2026, 2, 24, 0, 0, tzinfo=ICT)
    assert due.tzinfo == dt.UTC
    # Late on Thursday evening in Vietnam is already Thursday there, whatever the UTC date says.
    assert working_days.deadline_after(local(2026, 2, 12, 23), 1, calendar=CALENDAR) == dt.datetime(
        2026, 2, 14, tzinfo=ICT
    )
    assert working_days.extend_deadline(due, 3, calendar=CALENDAR) == dt.datetime(2026, 2, 27, tzinfo=ICT)
    assert working_days.extend_deadline(due, 0, calendar=CALENDAR) == due
    with pytest.raises(ValueError, match="aware"):
        working_days.local_date(dt.datetime(2026, 1, 1))


# --- the state machine ------------------------------------------------------------------------------------------


def test_the_happy_path_and_who_may_take_each_step() -> None:
    steps = [
        (Status.SUBMITTED, Action.ACCEPT, STAFF, Status.ACCEPTED),
        (Status.ACCEPTED, Action.ASSIGN, STAFF, Status.ASSIGNED),
        (Status.ASSIGNED, Action.START, STAFF, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Action.RESOLVE, STAFF, Status.RESOLVED),
        (Status.RESOLVED, Action.RATE, REPORTER, Status.CLOSED),
    ]
    for source, action, actor, target in steps:
        decision = decide(source, action, Context(actor, NOW, note="ghi chú", resolved_at=NOW))
        assert decision.target == target
    resolved = decide(Status.IN_PROGRESS, Action.RESOLVE, Context(STAFF, NOW, note="Đã xử lý"))
    assert resolved.events == ("feedback.resolved",)
    assert resolved.clock == "stop"
    assert not decide(Status.ACCEPTED, Action.ASSIGN, Context(STAFF, NOW)).public


@pytest.mark.parametrize(
    ("actor", "action"),
    [
        (REPORTER, Action.ACCEPT),
        (Actor.official("receiver"), Action.ACCEPT),
        (Actor.official(HANDLER, acts_for_agency=False), Action.ACCEPT),
        (Actor.citizen(is_owner=False), Action.RATE),
        (STAFF, Action.RATE),
        (STAFF, Action.ESCALATE),
    ],
)
def test_the_wrong_actor_is_forbidden(actor: Actor, action: Action) -> None:
    with pytest.raises(Forbidden):
        decide(Status.SUBMITTED, action, Context(actor, NOW, note="x"))


def test_an_illegal_transition_is_409_with_the_status_and_what_is_allowed() -> None:
    with pytest.raises(Conflict) as caught:
        decide(Status.RESOLVED, Action.ACCEPT, Context(STAFF, NOW, resolved_at=NOW))
    assert caught.value.code == "feedback.invalid_transition"
    assert caught.value.extra == {"report_status": "resolved", "allowed_actions": []}
    with pytest.raises(Conflict) as refused:
        decide(Status.CLOSED, Action.RESOLVE, Context(STAFF, NOW, note="x"))
    assert refused.value.extra["report_status"] == "closed"
    assert allowed_actions(Status.SUBMITTED, Context(STAFF, NOW)) == ["accept", "refuse", "transfer", "merge"]


def test_refusals_answers_and_requests_need_a_note() -> None:
    for source, action in [
        (Status.SUBMITTED, Action.REFUSE),
        (Status.IN_PROGRESS, Action.RESOLVE),
        (Status.ACCEPTED, Action.REQUEST_SUPPLEMENT),
        (Status.ACCEPTED, Action.TRANSFER),
    ]:
        with pytest.raises(Unprocessable):
            decide(source, action, Context(STAFF, NOW, note="  "))


def test_the_reopen_window_is_ten_days_from_the_answer() -> None:
    resolved_at = NOW
    inside = Context(REPORTER, resolved_at + REOPEN_WINDOW, note="Vẫn chưa sửa", resolved_at=resolved_at)
    assert decide(Status.RESOLVED, Action.REOPEN, inside).target == Status.ACCEPTED
    late = Context(
        REPORTER, resolved_at + REOPEN_WINDOW + dt.timedelta(seconds=1), note="x", resolved_at=resolved_at
    )
    with pytest.raises(Conflict) as caught:
        decide(Status.RESOLVED, Action.REOPEN, late)
    assert caught.value.code == "feedback.reopen_window_closed"
    assert caught.value.extra["allowed_actions"] == ["rate"]
    # The system closes only once the window has passed.
    with pytest.raises(Conflict):
        decide(Status.RESOLVED, Action.CLOSE, Context(Actor.system(), inside.now, resolved_at=resolved_at))
    closed = decide(Status.RESOLVED, Action.CLOSE, Context(Actor.system(), late.now, resolved_at=resolved_at))
    assert closed.target == Status.CLOSED


def test_supplementation_returns_where_it_came_from_and_escalation_to_the_queue() -> None:
    asked = decide(Status.IN_PROGRESS, Action.REQUEST_SUPPLEMENT, Context(STAFF, NOW, note="Ảnh rõ hơn"))
    assert (asked.target, asked.resume_status, asked.clock) == (
        Status.SUPPLEMENT_REQUESTED,
        Status.IN_PROGRESS,
        "pause",
    )
    back = decide(
        Status.SUPPLEMENT_REQUESTED,
        Action.SUPPLEMENT,
        Context(REPORTER, NOW, note="Ảnh đây", resume_status=Status.IN_PROGRESS),
    )
    assert back.target == Status.IN_PROGRESS
    system = Actor.system()
    assert decide(Status.SUBMITTED, Action.ESCALATE, Context(system, NOW)).target == Status.SUBMITTED
    assert decide(Status.IN_PROGRESS, Action.ESCALATE, Context(system, NOW)).target == Status.ACCEPTED
    with pytest.raises(Conflict):
        decide(Status.SUPPLEMENT_REQUESTED, Action.ESCALATE, Context(system, NOW))


def test_deadlines_follow_the_steps_across_tet() -> None:
    received = local(2026, 2, 12)
    start = initial_deadlines(received, 15, calendar=CALENDAR)
    assert start.stage_due_at == dt.datetime(2026, 2, 24, tzinfo=ICT)  # accept or refuse within 2 days
    assert start.due_at == dt.datetime(2026, 3, 13, tzinfo=ICT)  # 15 working days: the 12th is the last
    accepted = deadlines("accept", start, now=received, sla_days=15, calendar=CALENDAR)
    assert accepted.stage_due_at == accepted.due_at
    paused = deadlines("pause", accepted, now=local(2026, 2, 13), sla_days=15, calendar=CALENDAR)
    assert paused.stage_due_at is None
    # Asked on Friday 13, answered Wednesday 25: 3 working days waited (23, 24, 25).
    resumed = deadlines("resume", paused, now=local(2026, 2, 25), sla_days=15, calendar=CALENDAR)
    assert resumed.due_at == dt.datetime(2026, 3, 18, tzinfo=ICT)
    assert resumed.paused_at is None
    moved = deadlines("transfer", resumed, now=local(2026, 3, 2), sla_days=15, calendar=CALENDAR)
    assert moved.due_at == dt.datetime(2026, 3, 24, tzinfo=ICT)
    assert moved.stage_due_at == dt.datetime(2026, 3, 5, tzinfo=ICT)
    escalated = deadlines("escalate", moved, now=local(2026, 3, 6), sla_days=15, calendar=CALENDAR)
    assert (escalated.due_at, escalated.stage_due_at) == (moved.due_at, dt.datetime(2026, 3, 11, tzinfo=ICT))
    assert deadlines(None, moved, now=NOW, sla_days=15, calendar=CALENDAR) == moved
    assert deadlines("stop", moved, now=NOW, sla_days=15, calendar=CALENDAR) == Deadlines(
        moved.due_at, None, None
    )


def test_the_duplicate_radius_in_metres() -> None:
    lat, lon = 21.045, 105.97625
    for north, east, expected in [(49, 0, 49), (0, 49, 49), (0, 51, 51), (-35, 35, 49.5)]:
        other = offset(lat, lon, north_m=north, east_m=east)
        assert distance_m(lat, lon, *other) == pytest.approx(expected, abs=0.1)
    assert distance_m(lat, lon, *offset(lat, lon, east_m=49)) <= DUPLICATE_RADIUS_M
    assert distance_m(lat, lon, *offset(lat, lon, east_m=51)) > DUPLICATE_RADIUS_M
