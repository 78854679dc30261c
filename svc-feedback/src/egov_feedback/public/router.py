"""``/api/v1/feedback/public``: what anyone may read without logging in (the gateway lists it as public).

Only answered reports (resolved or closed) that are not private, with no personal data at all: no reporter
name (even when not anonymous), no contact, no ids of people, no attachments of the reporter.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from shapely.geometry import mapping
from sqlalchemy import Select, select

from egov_feedback.context import FeedbackDep
from egov_feedback.reference.categories import CATEGORIES
from egov_feedback.reports import service
from egov_feedback.reports.models import Report
from egov_feedback.reports.rules import PUBLISHED
from egov_feedback.reports.schemas import ReportPublic
from egov_shared.http.app import UoWDep
from egov_shared.http.pagination import Page, PageParamsDep, encode_cursor
from egov_shared.http.problems import problem_responses
from egov_shared.problems import NotFound, Unprocessable

router = APIRouter(prefix="/api/v1/feedback/public", tags=["feedback public"])
MAP_LIMIT = 1000


class CategoryRead(BaseModel):
    code: str
    name: str
    group: str
    description: str
    sla_days: int
    keywords: list[str]
    attributes: list[dict[str, Any]]


def _published(category_code: str | None, area_code: str | None, bbox: str | None) -> Select[Report]:
    query = select(Report).where(Report.status.in_([s.value for s in PUBLISHED]), Report.private.is_(False))
    if category_code:
        query = query.where(Report.category_code == category_code)
    if area_code:
        query = query.where(Report.area_code == area_code)
    if bbox:
        try:
            min_lon, min_lat, max_lon, max_lat = (float(part) for part in bbox.split(","))
        except ValueError as exc:
            raise Unprocessable(
                "bbox là 'kinh độ nhỏ nhất,vĩ độ nhỏ nhất,kinh độ lớn nhất,vĩ độ lớn nhất'.",
                code="feedback.invalid_bbox",
                errors=[{"field": "bbox", "message": "Cần 4 số."}],
            ) from exc
        query = query.where(Report.lat.between(min_lat, max_lat), Report.lon.between(min_lon, max_lon))
    return query


BBOX = Query(max_length=100, description="min_lon,min_lat,max_lon,max_lat (GeoJSON order)")


@router.get(
    "/reports",
    response_model=Page[ReportPublic],
    summary="Answered public reports, newest answer first",
    responses=problem_responses(422),
)
async def feed(
    uow: UoWDep,
    feedback: FeedbackDep,
    page: PageParamsDep,
    category_code: Annotated[str | None, Query(max_length=10)] = None,
    area_code: Annotated[str | None, Query(max_length=20)] = None,
    bbox: Annotated[str | None, BBOX] = None,
) -> Page[ReportPublic]:
    query = _published(category_code, area_code, bbox).order_by(Report.resolved_at.desc(), Report.id.desc())
    if page.after:
        try:
            stamp, last = dt.datetime.fromisoformat(str(page.after[0])), uuid.UUID(str(page.after[1]))
        except (ValueError, IndexError) as exc:
            raise Unprocessable("Con trỏ phân trang không hợp lệ.", code="request.invalid_cursor") from exc
        query = query.where(
            (Report.resolved_at < stamp) | ((Report.resolved_at == stamp) & (Report.id < last))
        )
    rows = list(await uow.session.scalars(query.limit(page.limit + 1)))
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last_row = rows[-1]
        next_cursor = encode_cursor(
            [last_row.resolved_at.isoformat() if last_row.resolved_at else "", str(last_row.id)]
        )
    names = await service.Names.load(uow, feedback.areas)
    return Page[ReportPublic](
        items=[service.public_view(r, names, show_name=False) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/reports/{code}",
    response_model=ReportPublic,
    summary="One answered public report by its code (PA-2026-000001)",
    responses=problem_responses(404),
)
async def one(code: str, uow: UoWDep, feedback: FeedbackDep) -> ReportPublic:
    report = await uow.session.scalar(_published(None, None, None).where(Report.code == code))
    if report is None:
        raise NotFound("Không có phản ánh công khai mã này.", code="feedback.report_not_found")
    names = await service.Names.load(uow, feedback.areas)
    return service.public_view(report, names, show_name=False)


@router.get(
    "/map",
    summary="Answered public reports as GeoJSON points (for a map layer)",
    responses={200: {"content": {"application/geo+json": {}}}, **problem_responses(422)},
)
async def map_layer(
    uow: UoWDep,
    feedback: FeedbackDep,
    category_code: Annotated[str | None, Query(max_length=10)] = None,
    area_code: Annotated[str | None, Query(max_length=20)] = None,
    bbox: Annotated[str | None, BBOX] = None,
) -> dict[str, Any]:
    query = (
        _published(category_code, area_code, bbox)
        .where(Report.lat.is_not(None))
        .order_by(Report.resolved_at.desc(), Report.id.desc())
        .limit(MAP_LIMIT)
    )
    names = await service.Names.load(uow, feedback.areas)
    features = []
    for report in await uow.session.scalars(query):
        view = service.public_view(report, names, show_name=False)
        features.append(
            {
                "type": "Feature",
                "id": view.code,
                "geometry": {"type": "Point", "coordinates": [view.lon, view.lat]},
                "properties": {
                    "code": view.code,
                    "title": view.title,
                    "category_code": view.category_code,
                    "category_name": view.category_name,
                    "status": view.status,
                    "agency_name": view.agency_name,
                    "support_count": view.support_count,
                    "resolved_at": view.resolved_at.isoformat() if view.resolved_at else None,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


@router.get(
    "/categories", response_model=list[CategoryRead], summary="The report categories and their deadlines"
)
async def categories() -> list[CategoryRead]:
    return [
        CategoryRead(
            code=c.code,
            name=c.name,
            group=c.group,
            description=c.description,
            sla_days=c.sla_days,
            keywords=list(c.keywords),
            attributes=[
                {
                    "code": a.code,
                    "datatype": a.datatype,
                    "description": a.description,
                    "required": a.required,
                    "variable": a.variable,
                    "order": a.order,
                    "values": [{"key": v.key, "name": v.name} for v in a.values],
                }
                for a in sorted(c.attributes, key=lambda a: a.order)
            ],
        )
        for c in CATEGORIES
    ]


@router.get("/areas", summary="The communes and wards with their boundaries (GeoJSON)")
async def areas(feedback: FeedbackDep) -> dict[str, Any]:
    index = feedback.areas
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": area.code,
                "geometry": mapping(index.geometry(area.code)),
                "properties": {
                    "code": area.code,
                    "name": area.name,
                    "kind": area.kind,
                    "agency_code": area.agency_code,
                },
            }
            for area in index.areas
        ],
    }
