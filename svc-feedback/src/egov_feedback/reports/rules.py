"""The report state machine as a table, and the deadlines each step sets. Pure: no I/O; the clock and the working
calendar are passed in.

:func:`decide` takes the report's status, the action and a :class:`Context` (who acts, what they are to the
report, now), and returns a :class:`Decision` (target status, what happens to the deadlines, which events) or
raises: 403 for the wrong actor, 409 for the wrong status (with ``report_status`` and ``allowed_actions``), 422
for a missing reason. The service loads the report, computes the actor, calls it, and writes the new state,
the history row and the outbox events in one unit of work.

Lifecycle (DIGIT's grievance flow with Decision 766's deadlines):

- ``submitted``: received and routed automatically to an agency; it accepts or refuses within 2 working days.
- ``accepted`` → ``assigned`` (a handler) → ``in_progress`` → ``resolved`` (a public answer) → ``closed``
  (rated 1–5 by the reporter, or by the system once the reopen window has passed).
- ``refused`` (out of scope, abusive, duplicate: with a reason) and ``duplicate`` (merged into another report)
  end a report. ``transfer`` sends it to another agency, back to ``submitted`` with fresh deadlines ("answer
  within 15 days of transfer"). ``request_supplement`` waits for the reporter; the answer deadline moves by
  the working days spent waiting. ``reopen`` (reporter, within 10 days of resolution) goes back to ``accepted``.
- ``escalate`` (system): a stage past its deadline goes to the supervising agency, back to its queue.

Choices the domain notes leave open:

- Refusal is possible from ``submitted`` and ``accepted`` (an agency may find out late that a report is not
  theirs); the 2-day limit is the deadline of ``submitted``, watched by escalation, not a lock.
- The reopen window counts calendar days (DIGIT's rule), from the resolution, inclusive of the last instant.
- A rating closes the report; a reporter who is unhappy reopens instead (a low rating still counts against
  the satisfaction index).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import ClassVar, Literal

from egov_feedback.working_days import deadline_after, extend_deadline, local_date, working_days_between
from egov_shared import workflow
from egov_shared.calendar import WorkingCalendar
from egov_shared.contracts.feedback import (
    FeedbackEscalated,
    FeedbackResolved,
    FeedbackSupplemented,
    FeedbackTransferred,
)
from egov_shared.problems import Conflict, Forbidden, Unprocessable


class Status(enum.StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REFUSED = "refused"
    DUPLICATE = "duplicate"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS: dict[Status, str] = {
    Status.SUBMITTED: "Đã tiếp nhận, chờ cơ quan xác nhận",
    Status.ACCEPTED: "Cơ quan đã nhận xử lý",
    Status.ASSIGNED: "Đã giao cán bộ xử lý",
    Status.IN_PROGRESS: "Đang xử lý",
    Status.SUPPLEMENT_REQUESTED: "Chờ người phản ánh bổ sung thông tin",
    Status.RESOLVED: "Đã có kết quả trả lời",
    Status.CLOSED: "Đã đóng",
    Status.REFUSED: "Từ chối tiếp nhận",
    Status.DUPLICATE: "Trùng với phản ánh khác",
}

# Open: someone still has to act. The duplicate search and the escalation job look only at these.
OPEN = frozenset(
    {Status.SUBMITTED, Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.SUPPLEMENT_REQUESTED}
)
# Handled: the agency has given its answer (statistics: ">95% handled").
HANDLED = frozenset({Status.RESOLVED, Status.CLOSED, Status.REFUSED, Status.DUPLICATE})
# What the public feed shows: answered reports.
PUBLISHED = frozenset({Status.RESOLVED, Status.CLOSED})
# Escalation moves these; a report waiting for its reporter is not the agency's delay.
WATCHED = frozenset({Status.SUBMITTED, Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS})


class Action(enum.StrEnum):
    ACCEPT = "accept"
    REFUSE = "refuse"
    ASSIGN = "assign"  # also reassigns
    START = "start"
    TRANSFER = "transfer"
    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT = "supplement"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    RATE = "rate"
    MERGE = "merge"
    CLOSE = "close"  # system: the reopen window passed without a rating
    ESCALATE = "escalate"  # system: the stage deadline passed


HANDLER = "feedback_handler"  # official role: every staff action on reports of their agency and below
MODERATOR = "feedback_moderator"  # official role: edits titles and descriptions (handlers may too)
REPORTER = "reporter"  # the citizen who sent the report
SYSTEM = workflow.SYSTEM  # the service itself, reacting to an event or a timer

REFUSE_WITHIN_DAYS = 2  # working days to accept or refuse (Decision 766)
ESCALATION_GRACE_DAYS = 2  # working days the supervising agency gets before escalating again
REOPEN_WINDOW = dt.timedelta(days=10)
RefusalKind = Literal["out_of_scope", "abusive", "duplicate"]
REFUSAL_KINDS: tuple[str, ...] = ("out_of_scope", "abusive", "duplicate")


class Target(enum.Enum):
    RESUME = "resume"  # back to where supplementation interrupted
    ESCALATED = "escalated"  # the supervising agency's queue


Transition = workflow.Transition[Action, Status, Status | Target]


def _t(
    action: Action, sources: set[Status], target: Status | Target, *who: str, reason: bool = False
) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(who), reason)


S = Status
WORKING = {S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS}
TRANSITIONS = (
    _t(Action.ACCEPT, {S.SUBMITTED}, S.ACCEPTED, HANDLER),
    _t(Action.REFUSE, {S.SUBMITTED, S.ACCEPTED}, S.REFUSED, HANDLER, reason=True),
    _t(Action.ASSIGN, WORKING, S.ASSIGNED, HANDLER),
    _t(Action.START, {S.ASSIGNED}, S.IN_PROGRESS, HANDLER),
    _t(Action.TRANSFER, {S.SUBMITTED, *WORKING}, S.SUBMITTED, HANDLER, reason=True),
    _t(Action.REQUEST_SUPPLEMENT, WORKING, S.SUPPLEMENT_REQUESTED, HANDLER, reason=True),
    _t(Action.SUPPLEMENT, {S.SUPPLEMENT_REQUESTED}, Target.RESUME, REPORTER, reason=True),
    _t(Action.RESOLVE, WORKING, S.RESOLVED, HANDLER, reason=True),
    _t(Action.REOPEN, {S.RESOLVED}, S.ACCEPTED, REPORTER, reason=True),
    _t(Action.RATE, {S.RESOLVED}, S.CLOSED, REPORTER),
    _t(Action.MERGE, set(OPEN), S.DUPLICATE, HANDLER),
    _t(Action.CLOSE, {S.RESOLVED}, S.CLOSED, SYSTEM),
    _t(Action.ESCALATE, set(WATCHED), Target.ESCALATED, SYSTEM),
)

# What happens to the deadlines (see :func:`deadlines`).
Clock = Literal["accept", "transfer", "reopen", "pause", "resume", "stop", "escalate"]


class Actor(workflow.Actor):
    """Who acts, as the caller established it from the token and the report (the owner is its reporter)."""

    owner_role: ClassVar[str] = REPORTER


@dataclass(frozen=True)
class Context:
    actor: Actor
    now: dt.datetime
    note: str | None = None
    resume_status: Status | None = None
    resolved_at: dt.datetime | None = None


@dataclass(frozen=True)
class Decision:
    action: Action
    source: Status
    target: Status
    # To store on the report: where supplementation returns to (None clears it).
    resume_status: Status | None
    clock: Clock | None
    events: tuple[str, ...]
    # The history row is shown to the reporter and to Open311 (staff-only steps are not).
    public: bool


def reopen_deadline(resolved_at: dt.datetime) -> dt.datetime:
    return resolved_at + REOPEN_WINDOW


def decide(status: str, action: str, context: Context) -> Decision:
    """What ``action`` does to a report in ``status``, or the 403/409/422 that refuses it."""
    source, act, actor = Status(status), Action(action), context.actor
    rows = [row for row in TRANSITIONS if row.action == act]
    if not any(actor.may(row.who) for row in rows):
        raise Forbidden(
            f"Người dùng không được thực hiện '{act}' trên phản ánh này.", code="feedback.action_not_allowed"
        )
    row = next((row for row in rows if source in row.sources), None)
    if row is None:
        raise _conflict(act, source, context, why="")
    if not _condition_holds(row, context):
        raise _conflict(
            act,
            source,
            context,
            why=" (đã quá 10 ngày kể từ khi có kết quả)",
            code="feedback.reopen_window_closed",
        )
    if row.reason_required and not (context.note and context.note.strip()):
        raise Unprocessable(
            f"Cần nêu nội dung khi '{act}'.",
            code="feedback.note_required",
            errors=[{"field": "note", "message": "Bắt buộc."}],
        )
    target = _target(row, source, context)
    events: tuple[str, ...] = ()
    if act == Action.RESOLVE:
        events = (FeedbackResolved.event_type,)
    elif act == Action.ESCALATE:
        events = (FeedbackEscalated.event_type,)
    elif act == Action.TRANSFER:
        events = (FeedbackTransferred.event_type,)
    elif act == Action.SUPPLEMENT:
        events = (FeedbackSupplemented.event_type,)
    return Decision(
        action=act,
        source=source,
        target=target,
        resume_status=source if target == Status.SUPPLEMENT_REQUESTED else None,
        clock=_clock(act),
        events=events,
        public=act not in (Action.ASSIGN, Action.ESCALATE),
    )


def allowed_actions(status: str, context: Context) -> list[str]:
    """The actions this actor could take on a report in ``status`` now (the buttons to show)."""
    source = Status(status)
    return [
        row.action.value
        for row in TRANSITIONS
        if source in row.sources and context.actor.may(row.who) and _condition_holds(row, context)
    ]


def _conflict(
    act: Action, source: Status, context: Context, *, why: str, code: str | None = None
) -> Conflict:
    allowed = allowed_actions(source, context)
    return Conflict(
        f"Không thể '{act}' khi phản ánh đang ở trạng thái '{source}' ({source.label}){why}. "
        f"Có thể: {', '.join(allowed) or 'không có'}.",
        code=code or "feedback.invalid_transition",
        # Not "status": in a problem body that member is the HTTP status (RFC 9457 §3.1.3).
        extra={"report_status": source.value, "allowed_actions": allowed},
    )


def _condition_holds(row: Transition, context: Context) -> bool:
    if row.action == Action.REOPEN:
        return context.resolved_at is not None and context.now <= reopen_deadline(context.resolved_at)
    if row.action == Action.CLOSE:
        return context.resolved_at is not None and context.now > reopen_deadline(context.resolved_at)
    return True


def _target(row: Transition, source: Status, context: Context) -> Status:
    if row.target is Target.RESUME:
        if context.resume_status not in WORKING:
            raise ValueError("a report waiting for supplementation needs a working resume_status")
        return context.resume_status
    if row.target is Target.ESCALATED:
        # The supervising agency decides who handles it: back to its queue, not to the old handler.
        return Status.SUBMITTED if source == Status.SUBMITTED else Status.ACCEPTED
    return row.target


_CLOCKS: dict[Action, Clock] = {
    Action.ACCEPT: "accept",
    Action.TRANSFER: "transfer",
    Action.REOPEN: "reopen",
    Action.REQUEST_SUPPLEMENT: "pause",
    Action.SUPPLEMENT: "resume",
    Action.RESOLVE: "stop",
    Action.REFUSE: "stop",
    Action.MERGE: "stop",
    Action.ESCALATE: "escalate",
}


def _clock(action: Action) -> Clock | None:
    return _CLOCKS.get(action)


# --- deadlines -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadlines:
    """A report's answer deadline, the deadline of its current stage, and when its clock was paused."""

    due_at: dt.datetime
    stage_due_at: dt.datetime | None
    paused_at: dt.datetime | None


def initial_deadlines(received_at: dt.datetime, sla_days: int, *, calendar: WorkingCalendar) -> Deadlines:
    """At receipt: answer within the category's days; accept or refuse within 2."""
    return Deadlines(
        due_at=deadline_after(received_at, sla_days, calendar=calendar),
        stage_due_at=deadline_after(received_at, REFUSE_WITHIN_DAYS, calendar=calendar),
        paused_at=None,
    )


def deadlines(
    clock: Clock | None,
    current: Deadlines,
    *,
    now: dt.datetime,
    sla_days: int,
    calendar: WorkingCalendar,
) -> Deadlines:
    """The deadlines after a step whose :attr:`Decision.clock` is ``clock``, on ``calendar``'s working days."""
    if clock is None:
        return current
    if clock == "accept":
        return Deadlines(current.due_at, current.due_at, None)
    if clock == "transfer":
        # A new receipt for the new agency: "answer within 15 days of transfer", accept or refuse within 2.
        return Deadlines(
            deadline_after(now, sla_days, calendar=calendar),
            deadline_after(now, REFUSE_WITHIN_DAYS, calendar=calendar),
            None,
        )
    if clock == "reopen":
        # The agency owes a new answer, in the category's time again.
        due = deadline_after(now, sla_days, calendar=calendar)
        return Deadlines(due, due, None)
    if clock == "pause":
        return Deadlines(current.due_at, None, now)
    if clock == "resume":
        paused = current.paused_at or now
        waited = working_days_between(local_date(paused), local_date(now), calendar=calendar)
        due = extend_deadline(current.due_at, waited, calendar=calendar)
        return Deadlines(due, due, None)
    if clock == "stop":
        return Deadlines(current.due_at, None, None)
    # escalate: the supervising agency gets a short grace before the next level.
    return Deadlines(current.due_at, deadline_after(now, ESCALATION_GRACE_DAYS, calendar=calendar), None)
