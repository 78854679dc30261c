"""The dossier state machine: every status × action × actor, then the fee, refund, clock and supplementation paths."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from egov_dossier.dossiers import rules
from egov_dossier.dossiers.rules import Actor, Context, Decision, FeeStage, Status
from egov_shared.problems import Conflict, Forbidden, Unprocessable

# (status, action) -> (target, who may take it), written out from the issue rather than read from the module.
# Targets assume the matrix context below: fees due before the result, unpaid, waits that return to 4.
ALLOWED: dict[tuple[int, str], tuple[int, frozenset[str]]] = {
    (1, "receive"): (2, frozenset({"receiver"})),
    (1, "refuse"): (3, frozenset({"receiver"})),
    (1, "withdraw"): (7, frozenset({"applicant"})),
    (1, "fee_paid"): (1, frozenset({"system"})),
    (2, "assign"): (4, frozenset({"receiver", "approver"})),
    (2, "request_supplement"): (5, frozenset({"receiver"})),
    (2, "stop"): (8, frozenset({"approver"})),
    (2, "withdraw"): (7, frozenset({"applicant"})),
    (3, "fee_paid"): (3, frozenset({"system"})),
    (4, "assign"): (4, frozenset({"processor", "approver"})),
    (4, "request_supplement"): (5, frozenset({"processor", "approver"})),
    (4, "request_fee"): (6, frozenset({"processor"})),
    (4, "approve_and_complete"): (9, frozenset({"approver"})),
    (4, "stop"): (8, frozenset({"approver"})),
    (4, "withdraw"): (7, frozenset({"applicant"})),
    (5, "supplement"): (4, frozenset({"applicant"})),
    (5, "stop"): (8, frozenset({"approver"})),
    (5, "withdraw"): (7, frozenset({"applicant"})),
    (6, "fee_paid"): (4, frozenset({"system"})),
    (6, "stop"): (8, frozenset({"approver"})),
    (6, "withdraw"): (7, frozenset({"applicant"})),
    (7, "fee_paid"): (7, frozenset({"system"})),
    (8, "fee_paid"): (8, frozenset({"system"})),
    (9, "return_result"): (10, frozenset({"receiver"})),
}
ACTIONS = [
    "receive",
    "refuse",
    "assign",
    "request_supplement",
    "supplement",
    "request_fee",
    "fee_paid",
    "approve_and_complete",
    "stop",
    "withdraw",
    "return_result",
]
# Each actor, and the entries of a "who" set it satisfies.
ACTORS: dict[str, tuple[Actor, frozenset[str]]] = {
    "receiver": (Actor.official("receiver"), frozenset({"receiver"})),
    "processor": (Actor.official("processor"), frozenset({"processor"})),
    "approver": (Actor.official("approver"), frozenset({"approver"})),
    "leader": (Actor.official("approver", "signer"), frozenset({"approver"})),
    "signer": (Actor.official("signer"), frozenset()),
    "finance": (Actor.official("finance"), frozenset()),
    "admin": (Actor.official("admin"), frozenset()),
    "official of another agency": (
        Actor.official("receiver", "processor", "approver", acts_for_agency=False),
        frozenset(),
    ),
    "applicant": (Actor.citizen(), frozenset({"applicant"})),
    "another citizen": (Actor.citizen(is_owner=False), frozenset()),
    "system": (Actor.system(), frozenset({"system"})),
}
REFUSED_FROM_9_AND_10 = ["stop", "withdraw"]


def matrix_context(status: int, actor: Actor, action: str | None = None) -> Context:
    """A dossier with a fee due before the result: unpaid when the specialist asks for it, paid by the time the
    leader approves (no result is issued unpaid; the unpaid case has its own test)."""
    waiting = status in (5, 6)
    return Context(
        actor,
        fee_stage="result",
        fee_total_vnd=50_000,
        fee_paid=action == "approve_and_complete",
        resume_status=Status.PROCESSING if waiting else None,
        note="Lý do",
    )


def expected_allowed(status: int, satisfies: frozenset[str], *, fee_paid: bool = False) -> list[str]:
    conditional = "request_fee" if fee_paid else "approve_and_complete"
    return sorted(
        action
        for (source, action), (_, who) in ALLOWED.items()
        if source == status and satisfies & who and action != conditional
    )


@pytest.mark.parametrize(
    ("status", "action", "actor_name"),
    [(status, action, name) for status in range(1, 11) for action in ACTIONS for name in ACTORS],
)
def test_every_step_is_allowed_or_refused(status: int, action: str, actor_name: str) -> None:
    actor, satisfies = ACTORS[actor_name]
    context = matrix_context(status, actor, action)
    step = ALLOWED.get((status, action))
    may_take_action = any(satisfies & who for (_, a), (_, who) in ALLOWED.items() if a == action)

    if not may_take_action or (step is not None and not satisfies & step[1]):
        with pytest.raises(Forbidden) as forbidden:
            rules.decide(status, action, context)
        assert forbidden.value.status == 403
        assert forbidden.value.code == "dossier.action_not_allowed"
    elif step is None:
        with pytest.raises(Conflict) as conflict:
            rules.decide(status, action, context)
        assert conflict.value.status == 409
        assert conflict.value.code == "dossier.invalid_transition"
        assert conflict.value.extra["dossier_status"] == status
        assert sorted(conflict.value.extra["allowed_actions"]) == expected_allowed(
            status, satisfies, fee_paid=context.fee_paid
        )
    else:
        decision = rules.decide(status, action, context)
        assert (decision.source, decision.target) == (status, step[0])


@pytest.mark.parametrize(("status", "actor_name"), [(s, name) for s in range(1, 11) for name in ACTORS])
def test_allowed_actions_are_the_buttons_of_this_actor(status: int, actor_name: str) -> None:
    actor, satisfies = ACTORS[actor_name]
    assert sorted(rules.allowed_actions(status, matrix_context(status, actor))) == expected_allowed(
        status, satisfies
    )


def test_no_result_while_a_fee_due_before_it_is_unpaid() -> None:
    unpaid = Context(Actor.official("approver"), fee_stage="result", fee_total_vnd=50_000)
    with pytest.raises(Conflict) as conflict:
        rules.decide(Status.PROCESSING, "approve_and_complete", unpaid)
    assert "chưa được nộp" in str(conflict.value.detail)
    paid = Context(Actor.official("approver"), fee_stage="result", fee_total_vnd=50_000, fee_paid=True)
    assert rules.decide(Status.PROCESSING, "approve_and_complete", paid).target == Status.DONE


def test_statuses_are_the_national_codes_with_their_names() -> None:
    assert [s.value for s in Status] == list(range(1, 11))
    assert [s.label for s in Status] == [
        "Mới đăng ký",
        "Được tiếp nhận",
        "Không được tiếp nhận",
        "Đang xử lý",
        "Yêu cầu bổ sung giấy tờ",
        "Yêu cầu thực hiện nghĩa vụ tài chính",
        "Công dân yêu cầu rút hồ sơ",
        "Dừng xử lý",
        "Đã xử lý xong",
        "Đã trả kết quả",
    ]
    assert rules.INITIAL == Status.NEW


def test_terminal_statuses_never_change_and_9_ends_processing() -> None:
    assert [s for s in range(1, 11) if rules.is_terminal(s)] == [3, 7, 8, 10]
    assert [s for s in range(1, 11) if rules.processing_ended(s)] == [3, 7, 8, 9, 10]
    # Against the expectation table, not the module's: from a terminal status nothing moves.
    for (source, _), (target, _) in ALLOWED.items():
        if rules.is_terminal(source):
            assert target == source


@pytest.mark.parametrize("status", [9, 10])
@pytest.mark.parametrize(
    ("action", "actor"), [("withdraw", Actor.citizen()), ("stop", Actor.official("approver"))]
)
def test_a_dossier_in_9_or_10_cannot_be_stopped_or_withdrawn(status: int, action: str, actor: Actor) -> None:
    with pytest.raises(Conflict) as conflict:
        rules.decide(status, action, Context(actor, note="Lý do"))
    assert conflict.value.extra == {"dossier_status": status, "allowed_actions": []}


def test_the_conflict_names_the_status_and_what_the_actor_can_do() -> None:
    with pytest.raises(Conflict) as conflict:
        rules.decide(2, "receive", Context(Actor.official("receiver")))
    body = conflict.value.body()
    # "status" stays the HTTP status, as RFC 9457 defines it; the dossier's has its own member.
    assert (body["status"], body["dossier_status"]) == (409, 2)
    assert body["code"] == "dossier.invalid_transition"
    assert body["allowed_actions"] == ["assign", "request_supplement"]
    assert "Được tiếp nhận" in (conflict.value.detail or "")


@dataclass
class FakeDossier:
    """Just enough of a dossier to walk it through several decisions the way the service will."""

    fee_stage: FeeStage | None = None
    fee_total_vnd: int = 0
    status: Status = Status.NEW
    fee_paid: bool = False
    resume_status: Status | None = None
    supplementation_requests: int = 0
    history: list[Decision] = field(default_factory=list)

    def act(self, action: str, actor: Actor, note: str | None = "Lý do") -> Decision:
        context = Context(
            actor,
            fee_stage=self.fee_stage,
            fee_total_vnd=self.fee_total_vnd,
            fee_paid=self.fee_paid,
            resume_status=self.resume_status,
            supplementation_requests=self.supplementation_requests,
            note=note,
        )
        decision = rules.decide(self.status, action, context)
        self.status, self.resume_status = decision.target, decision.resume_status
        self.supplementation_requests = decision.supplementation_requests
        self.fee_paid = self.fee_paid or action == "fee_paid"
        self.history.append(decision)
        return decision

    def context(self, actor: Actor) -> Context:
        return Context(
            actor,
            fee_stage=self.fee_stage,
            fee_total_vnd=self.fee_total_vnd,
            fee_paid=self.fee_paid,
            resume_status=self.resume_status,
        )


RECEIVER = Actor.official("receiver")
PROCESSOR = Actor.official("processor")
APPROVER = Actor.official("approver")
APPLICANT = Actor.citizen()
SYSTEM = Actor.system()
STATUS_CHANGED, COMPLETED = "dossier.status_changed", "dossier.completed"


@pytest.mark.parametrize(
    ("fee_stage", "fee_total_vnd"), [(None, 0), ("submission", 0), ("result", 0), ("submission", None)]
)
def test_dossiers_whose_fees_are_all_zero_never_enter_6(
    fee_stage: FeeStage | None, fee_total_vnd: int | None
) -> None:
    # ("submission", None): a fee stage with no amount at all is zero fees too.
    dossier = FakeDossier(fee_stage=fee_stage, fee_total_vnd=fee_total_vnd or 0)
    assert dossier.act("receive", RECEIVER).target == Status.RECEIVED
    dossier.act("assign", RECEIVER)
    assert "request_fee" not in rules.allowed_actions(dossier.status, dossier.context(PROCESSOR))
    with pytest.raises(Conflict):
        dossier.act("request_fee", PROCESSOR)
    dossier.act("approve_and_complete", APPROVER)
    dossier.act("return_result", RECEIVER)
    assert [d.target for d in dossier.history] == [2, 4, 9, 10]
    assert all(d.fee_due is None for d in dossier.history)


def test_an_unpaid_submission_fee_holds_the_received_dossier_in_6_until_paid() -> None:
    dossier = FakeDossier(fee_stage="submission", fee_total_vnd=30_000)
    received = dossier.act("receive", RECEIVER)
    assert (received.target, received.fee_due, received.resume_status) == (6, "submission", 2)
    assert received.clock is None  # the clock starts when the dossier really enters 2
    assert received.events == (STATUS_CHANGED,)
    assert rules.allowed_actions(6, dossier.context(RECEIVER)) == []

    paid = dossier.act("fee_paid", SYSTEM)
    assert (paid.source, paid.target, paid.clock, paid.resume_status) == (6, 2, "start", None)
    assert not paid.refund_required
    # The fee was due at submission: the specialist has none to ask for later.
    dossier.act("assign", RECEIVER)
    with pytest.raises(Conflict) as conflict:
        dossier.act("request_fee", PROCESSOR)
    assert "request_fee" not in conflict.value.extra["allowed_actions"]


def test_a_fee_paid_with_the_submission_lets_reception_go_straight_to_2() -> None:
    dossier = FakeDossier(fee_stage="submission", fee_total_vnd=30_000)
    recorded = dossier.act("fee_paid", SYSTEM)
    assert (recorded.target, recorded.events, recorded.refund_required) == (1, (), False)
    received = dossier.act("receive", RECEIVER)
    assert (received.target, received.clock, received.fee_due) == (2, "start", None)


def test_fees_due_before_the_result_are_asked_for_by_the_specialist() -> None:
    dossier = FakeDossier(fee_stage="result", fee_total_vnd=100_000)
    assert dossier.act("receive", RECEIVER).target == Status.RECEIVED
    dossier.act("assign", RECEIVER)
    requested = dossier.act("request_fee", PROCESSOR)
    assert (requested.target, requested.fee_due, requested.resume_status, requested.clock) == (
        6,
        "result",
        4,
        "pause",
    )
    assert requested.events == (STATUS_CHANGED,)

    paid = dossier.act("fee_paid", SYSTEM)
    assert (paid.target, paid.clock, paid.resume_status) == (4, "resume", None)
    with pytest.raises(Conflict):  # paid once, asked for once
        dossier.act("request_fee", PROCESSOR)

    done = dossier.act("approve_and_complete", APPROVER)
    assert (done.target, done.clock, done.events) == (9, "stop", (STATUS_CHANGED, COMPLETED))
    returned = dossier.act("return_result", RECEIVER)
    assert (returned.target, returned.clock, returned.events) == (10, None, (STATUS_CHANGED,))


@pytest.mark.parametrize(("paid", "refund"), [(True, True), (False, False)])
def test_a_paid_dossier_refused_at_reception_is_refunded(paid: bool, refund: bool) -> None:
    dossier = FakeDossier(fee_stage="submission", fee_total_vnd=30_000)
    if paid:
        dossier.act("fee_paid", SYSTEM)
    refused = dossier.act("refuse", RECEIVER, note="Hồ sơ không đúng thẩm quyền")
    assert (refused.target, refused.refund_required, refused.clock) == (3, refund, None)


@pytest.mark.parametrize(
    ("status", "resume_status", "fee_paid", "refund", "clock"),
    [
        (Status.NEW, None, True, True, None),
        (Status.RECEIVED, None, True, True, "stop"),
        (Status.SUPPLEMENT_REQUESTED, Status.RECEIVED, True, True, "stop"),
        (Status.FEE_REQUESTED, Status.RECEIVED, False, False, None),  # nothing paid, clock never started
        (Status.PROCESSING, None, True, False, "stop"),  # partly rendered: finance decides
        (Status.SUPPLEMENT_REQUESTED, Status.PROCESSING, True, False, "stop"),
        (Status.RECEIVED, None, False, False, "stop"),
    ],
)
def test_withdrawal_refunds_a_paid_fee_only_before_processing(
    status: Status, resume_status: Status | None, fee_paid: bool, refund: bool, clock: str | None
) -> None:
    context = Context(
        APPLICANT,
        fee_stage="submission",
        fee_total_vnd=30_000,
        fee_paid=fee_paid,
        resume_status=resume_status,
    )
    decision = rules.decide(status, "withdraw", context)
    assert (decision.target, decision.refund_required, decision.clock) == (7, refund, clock)


@pytest.mark.parametrize("status", [Status.PROCESSING, Status.FEE_REQUESTED])
def test_stopping_a_paid_dossier_refunds_nothing_by_itself(status: Status) -> None:
    context = Context(
        APPROVER,
        fee_stage="result",
        fee_total_vnd=1,
        fee_paid=True,
        resume_status=Status.PROCESSING,
        note="x",
    )
    decision = rules.decide(status, "stop", context)
    assert (decision.target, decision.refund_required, decision.clock) == (8, False, "stop")


@pytest.mark.parametrize(
    ("closing", "actor"),
    [("refuse", RECEIVER), ("withdraw", APPLICANT)],
)
def test_a_payment_landing_after_the_dossier_closed_is_refunded(closing: str, actor: Actor) -> None:
    dossier = FakeDossier(fee_stage="submission", fee_total_vnd=30_000)
    dossier.act(closing, actor)
    late = dossier.act("fee_paid", SYSTEM)
    assert late.target == late.source
    assert late.refund_required
    assert late.events == (STATUS_CHANGED,)  # svc-payment learns of the refund from it


def test_a_payment_landing_after_a_stop_is_refunded() -> None:
    dossier = FakeDossier(fee_stage="result", fee_total_vnd=100_000)
    dossier.act("receive", RECEIVER)
    dossier.act("assign", RECEIVER)
    dossier.act("request_fee", PROCESSOR)
    assert dossier.act("stop", APPROVER, note="Không đủ điều kiện").clock == "stop"
    late = dossier.act("fee_paid", SYSTEM)
    assert (late.target, late.refund_required) == (8, True)


@pytest.mark.parametrize("before", [Status.RECEIVED, Status.PROCESSING])
def test_supplementation_pauses_the_clock_and_returns_to_the_status_before(before: Status) -> None:
    dossier = FakeDossier()
    dossier.act("receive", RECEIVER)
    if before == Status.PROCESSING:
        dossier.act("assign", RECEIVER)
    asker = RECEIVER if before == Status.RECEIVED else PROCESSOR
    requested = dossier.act("request_supplement", asker, note="Thiếu bản sao giấy khai sinh")
    assert (requested.target, requested.resume_status, requested.clock) == (5, before, "pause")
    supplied = dossier.act("supplement", APPLICANT, note=None)
    assert (supplied.target, supplied.resume_status, supplied.clock) == (before, None, "resume")


def test_more_than_one_supplementation_request_is_counted_and_makes_the_dossier_late() -> None:
    dossier = FakeDossier()
    dossier.act("receive", RECEIVER)
    first = dossier.act("request_supplement", RECEIVER)
    dossier.act("supplement", APPLICANT)
    dossier.act("assign", RECEIVER)
    second = dossier.act("request_supplement", PROCESSOR)
    supplied = dossier.act("supplement", APPLICANT)
    assert (first.supplementation_requests, first.late_by_supplementation) == (1, False)
    assert (second.supplementation_requests, second.late_by_supplementation) == (2, True)
    assert (supplied.target, supplied.supplementation_requests) == (4, 2)


def test_forwarding_to_another_specialist_keeps_the_status_and_is_published() -> None:
    decision = rules.decide(4, "assign", Context(PROCESSOR))
    assert (decision.source, decision.target, decision.clock, decision.events) == (
        4,
        4,
        None,
        (STATUS_CHANGED,),
    )


@pytest.mark.parametrize(
    ("status", "action", "actor"),
    [(1, "refuse", RECEIVER), (2, "request_supplement", RECEIVER), (4, "request_supplement", PROCESSOR)]
    + [(s, "stop", APPROVER) for s in (2, 4)],
)
@pytest.mark.parametrize("note", [None, "", "   "])
def test_a_reason_is_required_to_refuse_request_supplementation_or_stop(
    status: int, action: str, actor: Actor, note: str | None
) -> None:
    with pytest.raises(Unprocessable) as invalid:
        rules.decide(status, action, Context(actor, note=note))
    assert invalid.value.status == 422
    assert invalid.value.code == "dossier.reason_required"
    assert invalid.value.errors == [{"field": "note", "message": "Cần nêu lý do."}]


@pytest.mark.parametrize(
    ("status", "action", "actor"),
    [
        (1, "receive", RECEIVER),
        (1, "withdraw", APPLICANT),
        (2, "assign", RECEIVER),
        (4, "approve_and_complete", APPROVER),
    ],
)
def test_other_actions_need_no_reason(status: int, action: str, actor: Actor) -> None:
    assert rules.decide(status, action, Context(actor)).target == ALLOWED[(status, action)][0]


@pytest.mark.parametrize(("status", "action"), [(5, "supplement"), (6, "fee_paid")])
@pytest.mark.parametrize("resume_status", [None, Status.NEW, Status.DONE])
def test_a_wait_without_a_valid_status_to_return_to_is_a_bug(
    status: int, action: str, resume_status: Status | None
) -> None:
    actor = APPLICANT if action == "supplement" else SYSTEM
    with pytest.raises(ValueError, match="resume_status"):
        rules.decide(status, action, Context(actor, resume_status=resume_status))
