"""``/api/v1/dossiers``: submit, follow and process dossiers; the public status lookup; the statistics."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Select, and_, or_, select, tuple_

from egov_dossier.config import Settings
from egov_dossier.dossiers import service, statistics
from egov_dossier.dossiers.models import Dossier
from egov_dossier.dossiers.rules import ACTIVE_STATUSES, Action, Status
from egov_dossier.dossiers.schemas import (
    DossierAction,
    DossierCreate,
    DossierCreated,
    DossierRead,
    PublicStatus,
    StepRead,
)
from egov_shared.agencies import acts_for, subtree
from egov_shared.auth.dependencies import CurrentPrincipal, bearer_token
from egov_shared.auth.tokens import Principal
from egov_shared.contracts.identity import AGENCY_CODE_PATTERN
from egov_shared.db import utcnow
from egov_shared.http.app import RuntimeDep, UoWDep
from egov_shared.http.etag import IfMatchVersion, set_etag
from egov_shared.http.idempotency import Idempotency
from egov_shared.http.pagination import Page, PageParamsDep, encode_cursor
from egov_shared.http.problems import problem_responses
from egov_shared.problems import NotFound, Unprocessable

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])


def get_clock(request: Request) -> Callable[[], dt.datetime]:
    """The service's clock (``app.state.clock``): tests move it; everything else reads the real time."""
    clock: Callable[[], dt.datetime] = getattr(request.app.state, "clock", utcnow)
    return clock


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


ClockDep = Annotated[Callable[[], dt.datetime], Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def caller(request: Request, principal: Principal) -> service.Caller:
    return service.Caller(principal=principal, token=bearer_token(request) or "")


def read(
    dossier: Dossier, principal: Principal, model: type[DossierRead] = DossierRead, **extra: object
) -> DossierRead:
    return model.model_validate(
        {
            **{name: getattr(dossier, name) for name in DossierRead.model_fields if hasattr(dossier, name)},
            "status_label": Status(dossier.status).label,
            "allowed_actions": service.allowed_actions(principal, dossier),
            **extra,
        }
    )


@router.post(
    "",
    status_code=201,
    response_model=DossierCreated,
    summary="Submit a dossier (a citizen online; a one-stop clerk for a dossier filed at the counter or by post)",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def submit(
    body: DossierCreate,
    request: Request,
    principal: CurrentPrincipal,
    uow: UoWDep,
    runtime: RuntimeDep,
    idempotency: Idempotency,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    async def action() -> DossierRead:
        dossier, secret = await service.submit(
            uow,
            runtime.peers,
            caller(request, principal),
            body,
            now=clock(),
            code_pattern=settings.code_pattern,
        )
        return read(dossier, principal, DossierCreated, lookup_secret=secret)

    return await idempotency.run(
        uow,
        body,
        action,
        response_model=DossierCreated,
        headers=lambda d: {"Location": f"/api/v1/dossiers/{d.id}", "ETag": f'"{d.version}"'},
    )


@router.get(
    "",
    response_model=Page[DossierRead],
    summary="A citizen's own dossiers; for an official, the queue of their agency and those below it",
    responses=problem_responses(401, 404, 422),
)
async def queue(
    principal: CurrentPrincipal,
    uow: UoWDep,
    page: PageParamsDep,
    clock: ClockDep,
    agency_code: Annotated[str | None, Query(pattern=AGENCY_CODE_PATTERN)] = None,
    status: Annotated[list[int] | None, Query(description="One or more status codes (1–10)")] = None,
    procedure_code: Annotated[str | None, Query(max_length=60)] = None,
    assignee_id: Annotated[str | None, Query(max_length=64)] = None,
    overdue: Annotated[bool, Query(description="Open dossiers past their appointment date")] = False,
    due_within_days: Annotated[
        int | None, Query(ge=0, le=90, description="Open dossiers due within N calendar days")
    ] = None,
    received_from: dt.datetime | None = None,
    received_to: dt.datetime | None = None,
) -> Page[DossierRead]:
    now = clock()
    for name, moment in (("received_from", received_from), ("received_to", received_to)):
        if moment is not None and moment.tzinfo is None:
            raise Unprocessable(
                "Thời điểm cần có múi giờ (RFC 3339).",
                code="request.invalid_period",
                errors=[{"field": name, "message": "Ghi rõ múi giờ, ví dụ 2026-11-01T00:00:00+07:00."}],
            )
    if status and any(code not in range(1, 11) for code in status):
        raise Unprocessable(
            "Mã trạng thái từ 1 đến 10.",
            code="request.invalid_status",
            errors=[{"field": "status", "message": "Mã trạng thái từ 1 đến 10."}],
        )
    query: Select[Dossier] = select(Dossier)
    if principal.kind == "citizen":
        query = query.where(Dossier.applicant_id == principal.subject)
    elif principal.kind == "official":
        agencies = await service.queue_agencies(uow.session, principal, agency_code)
        query = query.where(Dossier.agency_code.in_(agencies))
    else:
        raise NotFound("Không có hồ sơ nào.", code="dossier.not_found")
    if status:
        query = query.where(Dossier.status.in_(status))
    if procedure_code:
        query = query.where(Dossier.procedure_code == procedure_code)
    if assignee_id:
        query = query.where(Dossier.assignee_id == assignee_id)
    if overdue or due_within_days is not None:
        query = query.where(Dossier.status.in_(ACTIVE_STATUSES), Dossier.due_at.is_not(None))
    if overdue:
        # A dossier waiting on the applicant has its clock stopped: overdue only if it was when it stopped.
        query = query.where(
            or_(
                and_(Dossier.paused_since.is_(None), Dossier.due_at < now),
                Dossier.paused_since > Dossier.due_at,
            )
        )
    if due_within_days is not None:
        query = query.where(
            Dossier.paused_since.is_(None),
            Dossier.due_at >= now,
            Dossier.due_at < now + dt.timedelta(days=due_within_days),
        )
    if received_from:
        query = query.where(Dossier.received_at >= received_from)
    if received_to:
        query = query.where(Dossier.received_at < received_to)
    if page.after:
        try:
            after = (dt.datetime.fromisoformat(str(page.after[0])), uuid.UUID(str(page.after[1])))
        except (ValueError, IndexError, TypeError, AttributeError) as exc:
            raise Unprocessable("Con trỏ phân trang không hợp lệ.", code="request.invalid_cursor") from exc
        if after[0].tzinfo is None:
            raise Unprocessable("Con trỏ phân trang không hợp lệ.", code="request.invalid_cursor")
        query = query.where(tuple_(Dossier.created_at, Dossier.id) < after)
    rows = list(
        await uow.session.scalars(
            query.order_by(Dossier.created_at.desc(), Dossier.id.desc()).limit(page.limit + 1)
        )
    )
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        next_cursor = encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)])
    return Page[DossierRead](items=[read(d, principal) for d in rows], next_cursor=next_cursor)


@router.get(
    "/statistics",
    response_model=statistics.DossierStatistics,
    summary="The service-quality index (Decision 766) of an agency and those below it, over a period",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_statistics(
    principal: CurrentPrincipal,
    uow: UoWDep,
    clock: ClockDep,
    agency_code: Annotated[str, Query(pattern=AGENCY_CODE_PATTERN)],
    period_from: Annotated[dt.datetime, Query(alias="from")],
    period_to: Annotated[dt.datetime, Query(alias="to")],
) -> statistics.DossierStatistics:
    if principal.kind != "official" or not await acts_for(uow.session, principal.agency, agency_code):
        raise NotFound("Không có số liệu của cơ quan này.", code="dossier.statistics_not_found")
    if period_from.tzinfo is None or period_to.tzinfo is None or period_to <= period_from:
        raise Unprocessable(
            "Khoảng thời gian cần có múi giờ và 'to' sau 'from'.",
            code="request.invalid_period",
            errors=[{"field": "to", "message": "'to' phải sau 'from' (RFC 3339 có múi giờ)."}],
        )
    return await statistics.compute(
        uow.session,
        agency_code,
        sorted(await subtree(uow.session, agency_code)),
        period_from=period_from,
        period_to=period_to,
        now=clock(),
    )


@router.get(
    "/lookup",
    response_model=PublicStatus,
    summary="Public status of a dossier by its code and the lookup code printed on the receipt slip",
    responses=problem_responses(404, 422),
)
async def lookup(
    uow: UoWDep,
    code: Annotated[str, Query(min_length=5, max_length=40)],
    secret: Annotated[str, Query(min_length=4, max_length=40)],
) -> PublicStatus:
    dossier = await service.lookup(uow.session, code, secret)
    return PublicStatus.model_validate(
        {
            **{name: getattr(dossier, name) for name in PublicStatus.model_fields if hasattr(dossier, name)},
            "status_label": Status(dossier.status).label,
        }
    )


@router.get("/{dossier_id}", response_model=DossierRead, responses=problem_responses(401, 404))
async def get(
    dossier_id: uuid.UUID, principal: CurrentPrincipal, uow: UoWDep, response: Response
) -> DossierRead:
    dossier = await service.visible_dossier(uow.session, principal, dossier_id)
    set_etag(response, dossier.version)
    return read(dossier, principal)


@router.get(
    "/{dossier_id}/history",
    response_model=list[StepRead],
    summary="The dossier's log: who did what, when, in which role, from which status to which",
    responses=problem_responses(401, 404),
)
async def get_history(dossier_id: uuid.UUID, principal: CurrentPrincipal, uow: UoWDep) -> list[StepRead]:
    return [
        StepRead.model_validate(step) for step in await service.history(uow.session, principal, dossier_id)
    ]


# Declared last: the specific routes above take precedence over /{dossier_id}/{action}.
@router.post(
    "/{dossier_id}/{action}",
    response_model=DossierRead,
    summary="Act on a dossier: receive, refuse, assign, request_supplement, supplement, request_fee, "
    "approve_and_complete, stop, withdraw, return_result",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428, 503),
)
async def take_action(
    dossier_id: uuid.UUID,
    action: Action,
    request: Request,
    principal: CurrentPrincipal,
    version: IfMatchVersion,
    uow: UoWDep,
    runtime: RuntimeDep,
    clock: ClockDep,
    response: Response,
    body: DossierAction | None = None,
) -> DossierRead:
    if action == Action.FEE_PAID:
        raise NotFound("Không có thao tác này.", code="dossier.unknown_action")
    dossier = await service.act(
        uow,
        runtime.peers,
        caller(request, principal),
        dossier_id,
        action,
        body or DossierAction(),
        expected_version=version,
        now=clock(),
    )
    set_etag(response, dossier.version)
    return read(dossier, principal)
