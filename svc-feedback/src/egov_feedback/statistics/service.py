"""The aggregates, as one grouped query over the indexed (agency or category, submitted_at) columns.

Definitions (a report counts in the period it was received):

- received: reports submitted in the period;
- handled: answered, refused or merged (the agency has given its answer) — the ">95% handled" rate is
  handled / received;
- on time: handled no later than the answer deadline; the on-time rate is on time / handled;
- late: handled after the deadline, or still open with the deadline passed;
- satisfaction (feedback.md): (total − dissatisfied − late − repeated) / total, where dissatisfied is a rating
  of 1 or 2 and repeated a report its reporter reopened. A report that is several of these counts once, so the
  index stays between 0 and 1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_feedback.reports.models import Report
from egov_feedback.reports.rules import HANDLED, OPEN

GroupBy = Literal["agency", "category"]
DISSATISFIED_AT_MOST = 2


@dataclass(frozen=True)
class Row:
    key: str
    received: int
    handled: int
    on_time: int
    late: int
    dissatisfied: int
    repeated: int
    unsatisfactory: int
    rated: int
    rating_sum: int

    @property
    def handled_rate(self) -> float | None:
        return _ratio(self.handled, self.received)

    @property
    def on_time_rate(self) -> float | None:
        return _ratio(self.on_time, self.handled)

    @property
    def satisfaction(self) -> float | None:
        return _ratio(self.received - self.unsatisfactory, self.received)

    @property
    def average_rating(self) -> float | None:
        return None if not self.rated else round(self.rating_sum / self.rated, 2)


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


async def statistics(
    session: AsyncSession,
    *,
    group_by: GroupBy,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    agencies: Collection[str] | None = None,
    category_code: str | None = None,
) -> list[Row]:
    key = Report.agency_code if group_by == "agency" else Report.category_code
    handled = Report.status.in_([s.value for s in HANDLED])
    late = or_(
        and_(handled, Report.handled_at > Report.due_at),
        and_(Report.status.in_([s.value for s in OPEN]), Report.due_at < now),
    )
    dissatisfied = and_(Report.rating.is_not(None), Report.rating <= DISSATISFIED_AT_MOST)
    repeated = Report.reopen_count > 0
    query = (
        select(
            key.label("key"),
            func.count().label("received"),
            _flag(handled).label("handled"),
            _flag(and_(handled, Report.handled_at <= Report.due_at)).label("on_time"),
            _flag(late).label("late"),
            _flag(dissatisfied).label("dissatisfied"),
            _flag(repeated).label("repeated"),
            _flag(or_(late, dissatisfied, repeated)).label("unsatisfactory"),
            _flag(Report.rating.is_not(None)).label("rated"),
            func.coalesce(func.sum(Report.rating), 0).label("rating_sum"),
        )
        .where(Report.submitted_at >= start, Report.submitted_at < end)
        .group_by(key)
        .order_by(key)
    )
    if agencies is not None:
        query = query.where(Report.agency_code.in_(sorted(agencies)))
    if category_code:
        query = query.where(Report.category_code == category_code)
    rows = (await session.execute(query)).all()
    return [
        Row(
            key=row.key,
            received=int(row.received),
            handled=int(row.handled or 0),
            on_time=int(row.on_time or 0),
            late=int(row.late or 0),
            dissatisfied=int(row.dissatisfied or 0),
            repeated=int(row.repeated or 0),
            unsatisfactory=int(row.unsatisfactory or 0),
            rated=int(row.rated or 0),
            rating_sum=int(row.rating_sum or 0),
        )
        for row in rows
    ]


def total(rows: list[Row]) -> Row:
    return Row(
        key="*",
        received=sum(r.received for r in rows),
        handled=sum(r.handled for r in rows),
        on_time=sum(r.on_time for r in rows),
        late=sum(r.late for r in rows),
        dissatisfied=sum(r.dissatisfied for r in rows),
        repeated=sum(r.repeated for r in rows),
        unsatisfactory=sum(r.unsatisfactory for r in rows),
        rated=sum(r.rated for r in rows),
        rating_sum=sum(r.rating_sum for r in rows),
    )
