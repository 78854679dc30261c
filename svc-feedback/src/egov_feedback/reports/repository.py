"""The SQL of reports: look-ups, the duplicate search, queues, history, supports, routing overrides."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import Select, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_feedback.geo import box_around, distance_m
from egov_feedback.reports.models import Report, ReportHistory, ReportSupport
from egov_feedback.reports.rules import OPEN
from egov_feedback.routing_rules.models import RoutingOverride
from egov_shared.db import dialect_insert


async def get(session: AsyncSession, report_id: uuid.UUID) -> Report | None:
    return await session.get(Report, report_id)


async def get_by_code(session: AsyncSession, code: str) -> Report | None:
    report: Report | None = await session.scalar(select(Report).where(Report.code == code))
    return report


async def nearby_open(
    session: AsyncSession,
    *,
    category_code: str,
    lat: float,
    lon: float,
    radius_m: float,
    viewer_id: str | None,
    limit: int = 10,
) -> list[Report]:
    """Open reports of ``category_code`` within ``radius_m`` of the point, nearest first.

    Private reports are left out unless they are the viewer's own: a suggestion must not reveal them.
    """
    box = box_around(lat, lon, radius_m)
    rows = await session.scalars(
        select(Report).where(
            Report.category_code == category_code,
            Report.status.in_([s.value for s in OPEN]),
            Report.lat.between(box.min_lat, box.max_lat),
            Report.lon.between(box.min_lon, box.max_lon),
        )
    )
    found: list[tuple[float, Report]] = []
    for report in rows:
        if report.lat is None or report.lon is None:
            continue
        if report.private and (viewer_id is None or report.reporter_id != viewer_id):
            continue
        distance = distance_m(lat, lon, report.lat, report.lon)
        if distance <= radius_m:
            found.append((distance, report))
    found.sort(key=lambda pair: (pair[0], pair[1].code))
    return [report for _, report in found[:limit]]


def page_query(after: Sequence[object] | None) -> Select[Report]:
    """Reports newest first, keyset-paginated on (submitted_at, id)."""
    query = select(Report).order_by(Report.submitted_at.desc(), Report.id.desc())
    if after:
        stamp = dt.datetime.fromisoformat(str(after[0]))
        last_id = uuid.UUID(str(after[1]))
        query = query.where(
            (Report.submitted_at < stamp) | ((Report.submitted_at == stamp) & (Report.id < last_id))
        )
    return query


def cursor_key(report: Report) -> list[str]:
    return [report.submitted_at.isoformat(), str(report.id)]


async def history(session: AsyncSession, report_id: uuid.UUID, *, public_only: bool) -> list[ReportHistory]:
    query = select(ReportHistory).where(ReportHistory.report_id == report_id)
    if public_only:
        query = query.where(ReportHistory.public)
    return list(await session.scalars(query.order_by(ReportHistory.created_at, ReportHistory.id)))


async def add_support(session: AsyncSession, report_id: uuid.UUID, citizen_id: str, now: dt.datetime) -> bool:
    """Record a citizen's support; False when they had supported the report already."""
    insert = dialect_insert(session)
    table = ReportSupport.__table__
    assert isinstance(table, Table)
    result = await session.execute(
        insert(table)
        .values(report_id=report_id, citizen_id=citizen_id, created_at=now)
        .on_conflict_do_nothing(index_elements=[table.c.report_id, table.c.citizen_id])
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def overrides(session: AsyncSession) -> dict[tuple[str, str], str]:
    rows = (
        await session.execute(
            select(RoutingOverride.category_code, RoutingOverride.area_code, RoutingOverride.agency_code)
        )
    ).all()
    return {(row.category_code, row.area_code): row.agency_code for row in rows}


async def list_overrides(session: AsyncSession) -> list[RoutingOverride]:
    query = select(RoutingOverride).order_by(RoutingOverride.category_code, RoutingOverride.area_code)
    return list(await session.scalars(query))


async def delete_override(session: AsyncSession, category_code: str, area_code: str) -> bool:
    result = await session.execute(
        delete(RoutingOverride).where(
            RoutingOverride.category_code == category_code, RoutingOverride.area_code == area_code
        )
    )
    return bool(getattr(result, "rowcount", 0))
