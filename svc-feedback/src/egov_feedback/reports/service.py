"""Use cases of reports: submit, act on one (the state machine), moderate, support; and the views of a report.

Every state change is one unit of work with its history row and its outbox events. Who may see a report:
its reporter and officials of its agency or one above it see everything; anyone else sees the public view of a
report that is not private, and a 404 for a private one (DESIGN §5: 404, not 403, for another's resource).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from egov_feedback import ratelimit
from egov_feedback.agencies import agency_names
from egov_feedback.calendar_corrections import load_calendar
from egov_feedback.geo import DUPLICATE_RADIUS_M
from egov_feedback.open311.formats import Open311Error, validate_attributes
from egov_feedback.reference.areas import AreaIndex
from egov_feedback.reference.categories import CATEGORIES_BY_CODE, Category
from egov_feedback.reference.routing import UnknownCategory, route
from egov_feedback.reports import repository
from egov_feedback.reports.models import Report, ReportHistory
from egov_feedback.reports.rules import (
    HANDLER,
    MODERATOR,
    OPEN,
    WATCHED,
    Action,
    Actor,
    Context,
    Deadlines,
    Status,
    allowed_actions,
    deadlines,
    decide,
    initial_deadlines,
    reopen_deadline,
)
from egov_feedback.reports.schemas import ReportPublic, ReportRead
from egov_feedback.working_days import local_date
from egov_shared.agencies import acts_for, agency_exists
from egov_shared.auth.tokens import Principal
from egov_shared.contracts.feedback import (
    FeedbackResolved,
    FeedbackSubmitted,
    FeedbackSupplemented,
    FeedbackTransferred,
)
from egov_shared.counters import next_in_series
from egov_shared.http.etag import check_version
from egov_shared.peers import PeerClient
from egov_shared.problems import Conflict, Forbidden, NotFound, Unprocessable
from egov_shared.text import nfc
from egov_shared.uow import UnitOfWork

View = Literal["staff", "reporter", "public"]
ReporterKind = Literal["citizen", "partner", "staff"]


@dataclass(frozen=True)
class Submission:
    """A report as any channel delivers it (REST app/web/hotline, Open311 partner), already shape-checked."""

    title: str
    description: str
    category_code: str
    channel: str
    reporter_kind: ReporterKind
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    address_id: str | None = None
    file_ids: Sequence[uuid.UUID] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    anonymous: bool = False
    private: bool = False
    reporter_id: str | None = None
    reporter_name: str | None = None
    contact: Mapping[str, str] = field(default_factory=dict)
    partner_id: uuid.UUID | None = None
    device_id: str | None = None
    media_url: str | None = None


@dataclass(frozen=True)
class RateLimit:
    key: str
    limit: int
    window_seconds: int
    detail: str


def category_of(code: str) -> Category:
    category = CATEGORIES_BY_CODE.get(code)
    if category is None:
        raise UnknownCategory(
            f"Không có lĩnh vực phản ánh mã {code!r}.",
            errors=[{"field": "category_code", "message": "Mã lĩnh vực không tồn tại."}],
        )
    return category


def checked_attributes(
    category: Category, given: Mapping[str, str | list[str]]
) -> dict[str, str | list[str]]:
    """The category's extra questions answered as its definition says (REST: 422 listing the problems)."""
    submitted = {code: tuple(value) if isinstance(value, list) else (value,) for code, value in given.items()}
    try:
        return validate_attributes(category, submitted)
    except Open311Error as exc:
        raise Unprocessable(
            "Thông tin bổ sung của lĩnh vực chưa đúng.",
            code="feedback.invalid_attributes",
            errors=[{"field": "attributes", "message": description} for _, description in exc.errors],
        ) from exc


async def check_files(peers: PeerClient, token: str | None, file_ids: Sequence[uuid.UUID]) -> None:
    """The files exist in svc-document and belong to the caller (asked with the caller's own token)."""
    if not file_ids:
        return
    if token is None:
        raise Unprocessable("Không kiểm tra được tệp đính kèm.", code="feedback.files_unchecked")
    response = await peers.request(
        "POST", "/api/v1/files/check", token=token, json={"file_ids": [str(f) for f in file_ids]}
    )
    if response.status_code != 200:
        raise Unprocessable(
            "Không kiểm tra được tệp đính kèm.",
            code="feedback.files_unchecked",
            extra={"peer_status": response.status_code},
        )
    missing = [str(m) for m in response.json().get("missing", [])]
    if missing:
        raise Unprocessable(
            "Có tệp đính kèm không tồn tại hoặc không phải của bạn.",
            code="feedback.files_not_found",
            errors=[{"field": "file_ids", "message": f"Không có tệp {m}."} for m in missing],
            extra={"missing": missing},
        )


async def submit(
    uow: UnitOfWork,
    submission: Submission,
    *,
    now: dt.datetime,
    areas: AreaIndex,
    rate_limit: RateLimit | None = None,
) -> tuple[Report, list[Report]]:
    """Receive a report: route it, set its deadlines, suggest duplicates, publish ``feedback.submitted``.

    Returns the report and the open reports of the same category within 50 m (found before it was added).
    Files and attributes are the caller's checks (they differ between REST and Open311).
    """
    session = uow.session
    category = category_of(submission.category_code)
    routing = route(
        category.code,
        submission.lat,
        submission.lon,
        overrides=await repository.overrides(session),
        areas=areas,
    )
    if rate_limit is not None:
        await ratelimit.hit(
            session,
            rate_limit.key,
            limit=rate_limit.limit,
            window_seconds=rate_limit.window_seconds,
            now=now,
            detail=rate_limit.detail,
        )
    duplicates: list[Report] = []
    if submission.lat is not None and submission.lon is not None:
        duplicates = await repository.nearby_open(
            session,
            category_code=category.code,
            lat=submission.lat,
            lon=submission.lon,
            radius_m=DUPLICATE_RADIUS_M,
            viewer_id=submission.reporter_id,
        )
    year = local_date(now).year
    number = await next_in_series(session, f"feedback.report.{year}")
    times = initial_deadlines(now, category.sla_days, calendar=await load_calendar(session))
    title, description = nfc(submission.title.strip()), nfc(submission.description.strip())
    report = Report(
        id=uuid.uuid4(),
        code=f"PA-{year}-{number:06d}",
        title=title,
        description=description,
        original_title=title,
        original_description=description,
        category_code=category.code,
        status=Status.SUBMITTED.value,
        channel=submission.channel,
        lat=submission.lat,
        lon=submission.lon,
        address=nfc(submission.address) if submission.address else None,
        address_id=submission.address_id,
        area_code=routing.area_code,
        agency_code=routing.agency_code,
        routing_reason=routing.reason,
        reporter_kind=submission.reporter_kind,
        reporter_id=submission.reporter_id,
        reporter_name=submission.reporter_name,
        contact=dict(submission.contact),
        partner_id=submission.partner_id,
        device_id=submission.device_id,
        anonymous=submission.anonymous,
        private=submission.private,
        file_ids=[str(f) for f in submission.file_ids],
        media_url=submission.media_url,
        attributes=dict(submission.attributes),
        support_count=0,
        answer_file_ids=[],
        reopen_count=0,
        supplement_count=0,
        escalation_level=0,
        submitted_at=now,
        due_at=times.due_at,
        stage_due_at=times.stage_due_at,
        created_at=now,
        updated_at=now,
    )
    session.add(report)
    await session.flush()
    session.add(
        _history(
            report,
            action="submit",
            from_status=None,
            actor_kind="partner" if submission.reporter_kind == "partner" else _actor_kind(submission),
            actor_id=submission.reporter_id,
            now=now,
            note=None,
            details={"routing": routing.reason, "channel": submission.channel},
        )
    )
    uow.publish(
        FeedbackSubmitted(
            report_id=report.id,
            category_code=report.category_code,
            agency_code=report.agency_code,
            reporter_id=report.reporter_id,
            file_ids=list(submission.file_ids),
            submitted_at=now,
            code=report.code,
            channel=report.channel,
            area_code=report.area_code,
            due_at=report.due_at,
        ),
        subject=str(report.id),
    )
    await uow.commit()
    return report, duplicates


def _actor_kind(submission: Submission) -> str:
    return "official" if submission.reporter_kind == "staff" else "citizen"


def _history(
    report: Report,
    *,
    action: str,
    from_status: str | None,
    actor_kind: str,
    actor_id: str | None,
    now: dt.datetime,
    note: str | None,
    public: bool = True,
    details: Mapping[str, Any] | None = None,
) -> ReportHistory:
    return ReportHistory(
        report_id=report.id,
        action=action,
        from_status=from_status,
        to_status=report.status,
        actor_kind=actor_kind,
        actor_id=actor_id,
        agency_code=report.agency_code,
        note=note,
        public=public,
        details=dict(details or {}),
        created_at=now,
    )


# --- who sees and does what -----------------------------------------------------------------------------------


async def access(uow: UnitOfWork, report: Report, principal: Principal) -> tuple[Actor, View]:
    """The caller as an actor on this report, and the view they get; 404 for a private report of another."""
    if principal.kind == "official":
        if await acts_for(uow.session, principal.agency, report.agency_code):
            return Actor.official(*principal.roles), "staff"
        actor = Actor.official(*principal.roles, acts_for_agency=False)
    elif principal.kind == "citizen":
        if report.reporter_kind == "citizen" and report.reporter_id == principal.subject:
            return Actor.citizen(), "reporter"
        actor = Actor.citizen(is_owner=False)
    else:
        actor = Actor("citizen")
    if report.private:
        raise NotFound("Không có phản ánh này.", code="feedback.report_not_found")
    return actor, "public"


async def visible_report(
    uow: UnitOfWork, report_id: uuid.UUID, principal: Principal
) -> tuple[Report, Actor, View]:
    report = await repository.get(uow.session, report_id)
    if report is None:
        raise NotFound("Không có phản ánh này.", code="feedback.report_not_found")
    actor, view = await access(uow, report, principal)
    return report, actor, view


@dataclass(frozen=True)
class ActionInput:
    """What an action carries besides its name; each action reads the fields it needs."""

    note: str | None = None
    refusal_kind: str | None = None
    handler_id: str | None = None
    handler_name: str | None = None
    agency_code: str | None = None
    file_ids: Sequence[uuid.UUID] = ()
    rating: int | None = None
    comment: str | None = None
    duplicate_of: uuid.UUID | None = None


async def act(
    uow: UnitOfWork,
    report_id: uuid.UUID,
    action: Action,
    principal: Principal,
    given: ActionInput,
    *,
    expected_version: int,
    now: dt.datetime,
    peers: PeerClient | None = None,
    token: str | None = None,
) -> Report:
    """Take a lifecycle action on a report (If-Match checked), recording history and events."""
    session = uow.session
    report, actor, _ = await visible_report(uow, report_id, principal)
    check_version(expected_version, report.version)
    note = nfc(given.note.strip()) if given.note and given.note.strip() else None
    decision = decide(
        report.status,
        action,
        Context(
            actor,
            now,
            note=note,
            resume_status=Status(report.resume_status) if report.resume_status else None,
            resolved_at=report.resolved_at,
        ),
    )
    category = category_of(report.category_code)
    details: dict[str, Any] = {}
    if action in (Action.SUPPLEMENT, Action.RESOLVE) and given.file_ids:
        if peers is None:
            raise Unprocessable("Không kiểm tra được tệp đính kèm.", code="feedback.files_unchecked")
        await check_files(peers, token, given.file_ids)
        details["file_ids"] = [str(f) for f in given.file_ids]

    if action == Action.TRANSFER:
        target = given.agency_code or ""
        if target == report.agency_code:
            raise Unprocessable(
                "Phản ánh đã thuộc cơ quan này.",
                code="feedback.same_agency",
                errors=[{"field": "agency_code", "message": "Chọn cơ quan khác."}],
            )
        if not await agency_exists(session, target):
            raise Unprocessable(
                f"Không có cơ quan mã {target}.",
                code="feedback.unknown_agency",
                errors=[{"field": "agency_code", "message": "Mã cơ quan không tồn tại."}],
            )
        details.update({"from_agency": report.agency_code, "to_agency": target})
        report.agency_code = target
        report.handler_id = report.handler_name = None
        report.accepted_at = None
        report.status_note = note
    elif action == Action.MERGE:
        original = await _merge_target(uow, report, given.duplicate_of)
        report.duplicate_of = original.id
        details["duplicate_of"] = original.code
        supporter = report.reporter_id if report.reporter_kind == "citizen" else None
        if (
            supporter is not None
            and supporter != original.reporter_id
            and await repository.add_support(session, original.id, supporter, now)
        ):
            original.support_count += 1
        report.status_note = note or f"Trùng với phản ánh {original.code}."
        report.handled_at = now
    elif action == Action.ACCEPT:
        report.accepted_at = now
    elif action == Action.REFUSE:
        report.refusal_kind = given.refusal_kind
        details["refusal_kind"] = given.refusal_kind
        report.status_note = note
        report.handled_at = now
    elif action == Action.ASSIGN:
        if not given.handler_id:
            raise Unprocessable("Cần chọn cán bộ xử lý.", code="feedback.handler_required")
        details.update({"from_handler": report.handler_id, "to_handler": given.handler_id})
        report.handler_id, report.handler_name = given.handler_id, given.handler_name
    elif action == Action.REQUEST_SUPPLEMENT:
        report.supplement_count += 1
        report.status_note = note
    elif action == Action.SUPPLEMENT:
        report.file_ids = [
            *report.file_ids,
            *(str(f) for f in given.file_ids if str(f) not in report.file_ids),
        ]
        report.status_note = None
    elif action == Action.RESOLVE:
        report.answer = note
        report.answer_file_ids = [str(f) for f in given.file_ids]
        report.resolved_at = report.handled_at = now
        report.status_note = None
    elif action == Action.REOPEN:
        report.reopen_count += 1
        report.status_note = note
        report.handler_id = report.handler_name = None
    elif action == Action.RATE:
        report.rating = given.rating
        report.rating_comment = nfc(given.comment.strip()) if given.comment else None
        report.closed_at = now
        details["rating"] = given.rating

    times = deadlines(
        decision.clock,
        Deadlines(report.due_at, report.stage_due_at, report.paused_at),
        now=now,
        sla_days=category.sla_days,
        calendar=await load_calendar(session),
    )
    report.due_at, report.stage_due_at, report.paused_at = times.due_at, times.stage_due_at, times.paused_at
    report.status = decision.target.value
    report.resume_status = decision.resume_status.value if decision.resume_status else None
    report.updated_at = now
    session.add(
        _history(
            report,
            action=action.value,
            from_status=decision.source.value,
            actor_kind=principal.kind,
            actor_id=principal.subject,
            now=now,
            note=note if action != Action.RATE else report.rating_comment,
            public=decision.public,
            details=details,
        )
    )
    if FeedbackResolved.event_type in decision.events:
        uow.publish(
            FeedbackResolved(
                report_id=report.id,
                code=report.code,
                category_code=report.category_code,
                agency_code=report.agency_code,
                reporter_id=report.reporter_id,
                reporter_kind=report.reporter_kind,
                answer_file_ids=list(given.file_ids),
                due_at=report.due_at,
                resolved_at=now,
                on_time=now <= report.due_at,
            ),
            subject=str(report.id),
        )
    # The agency that handles the report from now on reads its files through svc-document's grants, which
    # follow these events: all the files for the agency it is transferred to, the added ones on a supplement.
    if FeedbackTransferred.event_type in decision.events:
        uow.publish(
            FeedbackTransferred(
                report_id=report.id,
                code=report.code,
                category_code=report.category_code,
                from_agency_code=details["from_agency"],
                to_agency_code=report.agency_code,
                status=report.status,
                due_at=report.due_at,
                transferred_at=now,
                file_ids=[uuid.UUID(f) for f in report.file_ids],
            ),
            subject=str(report.id),
        )
    if FeedbackSupplemented.event_type in decision.events:
        uow.publish(
            FeedbackSupplemented(
                report_id=report.id,
                code=report.code,
                category_code=report.category_code,
                agency_code=report.agency_code,
                supplemented_at=now,
                file_ids=list(given.file_ids),
            ),
            subject=str(report.id),
        )
    await session.flush()
    await uow.commit()
    return report


async def _merge_target(uow: UnitOfWork, report: Report, original_id: uuid.UUID | None) -> Report:
    original = await repository.get(uow.session, original_id) if original_id else None
    if original is None or original.id == report.id:
        raise Unprocessable(
            "Không có phản ánh gốc này.",
            code="feedback.unknown_original",
            errors=[{"field": "duplicate_of", "message": "Chọn một phản ánh khác đang có."}],
        )
    if original.status == Status.DUPLICATE.value:
        raise Unprocessable(
            "Phản ánh gốc đã được gộp vào phản ánh khác; hãy gộp vào phản ánh đó.",
            code="feedback.original_is_duplicate",
            extra={"duplicate_of": str(original.duplicate_of)},
        )
    return original


async def moderate(
    uow: UnitOfWork,
    report_id: uuid.UUID,
    principal: Principal,
    *,
    title: str | None,
    description: str | None,
    reason: str,
    expected_version: int,
    now: dt.datetime,
) -> Report:
    """A staff edit of the public text: the original stays in ``original_*``, every changed field is logged."""
    report, actor, view = await visible_report(uow, report_id, principal)
    if view != "staff" or actor.roles.isdisjoint({HANDLER, MODERATOR}):
        raise Forbidden(
            "Cần vai trò xử lý hoặc kiểm duyệt phản ánh của cơ quan.", code="feedback.moderator_required"
        )
    check_version(expected_version, report.version)
    changes = {
        name: nfc(value.strip())
        for name, value in (("title", title), ("description", description))
        if value is not None and nfc(value.strip()) != getattr(report, name)
    }
    for name, value in changes.items():
        uow.session.add(
            _history(
                report,
                action="moderate",
                from_status=report.status,
                actor_kind="official",
                actor_id=principal.subject,
                now=now,
                note=reason,
                public=False,
                details={"field": name, "before": getattr(report, name), "after": value},
            )
        )
        setattr(report, name, value)
    if changes:
        report.updated_at = now
        await uow.session.flush()
        await uow.commit()
    return report


async def support(
    uow: UnitOfWork, report_id: uuid.UUID, principal: Principal, *, now: dt.datetime
) -> tuple[Report, bool]:
    """A citizen's "me too" on an open report of someone else: counted once per citizen."""
    if principal.kind != "citizen":
        raise Forbidden("Chức năng này dành cho công dân.", code="auth.citizen_required")
    report, _, view = await visible_report(uow, report_id, principal)
    if view == "reporter":
        raise Unprocessable("Không thể ủng hộ phản ánh của chính mình.", code="feedback.own_report")
    if Status(report.status) not in OPEN:
        raise Conflict(
            "Chỉ ủng hộ được phản ánh đang xử lý.",
            code="feedback.not_open",
            extra={"report_status": report.status},
        )
    added = await repository.add_support(uow.session, report.id, principal.subject, now)
    if added:
        report.support_count += 1
        await uow.session.flush()
        await uow.commit()
    return report, added


# --- views ----------------------------------------------------------------------------------------------------


class Names:
    """Names of categories, areas and agencies for the views of a batch of reports."""

    def __init__(self, areas: AreaIndex, agencies: Mapping[str, str]) -> None:
        self.areas = areas
        self.agencies = agencies

    @classmethod
    async def load(cls, uow: UnitOfWork, areas: AreaIndex) -> Names:
        return cls(areas, await agency_names(uow.session))

    def category(self, code: str) -> str:
        category = CATEGORIES_BY_CODE.get(code)
        return category.name if category else code

    def area(self, code: str | None) -> str | None:
        area = self.areas.get(code) if code else None
        return area.name if area else None

    def agency(self, code: str) -> str | None:
        return self.agencies.get(code)


def public_view(report: Report, names: Names, *, show_name: bool) -> ReportPublic:
    return ReportPublic(**_public_fields(report, names, show_name=show_name))


def _public_fields(report: Report, names: Names, *, show_name: bool) -> dict[str, Any]:
    status = Status(report.status)
    published = status in (Status.RESOLVED, Status.CLOSED)
    return {
        "id": report.id,
        "code": report.code,
        "title": report.title,
        "description": report.description,
        "category_code": report.category_code,
        "category_name": names.category(report.category_code),
        "status": status.value,
        "status_label": status.label,
        "lat": report.lat,
        "lon": report.lon,
        "address": report.address,
        "area_code": report.area_code,
        "area_name": names.area(report.area_code),
        "agency_code": report.agency_code,
        "agency_name": names.agency(report.agency_code),
        "reporter_name": report.reporter_name if show_name and not report.anonymous else None,
        "support_count": report.support_count,
        "duplicate_of": report.duplicate_of,
        "answer": report.answer if published else None,
        "answer_file_ids": report.answer_file_ids if published else [],
        "media_url": report.media_url,
        "submitted_at": report.submitted_at,
        "resolved_at": report.resolved_at if published else None,
    }


def full_view(report: Report, names: Names, actor: Actor, *, now: dt.datetime) -> ReportRead:
    status = Status(report.status)
    fields = _public_fields(report, names, show_name=True)
    fields.update(
        reporter_name=report.reporter_name,
        answer=report.answer,
        answer_file_ids=report.answer_file_ids,
        resolved_at=report.resolved_at,
    )
    return ReportRead(
        **fields,
        channel=report.channel,
        original_title=report.original_title,
        original_description=report.original_description,
        routing_reason=report.routing_reason,
        handler_id=report.handler_id,
        handler_name=report.handler_name,
        reporter_kind=report.reporter_kind,
        anonymous=report.anonymous,
        private=report.private,
        file_ids=[uuid.UUID(f) for f in report.file_ids],
        attributes=report.attributes,
        refusal_kind=report.refusal_kind,
        status_note=report.status_note,
        rating=report.rating,
        rating_comment=report.rating_comment,
        reopen_count=report.reopen_count,
        supplement_count=report.supplement_count,
        accepted_at=report.accepted_at,
        handled_at=report.handled_at,
        closed_at=report.closed_at,
        due_at=report.due_at,
        stage_due_at=report.stage_due_at,
        reopen_until=reopen_deadline(report.resolved_at)
        if status == Status.RESOLVED and report.resolved_at
        else None,
        overdue=status in WATCHED and now > report.due_at,
        escalation_level=report.escalation_level,
        version=report.version,
        allowed_actions=allowed_actions(status, Context(actor, now, resolved_at=report.resolved_at)),
    )
