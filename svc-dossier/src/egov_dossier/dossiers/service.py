"""Use cases of dossiers: submit, act on, and react to payments. Each change is one unit of work with its history
row and outbox events.

Calls to other services (who the applicant is, whether the files are theirs, signing the result) happen before
the dossier's transaction opens, never inside it: a slow peer must not hold the dossier's row or SQLite's write
lock. The transaction then re-reads the dossier; the version column turns a change made meanwhile into a 412.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import logging
import secrets
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_dossier.dossiers import peers as peer_calls
from egov_dossier.dossiers import rules
from egov_dossier.dossiers.codes import DEFAULT_PATTERN, next_dossier_code
from egov_dossier.dossiers.models import Dossier, DossierStep
from egov_dossier.dossiers.rules import Action, Actor, Context, Decision, Status
from egov_dossier.dossiers.schemas import ComponentFiles, CounterApplicant, DossierAction, DossierCreate
from egov_dossier.dossiers.timeliness import classify
from egov_dossier.dossiers.working_calendar import load_calendar
from egov_dossier.procedures.models import Procedure
from egov_dossier.procedures.service import get_procedure
from egov_shared.agencies import acts_for, agency_exists, subtree
from egov_shared.auth.tokens import Principal
from egov_shared.calendar import WorkingCalendar
from egov_shared.contracts.dossier import DossierCompleted, DossierStatusChanged, DossierSubmitted, FeeLine
from egov_shared.crypto import token_digest
from egov_shared.db import is_database_unavailable
from egov_shared.http.etag import check_version
from egov_shared.identifiers import InvalidIdentifier, check_id_number, is_tax_code
from egov_shared.peers import PeerClient
from egov_shared.problems import Conflict, Forbidden, NotFound, ServiceUnavailable, Unprocessable
from egov_shared.uow import UnitOfWork

# The receipt slip's lookup secret: 10 characters without look-alikes (0/O, 1/I), about 50 bits.
log = logging.getLogger(__name__)
T = TypeVar("T")

SECRET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
SECRET_LENGTH = 10
OFFICIAL_ROLES = (rules.RECEIVER, rules.PROCESSOR, rules.APPROVER)
# Order in which an official's role is named in the history when several allow the action.
ROLE_PRECEDENCE = (rules.APPROVER, rules.PROCESSOR, rules.RECEIVER)
# svc-payment's reason codes for giving the dossier's fee back; others (an overpayment returned, a finance
# officer's partial refund) are logged but the fee stays paid.
FEE_REFUND_REASONS = frozenset({"dossier_refused", "dossier_withdrawn", "dossier_stopped"})
REFUND_REASON_LABELS = {
    "dossier_refused": "hồ sơ không được tiếp nhận",
    "dossier_withdrawn": "công dân rút hồ sơ",
    "dossier_stopped": "hồ sơ dừng xử lý",
    "overpayment": "số tiền nộp thừa",
    "finance_decision": "quyết định của bộ phận tài chính",
}


@dataclass(frozen=True)
class Caller:
    """The authenticated caller and their raw token (forwarded to svc-identity and svc-document)."""

    principal: Principal
    token: str


def new_lookup_secret() -> str:
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))


def secret_matches(secret: str, digest: str) -> bool:
    return hmac.compare_digest(token_digest(secret.strip().upper()), digest)


# --- submission -------------------------------------------------------------------------------------------------


async def submit(
    uow: UnitOfWork,
    peers: PeerClient,
    caller: Caller,
    body: DossierCreate,
    *,
    now: dt.datetime,
    code_pattern: str = DEFAULT_PATTERN,
) -> tuple[Dossier, str]:
    """File a dossier; returns it with its lookup secret (shown once, printed on the receipt slip)."""
    principal = caller.principal
    procedure = await get_procedure(uow.session, body.procedure_code)
    if not procedure.active:
        raise Unprocessable(
            "Thủ tục này không còn được tiếp nhận.",
            code="dossier.procedure_inactive",
            errors=[{"field": "procedure_code", "message": "Thủ tục đã ngừng áp dụng."}],
        )
    agency_code = await _deciding_agency(uow.session, procedure, body.agency_code)
    channel, applicant_id = await _channel_and_applicant(uow.session, principal, procedure, body, agency_code)
    _check_applicant_parts(body)
    components = _components(procedure, body.components)
    file_ids = [file_id for part in body.components for file_id in part.file_ids]
    filed = _FiledProcedure.of(procedure)
    # Ask the peers with no transaction open (the rollback expires what was loaded: ``filed`` keeps it).
    await uow.rollback()
    if principal.kind == "citizen":
        applicant = await _both(
            peer_calls.check_files(peers, caller.token, file_ids),
            peer_calls.applicant_details(peers, caller.token),
        )
    else:
        assert body.applicant is not None  # checked by _channel_and_applicant
        # In turn: the applicant's record is looked up (and the look-up recorded) only for acceptable files.
        await peer_calls.check_files(peers, caller.token, file_ids)
        applicant_id = await _counter_account(peers, caller.token, body.applicant)
        applicant = body.applicant.model_dump(exclude_none=True, exclude={"citizen_id"})
    if body.business is not None:
        applicant["business"] = body.business.model_dump(exclude_none=True)
    if body.represented is not None:
        applicant["represented"] = body.represented.model_dump(exclude_none=True)

    secret = new_lookup_secret()
    code = await next_dossier_code(uow.session, agency_code, now, pattern=code_pattern)
    fees = filed.fees if filed.fee_stage else []
    dossier = Dossier(
        id=uuid.uuid4(),
        code=code,
        lookup_secret_digest=token_digest(secret),
        procedure_code=filed.code,
        procedure_name=filed.name,
        agency_code=agency_code,
        processing_time=filed.processing_time,
        time_unit=filed.time_unit,
        channel=channel,
        applicant_id=applicant_id,
        submitted_by=principal.subject,
        applicant_type=body.applicant_type,
        applicant=applicant,
        summary=body.summary,
        components=components,
        status=int(rules.INITIAL),
        fee_stage=filed.fee_stage,
        fees=fees,
        fee_total_vnd=sum(int(line["amount_vnd"]) for line in fees),
        fee_paid_online=False,
        refund_required=False,
        supplementation_requests=0,
        paused_hours=0.0,
        submitted_at=now,
        result_file_ids=[],
    )
    uow.session.add(dossier)
    role = rules.APPLICANT if principal.kind == "citizen" else rules.RECEIVER
    _record(uow.session, dossier, "submit", None, rules.INITIAL, principal, role, now, None, file_ids)
    uow.publish(
        DossierSubmitted(
            dossier_id=dossier.id,
            code=code,
            procedure_code=filed.code,
            agency_code=agency_code,
            applicant_id=applicant_id or principal.subject,
            channel=channel,
            file_ids=file_ids,
            fees=[FeeLine.model_validate(line) for line in fees] if filed.fee_stage == "submission" else [],
            submitted_at=now,
        ),
        subject=str(dossier.id),
    )
    if channel != 2:
        # At the counter (or opened from the post) the clerk receives the dossier as they file it.
        calendar = await load_calendar(uow.session)
        actor = Actor.official(*principal.roles)
        decision = rules.decide(dossier.status, Action.RECEIVE, _context(dossier, actor, None))
        _apply(uow, dossier, decision, principal, rules.RECEIVER, now, calendar, note=None, file_ids=[])
    await uow.commit()
    return dossier, secret


async def _end_transaction(uow: UnitOfWork) -> None:
    """Roll back after a failure without letting a second failure (a lost connection) hide the first."""
    with contextlib.suppress(Exception):
        await uow.rollback()


async def _withdraw(peers: PeerClient, token: str, signed_result: uuid.UUID | None) -> None:
    if signed_result is not None:
        await peer_calls.withdraw_signed_result(peers, token, signed_result)


async def _counter_account(peers: PeerClient, token: str, applicant: CounterApplicant) -> str | None:
    """The account a counter dossier shows in: the applicant's, when svc-identity verified it (level 2) for the ID
    number the clerk typed. Without a verified account, or with svc-identity unreachable, the dossier is filed all
    the same (the applicant follows it by code and secret); a ``citizen_id`` the clerk names must be that account."""
    try:
        account = await peer_calls.verified_citizen_account(peers, token, applicant.id_number)
    except (ServiceUnavailable, Forbidden):
        if applicant.citizen_id is not None:
            raise
        log.warning("counter dossier filed without looking up the applicant's account")
        return None
    if applicant.citizen_id is not None and applicant.citizen_id != account:
        raise _invalid(
            "applicant.citizen_id",
            "Tài khoản này không phải tài khoản đã xác thực (mức 2) của người có số định danh đã nhập.",
        )
    return account


async def _both(files_checked: Awaitable[None], answer: Awaitable[T]) -> T:
    """Ask two peers at once (the submission waits for the slower, not for both in turn); the files' refusal
    wins when both fail, as if they had been asked in turn."""
    checked, answered = await asyncio.gather(files_checked, answer, return_exceptions=True)
    if isinstance(checked, BaseException):
        raise checked
    if isinstance(answered, BaseException):
        raise answered
    return answered


@dataclass(frozen=True)
class _FiledProcedure:
    """What the dossier copies from the catalogue when it is filed."""

    code: str
    name: str
    processing_time: int
    time_unit: str
    fee_stage: str | None
    fees: list[dict[str, Any]]

    @classmethod
    def of(cls, procedure: Procedure) -> _FiledProcedure:
        return cls(
            code=procedure.code,
            name=procedure.name,
            processing_time=procedure.processing_time,
            time_unit=procedure.time_unit,
            fee_stage=procedure.fee_stage,
            fees=list(procedure.fees),
        )


async def _deciding_agency(session: AsyncSession, procedure: Procedure, chosen: str | None) -> str:
    if procedure.level == "commune":
        if chosen is None or not await agency_exists(session, chosen):
            raise Unprocessable(
                "Thủ tục cấp xã: hãy chọn UBND xã, phường giải quyết.",
                code="dossier.agency_required",
                errors=[{"field": "agency_code", "message": "Chọn xã, phường nơi nộp hồ sơ."}],
            )
        return chosen
    if chosen is not None and chosen != procedure.agency_code:
        raise Unprocessable(
            "Thủ tục này do một cơ quan khác giải quyết.",
            code="dossier.wrong_agency",
            errors=[{"field": "agency_code", "message": f"Cơ quan giải quyết là {procedure.agency_code}."}],
        )
    return procedure.agency_code


async def _channel_and_applicant(
    session: AsyncSession, principal: Principal, procedure: Procedure, body: DossierCreate, agency_code: str
) -> tuple[int, str | None]:
    if principal.kind == "citizen":
        if body.channel not in (None, 2) or body.applicant is not None:
            raise Unprocessable(
                "Công dân nộp trực tuyến cho chính mình, doanh nghiệp của mình hoặc người mình đại diện.",
                code="dossier.citizen_fields",
                errors=[{"field": "applicant", "message": "Chỉ cán bộ một cửa nhập thông tin người nộp."}],
            )
        if principal.assurance_level < procedure.min_assurance_level:
            raise Forbidden(
                f"Thủ tục này yêu cầu tài khoản định danh mức {procedure.min_assurance_level}.",
                code="dossier.assurance_level_required",
                extra={"required_level": procedure.min_assurance_level},
            )
        return 2, principal.subject
    if principal.kind == "official" and rules.RECEIVER in principal.roles:
        if not await acts_for(session, principal.agency, agency_code):
            raise Forbidden("Cơ quan của cán bộ không tiếp nhận hồ sơ này.", code="dossier.not_your_agency")
        if body.channel == 2 or body.applicant is None:
            raise Unprocessable(
                "Hồ sơ nộp tại quầy hoặc qua bưu chính cần kênh (1 hoặc 3) và thông tin người nộp.",
                code="dossier.counter_fields",
                errors=[{"field": "applicant", "message": "Nhập thông tin người nộp."}],
            )
        try:
            check_id_number(body.applicant.id_number)
        except InvalidIdentifier as exc:
            raise _invalid("applicant.id_number", str(exc)) from exc
        # The applicant's account, if they have one, is looked up by their ID number after this (a peer call).
        return body.channel or 1, None
    raise Forbidden("Chỉ công dân hoặc cán bộ một cửa nộp được hồ sơ.", code="dossier.submission_not_allowed")


def _check_applicant_parts(body: DossierCreate) -> None:
    if body.business is not None and not is_tax_code(body.business.tax_code):
        raise _invalid("business.tax_code", "Mã số thuế không hợp lệ (sai chữ số kiểm tra).")
    if body.represented is not None:
        try:
            check_id_number(body.represented.id_number)
        except InvalidIdentifier as exc:
            raise _invalid("represented.id_number", str(exc)) from exc


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(
        message, code="dossier.invalid_applicant", errors=[{"field": field, "message": message}]
    )


def _components(procedure: Procedure, given: Sequence[ComponentFiles]) -> list[dict[str, Any]]:
    """The procedure's papers with the files given for each; 422 naming unknown and missing mandatory ones."""
    by_code = {part.code: part for part in given}
    known = {component["code"] for component in procedure.components}
    errors = [
        {"field": f"components.{code}", "message": "Thủ tục không có thành phần này."}
        for code in by_code
        if code not in known
    ]
    missing = [
        component
        for component in procedure.components
        if component.get("mandatory", True) and component["code"] not in by_code
    ]
    errors += [
        {"field": f"components.{c['code']}", "message": f"Thiếu thành phần bắt buộc: {c['name']}."}
        for c in missing
    ]
    if errors:
        raise Unprocessable(
            "Hồ sơ thiếu thành phần bắt buộc hoặc có thành phần không thuộc thủ tục.",
            code="dossier.missing_components" if missing else "dossier.unknown_components",
            errors=errors,
            extra={"missing_components": [c["code"] for c in missing]},
        )
    return [
        {
            "code": component["code"],
            "name": component["name"],
            "mandatory": bool(component.get("mandatory", True)),
            "file_ids": [str(i) for i in by_code[component["code"]].file_ids]
            if component["code"] in by_code
            else [],
        }
        for component in procedure.components
    ]


# --- who may see and act ----------------------------------------------------------------------------------------


async def visible_dossier(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> Dossier:
    """The dossier if the caller may see it: its applicant, its filer, or an official of its agency or above."""
    dossier = await session.get(Dossier, dossier_id)
    if dossier is None or not await may_see(session, principal, dossier):
        raise NotFound("Không tìm thấy hồ sơ.", code="dossier.not_found")
    return dossier


async def may_see(session: AsyncSession, principal: Principal, dossier: Dossier) -> bool:
    if principal.kind == "citizen":
        return principal.subject in (dossier.applicant_id, dossier.submitted_by)
    if principal.kind == "official":
        return await acts_for(session, principal.agency, dossier.agency_code)
    return False


def actor_of(principal: Principal, dossier: Dossier) -> Actor:
    if principal.kind == "citizen":
        return Actor.citizen(is_owner=principal.subject in (dossier.applicant_id, dossier.submitted_by))
    if principal.kind == "official":
        # Visibility already established that the official acts for the dossier's agency.
        return Actor.official(*principal.roles)
    return Actor("system", acts_for_agency=False)


def _context(dossier: Dossier, actor: Actor, note: str | None) -> Context:
    return Context(
        actor=actor,
        fee_stage=dossier.fee_stage,  # type: ignore[arg-type]
        fee_total_vnd=dossier.fee_total_vnd,
        fee_paid=dossier.fee_paid_at is not None,
        resume_status=Status(dossier.resume_status) if dossier.resume_status else None,
        supplementation_requests=dossier.supplementation_requests,
        note=note,
    )


def allowed_actions(principal: Principal, dossier: Dossier) -> list[str]:
    return rules.allowed_actions(dossier.status, _context(dossier, actor_of(principal, dossier), "?"))


def _role_for(principal: Principal, action: Action) -> str:
    if principal.kind == "citizen":
        return rules.APPLICANT
    allowed = {r for row in rules.TRANSITIONS if row.action == action for r in row.who}
    return next((role for role in ROLE_PRECEDENCE if role in allowed and role in principal.roles), "official")


# --- actions ----------------------------------------------------------------------------------------------------


async def act(
    uow: UnitOfWork,
    peers: PeerClient,
    caller: Caller,
    dossier_id: uuid.UUID,
    action: Action,
    body: DossierAction,
    *,
    expected_version: int,
    now: dt.datetime,
) -> Dossier:
    """Take an action on a dossier: 404 if the caller may not see it, 412 if stale, 403/409/422 from the rules."""
    principal = caller.principal
    dossier = await visible_dossier(uow.session, principal, dossier_id)
    check_version(expected_version, dossier.version)
    rules.decide(dossier.status, action, _context(dossier, actor_of(principal, dossier), body.note))
    file_ids = list(body.file_ids)
    if action == Action.ASSIGN and not body.assignee_id:
        raise Unprocessable(
            "Cần chọn người xử lý.",
            code="dossier.assignee_required",
            errors=[{"field": "assignee_id", "message": "Cần chọn người xử lý."}],
        )
    if action == Action.SUPPLEMENT:
        file_ids += _supplement_files(dossier, body.components)
    if action == Action.APPROVE_AND_COMPLETE and body.result_file_id is None:
        raise Unprocessable(
            "Cần văn bản kết quả (tệp PDF) để ký và trả cho người nộp.",
            code="dossier.result_required",
            errors=[{"field": "result_file_id", "message": "Tải lên văn bản kết quả rồi gửi mã tệp."}],
        )
    agency_code, code = dossier.agency_code, dossier.code

    # Ask the peers with no transaction open, then re-read the dossier.
    await uow.rollback()
    await peer_calls.check_files(peers, caller.token, file_ids)
    signed_result: uuid.UUID | None = None
    if action == Action.APPROVE_AND_COMPLETE and body.result_file_id is not None:
        signed_result = await peer_calls.sign_result(
            peers, caller.token, file_id=body.result_file_id, agency_code=agency_code, dossier_code=code
        )
    try:
        dossier = await visible_dossier(uow.session, principal, dossier_id)
        check_version(expected_version, dossier.version)
        decision = rules.decide(
            dossier.status, action, _context(dossier, actor_of(principal, dossier), body.note)
        )
        calendar = await load_calendar(uow.session)
        if action == Action.ASSIGN:
            dossier.assignee_id, dossier.assignee_name = body.assignee_id, body.assignee_name
        if action == Action.SUPPLEMENT:
            dossier.components = _with_supplements(dossier.components, body.components)
        if signed_result is not None:
            dossier.result_file_ids = [str(signed_result)]
            file_ids.append(signed_result)
        _apply(
            uow,
            dossier,
            decision,
            principal,
            _role_for(principal, action),
            now,
            calendar,
            note=body.note,
            file_ids=file_ids,
            result=body,
        )
    except Exception:
        # Someone acted meanwhile (412, 409): the dossier was not approved, so its sealed result must not stay
        # behind in svc-document. The transaction is ended first: SQLite would hold its write lock meanwhile.
        await _end_transaction(uow)
        await _withdraw(peers, caller.token, signed_result)
        raise
    try:
        await uow.commit()
    except Exception as exc:
        await _end_transaction(uow)
        # Refused by the database: nothing was written. Lost with the connection: nobody knows whether the
        # approval committed, so the copy is kept (an orphan is better than an approved dossier without result).
        if not is_database_unavailable(exc):
            await _withdraw(peers, caller.token, signed_result)
        raise
    return dossier


def _supplement_files(dossier: Dossier, given: Sequence[ComponentFiles]) -> list[uuid.UUID]:
    if not given:
        raise Unprocessable(
            "Cần nộp ít nhất một giấy tờ bổ sung.",
            code="dossier.supplement_required",
            errors=[{"field": "components", "message": "Chọn thành phần và tệp bổ sung."}],
        )
    known = {component["code"] for component in dossier.components}
    unknown = [part.code for part in given if part.code not in known]
    if unknown:
        raise Unprocessable(
            "Có thành phần không thuộc hồ sơ này.",
            code="dossier.unknown_components",
            errors=[
                {"field": f"components.{code}", "message": "Không có thành phần này."} for code in unknown
            ],
        )
    return [file_id for part in given for file_id in part.file_ids]


def _with_supplements(
    components: list[dict[str, Any]], given: Sequence[ComponentFiles]
) -> list[dict[str, Any]]:
    added = {part.code: [str(i) for i in part.file_ids] for part in given}
    return [
        {**component, "file_ids": [*component["file_ids"], *added.get(component["code"], [])]}
        for component in components
    ]


def _apply(
    uow: UnitOfWork,
    dossier: Dossier,
    decision: Decision,
    principal: Principal | None,
    role: str,
    now: dt.datetime,
    calendar: WorkingCalendar,
    *,
    note: str | None,
    file_ids: Sequence[uuid.UUID],
    result: DossierAction | None = None,
    clock_at: dt.datetime | None = None,
) -> None:
    """Write what the rules decided: the status, the clock, the history row and the events."""
    source = decision.source
    # The clock moves at ``clock_at`` when the fact happened earlier than we heard of it (a payment).
    _move_clock(dossier, decision, clock_at or now, calendar)
    dossier.status = int(decision.target)
    dossier.resume_status = int(decision.resume_status) if decision.resume_status else None
    dossier.supplementation_requests = decision.supplementation_requests
    if decision.action == Action.RECEIVE:
        dossier.received_at = now
    if decision.target == Status.RETURNED:
        dossier.returned_at = now
    if decision.refund_required:
        dossier.refund_required = True
    if principal is None:
        _record_system(
            uow.session, dossier, decision.action.value, int(decision.source), int(decision.target), now, note
        )
    else:
        _record(
            uow.session,
            dossier,
            decision.action.value,
            source,
            decision.target,
            principal,
            role,
            now,
            note,
            file_ids,
        )
    fees_now = decision.fee_due is not None and decision.target == Status.FEE_REQUESTED
    for event_type in decision.events:
        if event_type == DossierStatusChanged.event_type:
            uow.publish(
                DossierStatusChanged(
                    dossier_id=dossier.id,
                    code=dossier.code,
                    agency_code=dossier.agency_code,
                    applicant_id=dossier.applicant_id or dossier.submitted_by,
                    action=decision.action.value,
                    from_status=int(source),
                    to_status=int(decision.target),
                    file_ids=list(file_ids),
                    # The fees of the result stage are asked for now; those of the submission stage were
                    # announced with dossier.submitted (svc-payment already has that invoice).
                    fees=[FeeLine.model_validate(line) for line in dossier.fees]
                    if fees_now and decision.fee_due == "result"
                    else [],
                    refund_required=decision.refund_required,
                    changed_at=now,
                ),
                subject=str(dossier.id),
            )
        elif event_type == DossierCompleted.event_type:
            uow.publish(
                DossierCompleted(
                    dossier_id=dossier.id,
                    code=dossier.code,
                    agency_code=dossier.agency_code,
                    applicant_id=dossier.applicant_id or dossier.submitted_by,
                    result_file_ids=[uuid.UUID(i) for i in dossier.result_file_ids],
                    completed_at=now,
                    result_symbol=result.result_symbol if result else None,
                    result_excerpt=(result.result_excerpt if result else None)
                    or f"Kết quả giải quyết hồ sơ {dossier.code}: {dossier.procedure_name}"[:500],
                ),
                subject=str(dossier.id),
            )


def _move_clock(dossier: Dossier, decision: Decision, now: dt.datetime, calendar: WorkingCalendar) -> None:
    if decision.clock == "start":
        start = calendar.start_of_clock(now)
        if dossier.time_unit == "calendar_days":
            dossier.due_at = calendar.add_calendar_days(start, dossier.processing_time)
        else:
            dossier.due_at = calendar.add_working_time(start, days=dossier.processing_time)
        dossier.clock_started_at = start
        dossier.paused_since = None
    elif decision.clock == "pause":
        dossier.paused_since = now
    elif decision.clock == "resume":
        _end_pause(dossier, now, calendar)
    elif decision.clock == "stop":
        _end_pause(dossier, now, calendar)
        _finish(dossier, now, calendar)
    if decision.clock is None and decision.target in rules.PROCESSING_ENDED and dossier.finished_at is None:
        # Ended before the clock ever started (refused at reception, withdrawn while new): no deadline to meet.
        dossier.finished_at = now


def _end_pause(dossier: Dossier, now: dt.datetime, calendar: WorkingCalendar) -> None:
    if dossier.paused_since is not None and dossier.due_at is not None:
        dossier.due_at = calendar.extend_for_pause(dossier.due_at, dossier.paused_since, now)
        paused = calendar.working_time_between(dossier.paused_since, now).total_seconds() / 3600
        dossier.paused_hours = round(dossier.paused_hours + paused, 4)
    dossier.paused_since = None


def _finish(dossier: Dossier, now: dt.datetime, calendar: WorkingCalendar) -> None:
    if dossier.finished_at is not None:
        return
    dossier.finished_at = now
    if dossier.due_at is None or dossier.clock_started_at is None:
        return
    dossier.timeliness = classify(
        due_at=dossier.due_at,
        finished_at=now,
        measured_at=None,
        supplementation_requests=dossier.supplementation_requests,
    ).value
    # Done before the clock even started (received after hours, finished at once): no working time used.
    started = min(dossier.clock_started_at, now)
    worked = calendar.working_time_between(started, now).total_seconds() / 3600
    dossier.processing_hours = round(max(worked - dossier.paused_hours, 0.0), 2)


def _record(
    session: AsyncSession,
    dossier: Dossier,
    action: str,
    source: Status | None,
    target: Status,
    principal: Principal,
    role: str,
    now: dt.datetime,
    note: str | None,
    file_ids: Sequence[uuid.UUID],
) -> None:
    session.add(
        DossierStep(
            dossier_id=dossier.id,
            at=now,
            action=action,
            from_status=int(source) if source is not None else None,
            to_status=int(target),
            actor_id=principal.subject,
            actor_name=principal.name,
            actor_role=role,
            actor_agency=principal.agency,
            note=note,
            file_ids=[str(i) for i in file_ids],
        )
    )


def _record_system(
    session: AsyncSession,
    dossier: Dossier,
    action: str,
    source: int,
    target: int,
    at: dt.datetime,
    note: str | None,
    *,
    actor_id: str = "svc-dossier",
    actor_name: str = "Hệ thống",
) -> None:
    """A step no person took: svc-dossier reacting to an event, or the service that sent it."""
    session.add(
        DossierStep(
            dossier_id=dossier.id,
            at=at,
            action=action,
            from_status=source,
            to_status=target,
            actor_id=actor_id,
            actor_name=actor_name,
            actor_role=rules.SYSTEM,
            note=note,
            file_ids=[],
        )
    )


# --- payments ---------------------------------------------------------------------------------------------------


async def fee_paid(
    uow: UnitOfWork,
    dossier_id: uuid.UUID,
    *,
    stage: str | None,
    amount_vnd: int,
    receipt_number: str,
    provider: str,
    paid_at: dt.datetime,
    now: dt.datetime,
) -> None:
    """``payment.fee_paid``: the fee wait ends (or the payment is recorded, or refunded if the dossier closed)."""
    dossier = await _locked(uow.session, dossier_id)
    if dossier is None or dossier.fee_paid_at is not None:
        return  # not ours, or this stage's fee was already recorded (a second event for the same fee)
    if stage is not None and dossier.fee_stage is not None and stage != dossier.fee_stage:
        return
    dossier.fee_paid_at = paid_at
    dossier.fee_paid_online = provider != "cash"
    note = f"Đã nộp {amount_vnd:,} đồng, biên lai {receipt_number} ({provider}).".replace(",", ".")
    try:
        decision = rules.decide(dossier.status, Action.FEE_PAID, _context(dossier, Actor.system(), note))
    except Conflict:
        # Paid while the dossier is somewhere the payment does not move it (with the specialist, say): recorded.
        _record_system(uow.session, dossier, Action.FEE_PAID.value, dossier.status, dossier.status, now, note)
        return
    calendar = await load_calendar(uow.session)
    # The wait ended when the citizen paid, not when the event reached us (a broker delay must not cost them
    # time): never before the wait began, never in the future.
    waited_from = dossier.paused_since or dossier.received_at or paid_at
    clock_at = min(now, max(paid_at, waited_from))
    _apply(
        uow, dossier, decision, None, rules.SYSTEM, now, calendar, note=note, file_ids=[], clock_at=clock_at
    )


async def refunded(
    uow: UnitOfWork, dossier_id: uuid.UUID, *, amount_vnd: int, reason: str, refunded_at: dt.datetime
) -> None:
    """``payment.refunded``: recorded in the history; the status does not change."""
    dossier = await _locked(uow.session, dossier_id)
    if dossier is None:
        return
    if reason in FEE_REFUND_REASONS:
        dossier.refunded_at = refunded_at
    reason_label = REFUND_REASON_LABELS.get(reason, reason)
    _record_system(
        uow.session,
        dossier,
        "refunded",
        dossier.status,
        dossier.status,
        refunded_at,
        f"Đã hoàn trả {amount_vnd:,} đồng: {reason_label}.".replace(",", "."),
        actor_id="svc-payment",
        actor_name="Hệ thống thanh toán",
    )


async def _locked(session: AsyncSession, dossier_id: uuid.UUID) -> Dossier | None:
    return (
        await session.scalars(select(Dossier).where(Dossier.id == dossier_id).with_for_update())
    ).one_or_none()


# --- queries ----------------------------------------------------------------------------------------------------


async def queue_agencies(session: AsyncSession, principal: Principal, agency_code: str | None) -> list[str]:
    """The agencies whose dossiers an official's queue shows: one they act for, or all theirs."""
    if principal.agency is None:
        return []
    if agency_code is not None:
        if not await acts_for(session, principal.agency, agency_code):
            raise NotFound("Không có hàng đợi hồ sơ của cơ quan này.", code="dossier.queue_not_found")
        return [agency_code]
    return sorted(await subtree(session, principal.agency))


async def history(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> list[DossierStep]:
    await visible_dossier(session, principal, dossier_id)
    return list(
        await session.scalars(
            select(DossierStep)
            .where(DossierStep.dossier_id == dossier_id)
            .order_by(DossierStep.at, DossierStep.id)
        )
    )


async def lookup(session: AsyncSession, code: str, secret: str) -> Dossier:
    dossier = (await session.scalars(select(Dossier).where(Dossier.code == code))).one_or_none()
    if dossier is None or not secret_matches(secret, dossier.lookup_secret_digest):
        raise NotFound("Không tìm thấy hồ sơ với mã và mã tra cứu này.", code="dossier.not_found")
    return dossier
