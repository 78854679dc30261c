"""The dossier state machine as a table: which action moves a dossier from which status, and who may take it.

Statuses are the national portal's codes (``TrangThaiHoSo`` 1–10), so no mapping is needed at the edge.
:func:`decide` is pure: the caller loads the dossier, computes who the actor is to it (their agency or one
above it? the applicant?), calls it, then writes the history row, the new status and the outbox events the
:class:`Decision` names, in one unit of work. Guard errors carry their HTTP meaning: 403 for the wrong actor,
409 for the wrong status (with ``dossier_status`` and ``allowed_actions``, what this actor could do now), 422
for a missing reason.

Choices the domain notes leave open:

- Waiting for a fee (6) pauses the deadline clock like supplementation (5) does: the dossier waits on the
  applicant, not on the agency. A dossier that waits for its submission fee right after reception has not
  started the clock yet; it starts when the fee is paid and the dossier enters 2.
- Refunds are automatic only where the domain says so: a paid dossier refused at reception, or withdrawn before
  processing (still at 1 or 2, or waiting in 5 or 6 with 2 as the status to return to). Withdrawn once the
  specialist has it, or stopped, there is no automatic refund: the service was partly rendered and the domain
  notes grant none, so a finance officer decides in svc-payment. A payment that lands after the
  dossier was refused, withdrawn or stopped (the event raced the action) was never owed and is refunded.
- A payment that lands while the dossier is still at 1 (paid with the submission, not yet received) changes no
  status: the caller records it, and reception then moves the dossier straight to 2.
- ``admin``, ``signer`` and ``finance`` take no dossier action: administration, signing (svc-document) and money
  (svc-payment) happen elsewhere, and keeping them out keeps duties separate.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Literal

from egov_shared import workflow
from egov_shared.contracts.dossier import DossierCompleted, DossierStatusChanged
from egov_shared.problems import Conflict, Forbidden, Unprocessable


class Status(enum.IntEnum):
    NEW = 1
    RECEIVED = 2
    REFUSED = 3
    PROCESSING = 4
    SUPPLEMENT_REQUESTED = 5
    FEE_REQUESTED = 6
    WITHDRAWN = 7
    STOPPED = 8
    DONE = 9
    RETURNED = 10

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS: dict[Status, str] = {
    Status.NEW: "Mới đăng ký",
    Status.RECEIVED: "Được tiếp nhận",
    Status.REFUSED: "Không được tiếp nhận",
    Status.PROCESSING: "Đang xử lý",
    Status.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung giấy tờ",
    Status.FEE_REQUESTED: "Yêu cầu thực hiện nghĩa vụ tài chính",
    Status.WITHDRAWN: "Công dân yêu cầu rút hồ sơ",
    Status.STOPPED: "Dừng xử lý",
    Status.DONE: "Đã xử lý xong",
    Status.RETURNED: "Đã trả kết quả",
}

INITIAL = Status.NEW
# The dossier's status never changes again (a late payment is still recorded, and refunded).
TERMINAL = frozenset({Status.REFUSED, Status.WITHDRAWN, Status.STOPPED, Status.RETURNED})
# Processing is over: the moment a dossier first enters one of these ends it for the on-time index (Decision 766).
PROCESSING_ENDED = TERMINAL | {Status.DONE}
# Received and not yet done: the appointment date matters (the overdue and "due soon" queues).
ACTIVE_STATUSES = frozenset(
    {Status.RECEIVED, Status.PROCESSING, Status.SUPPLEMENT_REQUESTED, Status.FEE_REQUESTED}
)


def is_terminal(status: int) -> bool:
    return status in TERMINAL


def processing_ended(status: int) -> bool:
    return status in PROCESSING_ENDED


class Action(enum.StrEnum):
    RECEIVE = "receive"
    REFUSE = "refuse"
    ASSIGN = "assign"  # to a specialist or unit; from 4 it forwards to another one
    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT = "supplement"
    REQUEST_FEE = "request_fee"
    FEE_PAID = "fee_paid"  # the system, on payment.fee_paid
    APPROVE_AND_COMPLETE = "approve_and_complete"
    STOP = "stop"
    WITHDRAW = "withdraw"
    RETURN_RESULT = "return_result"


# Official roles (token claim ``roles``), and the two actors that are not officials.
RECEIVER, PROCESSOR, APPROVER = "receiver", "processor", "approver"
APPLICANT = "applicant"  # the citizen whose dossier it is
SYSTEM = workflow.SYSTEM  # the service itself, reacting to an event or a timer


class Target(enum.Enum):
    """A target the table cannot name: it depends on the dossier."""

    RESUME = "resume"  # back to the status the wait interrupted (``Context.resume_status``)
    SAME = "same"  # no move: only recorded


Transition = workflow.Transition[Action, Status, Status | Target]


def _t(
    action: Action, sources: set[Status], target: Status | Target, *who: str, reason: bool = False
) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(who), reason)


S = Status
# One row per (action, source status): no two rows share both, so a step is found by its action and source.
TRANSITIONS = (
    # To 6 instead of 2 while a fee due at submission is unpaid (see decide).
    _t(Action.RECEIVE, {S.NEW}, S.RECEIVED, RECEIVER),
    _t(Action.REFUSE, {S.NEW}, S.REFUSED, RECEIVER, reason=True),
    _t(Action.ASSIGN, {S.RECEIVED}, S.PROCESSING, RECEIVER, APPROVER),
    _t(Action.ASSIGN, {S.PROCESSING}, S.PROCESSING, PROCESSOR, APPROVER),
    _t(Action.REQUEST_SUPPLEMENT, {S.RECEIVED}, S.SUPPLEMENT_REQUESTED, RECEIVER, reason=True),
    _t(Action.REQUEST_SUPPLEMENT, {S.PROCESSING}, S.SUPPLEMENT_REQUESTED, PROCESSOR, APPROVER, reason=True),
    _t(Action.SUPPLEMENT, {S.SUPPLEMENT_REQUESTED}, Target.RESUME, APPLICANT),
    # Only when the procedure's fees are due before the result, are not zero and are not paid yet.
    _t(Action.REQUEST_FEE, {S.PROCESSING}, S.FEE_REQUESTED, PROCESSOR),
    _t(Action.FEE_PAID, {S.FEE_REQUESTED}, Target.RESUME, SYSTEM),
    # Paid with the submission, before reception: recorded; paid after the dossier closed: refunded.
    _t(Action.FEE_PAID, {S.NEW, S.REFUSED, S.WITHDRAWN, S.STOPPED}, Target.SAME, SYSTEM),
    _t(Action.APPROVE_AND_COMPLETE, {S.PROCESSING}, S.DONE, APPROVER),
    _t(
        Action.STOP,
        {S.RECEIVED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.FEE_REQUESTED},
        S.STOPPED,
        APPROVER,
        reason=True,
    ),
    _t(
        Action.WITHDRAW,
        {S.NEW, S.RECEIVED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.FEE_REQUESTED},
        S.WITHDRAWN,
        APPLICANT,
    ),
    _t(Action.RETURN_RESULT, {S.DONE}, S.RETURNED, RECEIVER),
)

FeeStage = Literal["submission", "result"]
Clock = Literal["start", "pause", "resume", "stop"]
# More supplementation requests than this make the dossier late whatever its dates (Decision 766).
MAX_SUPPLEMENTATIONS_ON_TIME = 1


class Actor(workflow.Actor):
    """Who acts, as the caller established it from the token and the dossier (the owner is its applicant)."""

    owner_role: ClassVar[str] = APPLICANT


@dataclass(frozen=True)
class Context:
    """What a decision depends on besides the status: the actor, the dossier's fees and waits, the note."""

    actor: Actor
    # When the procedure's fees are due; ``fee_total_vnd`` is their sum (frozen on the dossier at submission).
    fee_stage: FeeStage | None = None
    fee_total_vnd: int = 0
    # The fees due at that stage have been paid.
    fee_paid: bool = False
    # While the dossier waits in 5 or 6: the status the wait ends in (stored from the previous Decision).
    resume_status: Status | None = None
    # Supplementation requests made so far.
    supplementation_requests: int = 0
    # The actor's note; the reason where the action requires one.
    note: str | None = None

    @property
    def fees_due(self) -> bool:
        return self.fee_stage is not None and self.fee_total_vnd > 0


@dataclass(frozen=True)
class Decision:
    """What an allowed action does; the caller applies it, records the history row and publishes ``events``."""

    action: Action
    source: Status
    target: Status
    # To store on the dossier: where the wait it now enters ends (None clears it).
    resume_status: Status | None
    # What happens to the deadline clock.
    clock: Clock | None
    # The dossier now waits for the fees of this stage (it entered 6).
    fee_due: FeeStage | None
    # A fee already paid must be given back (DossierStatusChanged.refund_required).
    refund_required: bool
    # Supplementation requests counting this one.
    supplementation_requests: int
    # Event types to publish, from egov_shared.contracts.dossier.
    events: tuple[str, ...]

    @property
    def late_by_supplementation(self) -> bool:
        return self.supplementation_requests > MAX_SUPPLEMENTATIONS_ON_TIME


def decide(status: int, action: str, context: Context) -> Decision:
    """What ``action`` does to a dossier in ``status``, or the 403/409/422 that refuses it."""
    source, act, actor = Status(status), Action(action), context.actor
    rows = [row for row in TRANSITIONS if row.action == act]
    if not any(actor.may(row.who) for row in rows):
        raise _forbidden(act)
    row = next((row for row in rows if source in row.sources), None)
    if row is None or not _condition_holds(row, context):
        allowed = allowed_actions(source, context)
        why = ""
        if row is not None:
            why = (
                " (phí, lệ phí phải nộp trước khi trả kết quả chưa được nộp)"
                if act == Action.APPROVE_AND_COMPLETE
                else " (không có phí, lệ phí nào phải nộp trước khi trả kết quả)"
            )
        raise Conflict(
            f"Không thể '{act}' khi hồ sơ đang ở trạng thái {source.value} ({source.label}){why}. "
            f"Có thể: {', '.join(allowed) or 'không có'}.",
            code="dossier.invalid_transition",
            # Not "status": in a problem body that member is the HTTP status (RFC 9457 §3.1.3).
            extra={"dossier_status": source.value, "allowed_actions": allowed},
        )
    if not actor.may(row.who):
        raise _forbidden(act)
    if row.reason_required and not (context.note and context.note.strip()):
        raise Unprocessable(
            f"Cần nêu lý do khi '{act}'.",
            code="dossier.reason_required",
            errors=[{"field": "note", "message": "Cần nêu lý do."}],
        )

    target = _target(row, source, context)
    resume = _resume_status(source, target)
    refund = _refund_required(act, source, target, context)
    events: tuple[str, ...] = ()
    if target != source or act != Action.FEE_PAID or refund:
        events = (DossierStatusChanged.event_type,)
    if target == Status.DONE:
        events += (DossierCompleted.event_type,)
    return Decision(
        action=act,
        source=source,
        target=target,
        resume_status=resume,
        clock=_clock(source, context.resume_status, target, resume),
        fee_due=_fee_stage_of_wait(resume) if target == Status.FEE_REQUESTED else None,
        refund_required=refund,
        supplementation_requests=context.supplementation_requests
        + (1 if act == Action.REQUEST_SUPPLEMENT else 0),
        events=events,
    )


def allowed_actions(status: int, context: Context) -> list[str]:
    """The actions this actor could take on a dossier in ``status`` now (the buttons to show)."""
    source = Status(status)
    return [
        row.action.value
        for row in TRANSITIONS
        if source in row.sources and context.actor.may(row.who) and _condition_holds(row, context)
    ]


def _forbidden(action: Action) -> Forbidden:
    return Forbidden(
        f"Người dùng không được thực hiện '{action}' trên hồ sơ này.", code="dossier.action_not_allowed"
    )


def _condition_holds(row: Transition, context: Context) -> bool:
    if row.action == Action.REQUEST_FEE:
        # Zero fees never enter 6; fees due at submission were asked for with the dossier.
        return context.fee_stage == "result" and context.fees_due and not context.fee_paid
    if row.action == Action.APPROVE_AND_COMPLETE:
        # No result while a fee due before it is unpaid: the specialist asks for it first (the dossier waits in 6).
        return not (context.fee_stage == "result" and context.fees_due and not context.fee_paid)
    return True


def _target(row: Transition, source: Status, context: Context) -> Status:
    if row.target is Target.SAME:
        return source
    if row.target is Target.RESUME:
        if context.resume_status not in (Status.RECEIVED, Status.PROCESSING):
            raise ValueError(f"a dossier waiting in {source} needs resume_status 2 or 4")
        return context.resume_status
    if row.action == Action.RECEIVE and context.fee_stage == "submission" and context.fees_due:
        return Status.RECEIVED if context.fee_paid else Status.FEE_REQUESTED
    return row.target


def _resume_status(source: Status, target: Status) -> Status | None:
    if target == Status.SUPPLEMENT_REQUESTED:
        return source
    if target == Status.FEE_REQUESTED:
        # Received but unpaid: the fee opens the way to 2; asked for by the specialist: back to 4.
        return Status.RECEIVED if source == Status.NEW else Status.PROCESSING
    return None


def _fee_stage_of_wait(resume_status: Status | None) -> FeeStage:
    return "submission" if resume_status == Status.RECEIVED else "result"


def _refund_required(action: Action, source: Status, target: Status, context: Context) -> bool:
    if action == Action.FEE_PAID:
        return target in TERMINAL
    if action in (Action.REFUSE, Action.WITHDRAW):
        return context.fee_paid and context.fees_due and _before_processing(source, context.resume_status)
    return False


def _before_processing(status: Status, resume_status: Status | None) -> bool:
    if status in (Status.SUPPLEMENT_REQUESTED, Status.FEE_REQUESTED):
        return resume_status == Status.RECEIVED
    return status in (Status.NEW, Status.RECEIVED)


def _clock_running(status: Status) -> bool:
    return status in (Status.RECEIVED, Status.PROCESSING)


def _clock_started(status: Status, resume_status: Status | None) -> bool:
    """Running, or paused by a wait: a fee wait right after reception comes before the clock starts."""
    if status == Status.FEE_REQUESTED:
        return resume_status == Status.PROCESSING
    return _clock_running(status) or status == Status.SUPPLEMENT_REQUESTED


def _clock(
    source: Status, resume_before: Status | None, target: Status, resume_after: Status | None
) -> Clock | None:
    started_before = _clock_started(source, resume_before)
    if target in PROCESSING_ENDED:
        return "stop" if started_before else None
    if not started_before:
        return "start" if _clock_started(target, resume_after) else None
    if _clock_running(source) and not _clock_running(target):
        return "pause"
    if not _clock_running(source) and _clock_running(target):
        return "resume"
    return None
