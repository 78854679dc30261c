"""``/api/v1/feedback/statistics``: officials see the figures of their agency and the agencies below it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from egov_feedback.agencies import agency_names
from egov_feedback.context import FeedbackDep
from egov_feedback.reference.categories import CATEGORIES_BY_CODE
from egov_feedback.statistics.service import GroupBy, Row, statistics, total
from egov_feedback.working_days import end_of_day, local_date
from egov_shared.agencies import subtree
from egov_shared.auth.dependencies import CurrentOfficial
from egov_shared.http.app import UoWDep
from egov_shared.http.problems import problem_responses
from egov_shared.problems import Unprocessable

router = APIRouter(prefix="/api/v1/feedback/statistics", tags=["feedback statistics"])
MAX_PERIOD_DAYS = 366
# Days outside these make the date arithmetic overflow (found by the API fuzzer): a 422, not a 500.
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


class StatisticsRow(BaseModel):
    key: str
    name: str | None
    received: int
    handled: int
    handled_rate: float | None
    on_time: int
    on_time_rate: float | None
    late: int
    dissatisfied: int
    repeated: int
    satisfaction: float | None
    rated: int
    average_rating: float | None


class StatisticsRead(BaseModel):
    group_by: GroupBy
    date_from: dt.date
    date_to: dt.date
    rows: list[StatisticsRow]
    total: StatisticsRow


def _row(row: Row, name: str | None) -> StatisticsRow:
    return StatisticsRow(
        key=row.key,
        name=name,
        received=row.received,
        handled=row.handled,
        handled_rate=row.handled_rate,
        on_time=row.on_time,
        on_time_rate=row.on_time_rate,
        late=row.late,
        dissatisfied=row.dissatisfied,
        repeated=row.repeated,
        satisfaction=row.satisfaction,
        rated=row.rated,
        average_rating=row.average_rating,
    )


@router.get(
    "",
    response_model=StatisticsRead,
    summary="Received, handled rate, on-time rate and satisfaction per agency or category over a period",
    responses=problem_responses(401, 403, 422),
)
async def read(
    official: CurrentOfficial,
    uow: UoWDep,
    feedback: FeedbackDep,
    group_by: GroupBy = "agency",
    date_from: Annotated[
        dt.date | None,
        Query(description="First day (Vietnam), default 30 days ago", ge=EARLIEST, le=LATEST),
    ] = None,
    date_to: Annotated[
        dt.date | None,
        Query(description="Last day (Vietnam), inclusive; default today", ge=EARLIEST, le=LATEST),
    ] = None,
    agency_code: Annotated[str | None, Query(pattern=r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")] = None,
    category_code: Annotated[str | None, Query(max_length=10)] = None,
) -> StatisticsRead:
    now = feedback.now()
    last = date_to or local_date(now)
    first = date_from or last - dt.timedelta(days=29)
    if first > last or (last - first).days >= MAX_PERIOD_DAYS:
        raise Unprocessable(
            "Khoảng thời gian không hợp lệ (tối đa 366 ngày).",
            code="feedback.invalid_period",
            errors=[{"field": "date_from", "message": "Phải trước date_to, tối đa 366 ngày."}],
        )
    agencies = await subtree(uow.session, official.agency) if official.agency else set()
    if agency_code is not None:
        agencies = await subtree(uow.session, agency_code) & agencies
    rows = await statistics(
        uow.session,
        group_by=group_by,
        start=end_of_day(first - dt.timedelta(days=1)),
        end=end_of_day(last),
        now=now,
        agencies=agencies,
        category_code=category_code,
    )
    names = await agency_names(uow.session)

    def name(key: str) -> str | None:
        if group_by == "agency":
            return names.get(key)
        category = CATEGORIES_BY_CODE.get(key)
        return category.name if category else None

    return StatisticsRead(
        group_by=group_by,
        date_from=first,
        date_to=last,
        rows=[_row(r, name(r.key)) for r in rows],
        total=_row(total(rows), None),
    )
