"""``/api/v1/feedback/reports``: submit, follow and handle reports; actions are sub-resources with If-Match."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import false

from egov_feedback.context import Feedback, FeedbackDep
from egov_feedback.reports import repository, service
from egov_feedback.reports.models import Report
from egov_feedback.reports.rules import HANDLER, WATCHED, Action, Status
from egov_feedback.reports.schemas import (
    AssignBody,
    HistoryRead,
    MergeBody,
    ModerateBody,
    Note,
    RateBody,
    RefuseBody,
    ReportCreate,
    ReportCreated,
    ReportPublic,
    ReportRead,
    RequiredNote,
    SupportResult,
    TransferBody,
    WithFiles,
)
from egov_shared.agencies import subtree
from egov_shared.auth.dependencies import CurrentPrincipal, bearer_token
from egov_shared.auth.tokens import Principal
from egov_shared.http.app import RuntimeDep, UoWDep
from egov_shared.http.etag import IfMatchVersion, etag, set_etag
from egov_shared.http.idempotency import Idempotency
from egov_shared.http.pagination import Page, PageParamsDep, encode_cursor
from egov_shared.http.problems import problem_responses
from egov_shared.problems import Forbidden
from egov_shared.runtime import ServiceRuntime
from egov_shared.uow import UnitOfWork

router = APIRouter(prefix="/api/v1/feedback/reports", tags=["feedback reports"])

# Officials who may enter a report phoned in to the hotline (the one-stop-shop clerk takes calls too).
HOTLINE_ROLES = frozenset({HANDLER, "receiver"})


@router.post(
    "",
    status_code=201,
    response_model=ReportCreated,
    summary="Submit a report (citizen; or hotline staff with channel 'hotline')",
    responses=problem_responses(401, 403, 409, 422, 429, 503),
)
async def submit(
    body: ReportCreate,
    request: Request,
    principal: CurrentPrincipal,
    uow: UoWDep,
    runtime: RuntimeDep,
    feedback: FeedbackDep,
    idempotency: Idempotency,
) -> Response:
    settings = feedback.settings
    contact: dict[str, str] = {}
    rate_limit = None
    if principal.kind == "citizen":
        if body.channel == "hotline":
            raise Forbidden("Kênh đường dây nóng do cán bộ nhập.", code="feedback.hotline_staff_only")
        reporter_kind: service.ReporterKind = "citizen"
        reporter_id, reporter_name = principal.subject, principal.name
        if body.anonymous:
            rate_limit = service.RateLimit(
                key=f"anonymous:citizen:{principal.subject}",
                limit=settings.anonymous_reports_per_window,
                window_seconds=settings.rate_window_seconds,
                detail="Bạn đã gửi quá nhiều phản ánh ẩn danh; vui lòng thử lại sau.",
            )
    elif principal.kind == "official" and not principal.roles.isdisjoint(HOTLINE_ROLES):
        if body.channel != "hotline":
            raise Forbidden("Cán bộ chỉ nhập phản ánh qua đường dây nóng.", code="feedback.citizen_required")
        reporter_kind, reporter_id, reporter_name = "staff", None, body.caller_name
        contact = {k: v for k, v in (("name", body.caller_name), ("phone", body.caller_phone)) if v}
    else:
        raise Forbidden("Chức năng này dành cho công dân.", code="auth.citizen_required")
    category = service.category_of(body.category_code)
    attributes = service.checked_attributes(category, body.attributes)
    token = bearer_token(request)

    async def action() -> ReportCreated:
        await service.check_files(runtime.peers, token, body.file_ids)
        now = feedback.now()
        report, duplicates = await service.submit(
            uow,
            service.Submission(
                title=body.title,
                description=body.description,
                category_code=category.code,
                channel=body.channel,
                reporter_kind=reporter_kind,
                lat=body.lat,
                lon=body.lon,
                address=body.address,
                file_ids=body.file_ids,
                attributes=attributes,
                anonymous=body.anonymous,
                private=body.private,
                reporter_id=reporter_id,
                reporter_name=reporter_name,
                contact=contact,
            ),
            now=now,
            areas=feedback.areas,
            rate_limit=rate_limit,
        )
        names = await service.Names.load(uow, feedback.areas)
        actor, _ = await service.access(uow, report, principal)
        return ReportCreated(
            report=service.full_view(report, names, actor, now=now),
            possible_duplicates=[service.public_view(d, names, show_name=True) for d in duplicates],
        )

    return await idempotency.run(
        uow,
        body,
        action,
        response_model=ReportCreated,
        headers=lambda created: {
            "ETag": etag(created.report.version),
            "Location": f"/api/v1/feedback/reports/{created.report.id}",
        },
    )


@router.get(
    "",
    response_model=Page[ReportRead],
    summary="A citizen's own reports; an official's queue (their agency and those below it)",
    responses=problem_responses(401, 403, 422),
)
async def queue(
    principal: CurrentPrincipal,
    uow: UoWDep,
    feedback: FeedbackDep,
    page: PageParamsDep,
    status: Annotated[list[Status] | None, Query()] = None,
    category_code: Annotated[str | None, Query(max_length=10)] = None,
    agency_code: Annotated[str | None, Query(pattern=r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")] = None,
    overdue: Annotated[
        bool | None, Query(description="Officials: only reports past their answer deadline")
    ] = None,
    mine: Annotated[bool, Query(description="Officials: only reports assigned to me")] = False,
) -> Page[ReportRead]:
    now = feedback.now()
    query = repository.page_query(page.after)
    if principal.kind == "citizen":
        query = query.where(Report.reporter_kind == "citizen", Report.reporter_id == principal.subject)
    elif principal.kind == "official" and principal.agency:
        agencies = await subtree(uow.session, principal.agency)
        if agency_code is not None:
            agencies &= {agency_code}
        query = query.where(Report.agency_code.in_(sorted(agencies))) if agencies else query.where(false())
        if overdue:
            query = query.where(Report.status.in_([s.value for s in WATCHED]), Report.due_at < now)
        if mine:
            query = query.where(Report.handler_id == principal.subject)
    else:
        raise Forbidden("Ứng dụng đối tác dùng Open311.", code="feedback.person_required")
    if status:
        query = query.where(Report.status.in_([s.value for s in status]))
    if category_code:
        query = query.where(Report.category_code == category_code)
    rows = list(await uow.session.scalars(query.limit(page.limit + 1)))
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        next_cursor = encode_cursor(repository.cursor_key(rows[-1]))
    names = await service.Names.load(uow, feedback.areas)
    items = []
    for report in rows:
        actor, _ = await service.access(uow, report, principal)
        items.append(service.full_view(report, names, actor, now=now))
    return Page[ReportRead](items=items, next_cursor=next_cursor)


@router.get(
    "/{report_id}",
    response_model=ReportRead | ReportPublic,
    summary="A report: the full view for its reporter and its agency, the public view for others",
    responses=problem_responses(401, 404),
)
async def read(
    report_id: uuid.UUID, principal: CurrentPrincipal, uow: UoWDep, feedback: FeedbackDep, response: Response
) -> ReportRead | ReportPublic:
    report, actor, view = await service.visible_report(uow, report_id, principal)
    names = await service.Names.load(uow, feedback.areas)
    set_etag(response, report.version)
    if view == "public":
        return service.public_view(report, names, show_name=True)
    return service.full_view(report, names, actor, now=feedback.now())


@router.get(
    "/{report_id}/history",
    response_model=list[HistoryRead],
    summary="What happened to a report (staff see internal steps and every edit)",
    responses=problem_responses(401, 404),
)
async def history(report_id: uuid.UUID, principal: CurrentPrincipal, uow: UoWDep) -> list[HistoryRead]:
    report, _, view = await service.visible_report(uow, report_id, principal)
    rows = await repository.history(uow.session, report.id, public_only=view != "staff")
    return [HistoryRead.model_validate(row) for row in rows]


@router.patch(
    "/{report_id}",
    response_model=ReportRead,
    summary="Moderate the public text (the original is kept; every edit is logged)",
    responses=problem_responses(401, 403, 404, 412, 422, 428),
)
async def moderate(
    report_id: uuid.UUID,
    body: ModerateBody,
    principal: CurrentPrincipal,
    version: IfMatchVersion,
    uow: UoWDep,
    feedback: FeedbackDep,
    response: Response,
) -> ReportRead:
    now = feedback.now()
    report = await service.moderate(
        uow,
        report_id,
        principal,
        title=body.title,
        description=body.description,
        reason=body.reason,
        expected_version=version,
        now=now,
    )
    return await _answer(uow, report, principal, feedback, response)


@router.post(
    "/{report_id}/support",
    response_model=SupportResult,
    summary='"Me too": support an open report (once per citizen)',
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def support(
    report_id: uuid.UUID, principal: CurrentPrincipal, uow: UoWDep, feedback: FeedbackDep
) -> SupportResult:
    report, added = await service.support(uow, report_id, principal, now=feedback.now())
    return SupportResult(report_id=report.id, support_count=report.support_count, added=added)


async def _answer(
    uow: UnitOfWork, report: Report, principal: CurrentPrincipal, feedback: FeedbackDep, response: Response
) -> ReportRead:
    names = await service.Names.load(uow, feedback.areas)
    actor, _ = await service.access(uow, report, principal)
    set_etag(response, report.version)
    return service.full_view(report, names, actor, now=feedback.now())


@dataclass(frozen=True)
class ActionCall:
    """What every action endpoint needs besides its body: who calls, the expected version, the unit of work."""

    request: Request
    principal: Principal
    version: int
    uow: UnitOfWork
    runtime: ServiceRuntime
    feedback: Feedback
    response: Response

    async def take(self, action: Action, report_id: uuid.UUID, given: service.ActionInput) -> ReportRead:
        report = await service.act(
            self.uow,
            report_id,
            action,
            self.principal,
            given,
            expected_version=self.version,
            now=self.feedback.now(),
            peers=self.runtime.peers,
            token=bearer_token(self.request),
        )
        return await _answer(self.uow, report, self.principal, self.feedback, self.response)


async def _action_call(
    request: Request,
    principal: CurrentPrincipal,
    version: IfMatchVersion,
    uow: UoWDep,
    runtime: RuntimeDep,
    feedback: FeedbackDep,
    response: Response,
) -> ActionCall:
    return ActionCall(request, principal, version, uow, runtime, feedback, response)


ActionCallDep = Annotated[ActionCall, Depends(_action_call)]


ACTION_RESPONSES = problem_responses(401, 403, 404, 409, 412, 422, 428)


@router.post("/{report_id}/accept", response_model=ReportRead, responses=ACTION_RESPONSES)
async def accept(
    report_id: uuid.UUID,
    body: Note,
    call: ActionCallDep,
) -> ReportRead:
    """The agency takes the report on (within 2 working days of receipt)."""
    given = service.ActionInput(note=body.note)
    return await call.take(Action.ACCEPT, report_id, given)


@router.post("/{report_id}/refuse", response_model=ReportRead, responses=ACTION_RESPONSES)
async def refuse(
    report_id: uuid.UUID,
    body: RefuseBody,
    call: ActionCallDep,
) -> ReportRead:
    """Out of scope, abusive or a duplicate: refused with a reason the reporter reads."""
    given = service.ActionInput(note=body.note, refusal_kind=body.refusal_kind)
    return await call.take(Action.REFUSE, report_id, given)


@router.post("/{report_id}/assign", response_model=ReportRead, responses=ACTION_RESPONSES)
async def assign(
    report_id: uuid.UUID,
    body: AssignBody,
    call: ActionCallDep,
) -> ReportRead:
    """Give the report to a handler, or to another one (reassignment)."""
    given = service.ActionInput(note=body.note, handler_id=body.handler_id, handler_name=body.handler_name)
    return await call.take(Action.ASSIGN, report_id, given)


@router.post("/{report_id}/start", response_model=ReportRead, responses=ACTION_RESPONSES)
async def start(
    report_id: uuid.UUID,
    body: Note,
    call: ActionCallDep,
) -> ReportRead:
    given = service.ActionInput(note=body.note)
    return await call.take(Action.START, report_id, given)


@router.post("/{report_id}/transfer", response_model=ReportRead, responses=ACTION_RESPONSES)
async def transfer(
    report_id: uuid.UUID,
    body: TransferBody,
    call: ActionCallDep,
) -> ReportRead:
    """Send the report to another agency: it is received there anew, with fresh deadlines."""
    given = service.ActionInput(note=body.note, agency_code=body.agency_code)
    return await call.take(Action.TRANSFER, report_id, given)


@router.post("/{report_id}/request_supplement", response_model=ReportRead, responses=ACTION_RESPONSES)
async def request_supplement(
    report_id: uuid.UUID,
    body: RequiredNote,
    call: ActionCallDep,
) -> ReportRead:
    """Ask the reporter for more information; the answer deadline waits meanwhile."""
    given = service.ActionInput(note=body.note)
    return await call.take(Action.REQUEST_SUPPLEMENT, report_id, given)


@router.post("/{report_id}/supplement", response_model=ReportRead, responses=ACTION_RESPONSES)
async def supplement(
    report_id: uuid.UUID,
    body: WithFiles,
    call: ActionCallDep,
) -> ReportRead:
    """The reporter answers a supplementation request (text and files)."""
    given = service.ActionInput(note=body.note, file_ids=body.file_ids)
    return await call.take(Action.SUPPLEMENT, report_id, given)


@router.post("/{report_id}/resolve", response_model=ReportRead, responses=ACTION_RESPONSES)
async def resolve(
    report_id: uuid.UUID,
    body: WithFiles,
    call: ActionCallDep,
) -> ReportRead:
    """The public answer, with attachments; publishes ``feedback.resolved``."""
    given = service.ActionInput(note=body.note, file_ids=body.file_ids)
    return await call.take(Action.RESOLVE, report_id, given)


@router.post("/{report_id}/reopen", response_model=ReportRead, responses=ACTION_RESPONSES)
async def reopen(
    report_id: uuid.UUID,
    body: RequiredNote,
    call: ActionCallDep,
) -> ReportRead:
    """The reporter is not satisfied: reopen within 10 days of the answer."""
    given = service.ActionInput(note=body.note)
    return await call.take(Action.REOPEN, report_id, given)


@router.post("/{report_id}/rate", response_model=ReportRead, responses=ACTION_RESPONSES)
async def rate(
    report_id: uuid.UUID,
    body: RateBody,
    call: ActionCallDep,
) -> ReportRead:
    """The reporter rates the answer (1–5); the report is closed."""
    given = service.ActionInput(rating=body.rating, comment=body.comment)
    return await call.take(Action.RATE, report_id, given)


@router.post("/{report_id}/merge", response_model=ReportRead, responses=ACTION_RESPONSES)
async def merge(
    report_id: uuid.UUID,
    body: MergeBody,
    call: ActionCallDep,
) -> ReportRead:
    """Mark the report a duplicate of another (``duplicate_of``); its reporter supports the original."""
    given = service.ActionInput(note=body.note, duplicate_of=body.duplicate_of)
    return await call.take(Action.MERGE, report_id, given)
