"""Open311 GeoReport v2 at ``/open311/v2/``, JSON or XML by the format extension.

Reads are public; ``POST requests`` needs a partner's ``api_key`` (stored hashed). Reports are shown without
personal data and without private reports. Our statuses map to Open311's two (``open``/``closed``); the detail
goes in ``status_notes``, and ``servicerequestupdates`` carries FixMyStreet's finer states. Errors are the
spec's ``[{code, description}]`` with 400/403/404 (and 429 with ``Retry-After`` when a partner's device sends
too much); FastAPI's own validation is kept off these routes so no problem+json leaks into the protocol.

Choices the spec leaves open: every category is a ``realtime`` service, so ``POST requests`` answers a
``service_request_id`` (our report code) at once, with status 200 as most GeoReport servers do; a token is
the report's internal id, and ``GET tokens/{token}`` resolves it. Partner submissions are anonymous in public
(the partner's user never chose to be named here); the name, email and phone they send are kept for the agency.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy import select

from egov_feedback.context import FeedbackDep
from egov_feedback.open311 import formats
from egov_feedback.open311.formats import (
    CreatedRequest,
    Format,
    Open311Error,
    RequestUpdate,
    ServiceRequest,
)
from egov_feedback.partners.service import partner_by_key
from egov_feedback.ratelimit import RateLimited
from egov_feedback.reference.categories import CATEGORIES, get_category
from egov_feedback.reports import service
from egov_feedback.reports.models import Report, ReportHistory
from egov_feedback.reports.rules import OPEN, Status
from egov_shared.http.app import UoWDep
from egov_shared.http.text_guard import form_has_nul, target_has_nul
from egov_shared.problems import Unprocessable

PREFIX: Final = "/open311/v2"
# What the routes really answer, for clients and fuzzers reading the OpenAPI: the document in the format of the
# extension, or the spec's error list (never problem details).
_ERRORS_SCHEMA: Final[dict[str, Any]] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
}
_XML: Final[dict[str, Any]] = {"text/xml": {"schema": {"type": "string"}}}


def _error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": "Open311 errors: [{code, description}]",
            "content": {"application/json": {"schema": _ERRORS_SCHEMA}, **_XML},
        }
        for status in statuses
    }


router = APIRouter(
    prefix=PREFIX,
    tags=["open311"],
    responses={200: {"description": "The document, JSON or XML", "content": _XML}, **_error_responses(404)},
)
CHANGESET = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
UPDATES_LIMIT = 1000

# Our actions as FixMyStreet's update states.
_UPDATE_STATUS: Final[dict[str, str]] = {
    "submit": "open",
    "accept": "investigating",
    "start": "in_progress",
    "transfer": "internal_referral",
    "request_supplement": "investigating",
    "supplement": "investigating",
    "resolve": "fixed",
    "reopen": "open",
    "rate": "closed",
    "close": "closed",
    "merge": "duplicate",
}


# The shared text guard skips Open311 (its errors have their own form): the routes refuse NUL themselves.
_NUL_REFUSED = "Yêu cầu có ký tự NUL, không lưu được."


def _format(request: Request, fmt: str) -> Format:
    """The format of the extension; remembered for the error handler, which renders errors the same way."""
    if fmt not in formats.FORMATS:
        request.state.open311_format = "json"
        raise Open311Error.single(404, f"format: chỉ hỗ trợ .json và .xml, không có .{fmt}.")
    chosen: Format = "json" if fmt == "json" else "xml"
    request.state.open311_format = chosen
    if target_has_nul(request.scope):
        raise Open311Error.single(400, _NUL_REFUSED)
    return chosen


def _render(
    document: formats.Document, fmt: Format, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        document.render(fmt), status_code=status, media_type=formats.media_type(fmt), headers=headers
    )


async def _on_open311_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Open311Error)
    fmt: Format = getattr(request.state, "open311_format", "json")
    return _render(exc.document(), fmt, exc.status)


def install_error_handler(app: FastAPI) -> None:
    app.add_exception_handler(Open311Error, _on_open311_error)


@router.get("/discovery.{fmt}", summary="Service discovery")
async def discovery(fmt: str, request: Request, feedback: FeedbackDep) -> Response:
    chosen = _format(request, fmt)
    return _render(
        formats.discovery(
            url=f"{feedback.settings.issuer.rstrip('/')}{PREFIX}",
            changeset=CHANGESET,
            contact=feedback.settings.open311_contact,
            key_service="Liên hệ Trung tâm Phục vụ hành chính công tỉnh để được cấp api_key.",
        ),
        chosen,
    )


@router.get("/services.{fmt}", summary="The service list (our report categories)")
async def services(fmt: str, request: Request) -> Response:
    return _render(formats.service_list(CATEGORIES), _format(request, fmt))


@router.get("/services/{service_code}.{fmt}", summary="A service definition (its attributes)")
async def service_definition(service_code: str, fmt: str, request: Request) -> Response:
    chosen = _format(request, fmt)
    category = get_category(service_code)
    if category is None:
        raise Open311Error.single(404, f"service_code: không có dịch vụ {service_code!r}.")
    return _render(formats.service_definition(category), chosen)


@router.post(
    "/requests.{fmt}",
    summary="Create a service request (form-urlencoded, api_key required)",
    responses=_error_responses(400, 403, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["api_key", "service_code"],
                        "properties": {
                            "api_key": {"type": "string"},
                            "service_code": {"type": "string"},
                            "lat": {"type": "number"},
                            "long": {"type": "number"},
                            "address_string": {"type": "string"},
                            "description": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
)
async def create_request(fmt: str, request: Request, uow: UoWDep, feedback: FeedbackDep) -> Response:
    chosen = _format(request, fmt)
    try:
        form = await request.form()
    except Exception as exc:  # a body that is not a form at all
        raise Open311Error.single(400, "Gửi yêu cầu dạng application/x-www-form-urlencoded.") from exc
    if form_has_nul(form.multi_items()):
        raise Open311Error.single(400, _NUL_REFUSED)
    parsed = formats.parse_request_form(form.multi_items())
    partner = await partner_by_key(uow.session, parsed.api_key)
    if partner is None:
        raise Open311Error.single(403, "api_key: khoá API không hợp lệ.")
    category = get_category(parsed.service_code)
    if category is None:
        raise Open311Error.single(400, f"service_code: không có dịch vụ {parsed.service_code!r}.")
    attributes = formats.validate_attributes(category, parsed.attributes)
    settings = feedback.settings
    description = parsed.description or category.name
    title = description if len(description) <= 80 else description[:79].rstrip() + "…"
    name = " ".join(part for part in (parsed.first_name, parsed.last_name) if part) or None
    contact = {
        key: value
        for key, value in (
            ("name", name),
            ("email", parsed.email),
            ("phone", parsed.phone),
            ("account_id", parsed.account_id),
        )
        if value
    }
    device = parsed.device_id or "-"
    try:
        report, _ = await service.submit(
            uow,
            service.Submission(
                title=title if len(title) >= 3 else category.name,
                description=description if len(description) >= 3 else category.name,
                category_code=category.code,
                channel="partner",
                reporter_kind="partner",
                lat=parsed.lat,
                lon=parsed.long,
                address=parsed.address_string,
                address_id=parsed.address_id,
                attributes=attributes,
                anonymous=True,
                reporter_name=name,
                contact=contact,
                partner_id=partner.id,
                device_id=parsed.device_id,
                media_url=parsed.media_url,
            ),
            now=feedback.now(),
            areas=feedback.areas,
            rate_limit=service.RateLimit(
                key=f"open311:{partner.id}:{device}",
                limit=settings.open311_reports_per_window,
                window_seconds=settings.rate_window_seconds,
                detail="Thiết bị này đã gửi quá nhiều yêu cầu; vui lòng thử lại sau.",
            ),
        )
    except RateLimited as exc:
        document = formats.errors([(429, exc.detail or "Quá nhiều yêu cầu.")])
        return _render(document, chosen, 429, headers={"Retry-After": str(exc.retry_after)})
    except Unprocessable as exc:  # unknown category, a point outside the province
        field = "lat, long" if exc.code == "feedback.outside_province" else "service_code"
        raise Open311Error.single(400, f"{field}: {exc.detail}") from exc
    names = await service.Names.load(uow, feedback.areas)
    due = report.due_at.astimezone(dt.timezone(dt.timedelta(hours=7))) - dt.timedelta(microseconds=1)
    notice = f"Cơ quan tiếp nhận: {names.agency(report.agency_code) or report.agency_code}. Hạn trả lời: {due:%d/%m/%Y}."
    created = CreatedRequest(
        service_request_id=report.code, service_notice=notice, account_id=parsed.account_id
    )
    return _render(formats.request_created(created), chosen)


def _status_notes(report: Report) -> str:
    status = Status(report.status)
    detail = report.answer if status in (Status.RESOLVED, Status.CLOSED) else report.status_note
    return f"{status.label}: {detail}" if detail else status.label


def _as_request(report: Report, names: service.Names) -> ServiceRequest:
    is_open = Status(report.status) in OPEN
    return ServiceRequest(
        service_request_id=report.code,
        status="open" if is_open else "closed",
        status_notes=_status_notes(report),
        service_code=report.category_code,
        service_name=names.category(report.category_code),
        description=report.description,
        agency_responsible=names.agency(report.agency_code),
        requested_datetime=report.submitted_at,
        updated_datetime=report.updated_at,
        expected_datetime=report.due_at if is_open else None,
        address=report.address,
        address_id=report.address_id,
        lat=report.lat,
        long=report.lon,
        media_url=report.media_url,
    )


@router.get(
    "/requests.{fmt}",
    summary="Service requests, filtered (default: the last 90 days)",
    responses=_error_responses(400),
)
async def list_requests(fmt: str, request: Request, uow: UoWDep, feedback: FeedbackDep) -> Response:
    chosen = _format(request, fmt)
    query = formats.parse_requests_query(request.query_params.multi_items(), now=feedback.now())
    statement = select(Report).where(Report.private.is_(False))
    if query.service_request_ids:
        statement = statement.where(Report.code.in_(query.service_request_ids))
    else:
        if query.service_codes:
            statement = statement.where(Report.category_code.in_(query.service_codes))
        open_values = [s.value for s in OPEN]
        if query.statuses == ("open",):
            statement = statement.where(Report.status.in_(open_values))
        elif query.statuses == ("closed",):
            statement = statement.where(Report.status.not_in(open_values))
        if query.start_date is not None:
            statement = statement.where(Report.submitted_at >= query.start_date)
        if query.end_date is not None:
            statement = statement.where(Report.submitted_at <= query.end_date)
    statement = (
        statement.order_by(Report.submitted_at.desc(), Report.code.desc())
        .offset((query.page - 1) * query.page_size)
        .limit(query.page_size)
    )
    names = await service.Names.load(uow, feedback.areas)
    reports = list(await uow.session.scalars(statement))
    return _render(formats.service_requests(_as_request(r, names) for r in reports), chosen)


@router.get("/requests/{service_request_id}.{fmt}", summary="One service request (an array of one)")
async def one_request(
    service_request_id: str, fmt: str, request: Request, uow: UoWDep, feedback: FeedbackDep
) -> Response:
    chosen = _format(request, fmt)
    report = await uow.session.scalar(
        select(Report).where(Report.code == service_request_id, Report.private.is_(False))
    )
    if report is None:
        raise Open311Error.single(404, f"service_request_id: không có yêu cầu {service_request_id!r}.")
    names = await service.Names.load(uow, feedback.areas)
    return _render(formats.service_requests([_as_request(report, names)]), chosen)


@router.get("/tokens/{token}.{fmt}", summary="The service request id of a token")
async def token_lookup(token: str, fmt: str, request: Request, uow: UoWDep) -> Response:
    chosen = _format(request, fmt)
    try:
        report_id = uuid.UUID(token)
    except ValueError:
        report_id = None
    report = await uow.session.get(Report, report_id) if report_id else None
    if report is None or report.private:
        raise Open311Error.single(404, f"token: không có token {token!r}.")
    return _render(formats.token_lookup(token, report.code), chosen)


@router.get(
    "/servicerequestupdates.{fmt}",
    summary="Status updates of requests (FixMyStreet's extension)",
    responses=_error_responses(400),
)
async def updates(fmt: str, request: Request, uow: UoWDep) -> Response:
    chosen = _format(request, fmt)
    query = formats.parse_updates_query(request.query_params.multi_items())
    statement = (
        select(ReportHistory, Report.code)
        .join(Report, Report.id == ReportHistory.report_id)
        .where(
            ReportHistory.public,
            Report.private.is_(False),
            ReportHistory.action.in_(sorted(_UPDATE_STATUS) + ["refuse"]),
        )
    )
    if query.start_date is not None:
        statement = statement.where(ReportHistory.created_at >= query.start_date)
    if query.end_date is not None:
        statement = statement.where(ReportHistory.created_at <= query.end_date)
    statement = statement.order_by(ReportHistory.created_at, ReportHistory.id).limit(UPDATES_LIMIT)
    items = []
    for row, code in (await uow.session.execute(statement)).all():
        items.append(
            RequestUpdate(
                update_id=str(row.id),
                service_request_id=code,
                status=_update_status(row),
                updated_datetime=row.created_at,
                description=row.note or Status(row.to_status).label,
            )
        )
    return _render(formats.service_request_updates(items), chosen)


def _update_status(row: ReportHistory) -> str:
    if row.action == "refuse":
        kind = row.details.get("refusal_kind")
        return {"duplicate": "duplicate", "out_of_scope": "not_councils_responsibility"}.get(
            str(kind), "no_further_action"
        )
    return _UPDATE_STATUS[row.action]
