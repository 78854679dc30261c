"""The service-quality index of Decision 766 for one agency (and those below it) over one period.

Every figure is an aggregate over indexed columns (agency, received_at / finished_at): no dossier is loaded.
A dossier's timeliness is classified once, when its processing ends, and stored; a dossier still open at the
end of the period is measured then (its due date against the period's end; a dossier paused now is counted as
paused). Shares are percentages rounded to 2 decimals, None when nothing is counted (N/A).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_dossier.dossiers.models import Dossier
from egov_dossier.dossiers.rules import MAX_SUPPLEMENTATIONS_ON_TIME
from egov_dossier.dossiers.timeliness import Timeliness

WORKING_DAY_HOURS = 8


class Received(BaseModel):
    total: int
    in_person: int
    online: int
    by_post: int


class Done(BaseModel):
    total: int
    early: int
    on_time: int
    late: int


class InProgress(BaseModel):
    total: int
    within_time: int
    overdue: int
    paused_within_time: int
    paused_overdue: int


class DossierStatistics(BaseModel):
    agency_code: str
    period_from: dt.datetime
    period_to: dt.datetime
    received: Received
    done: Done
    in_progress: InProgress
    on_time_rate: float | None
    online_rate: float | None
    paid_online_rate: float | None
    average_processing_days: float | None


def rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


async def compute(
    session: AsyncSession,
    agency_code: str,
    agencies: Sequence[str],
    *,
    period_from: dt.datetime,
    period_to: dt.datetime,
    now: dt.datetime,
) -> DossierStatistics:
    in_agencies = Dossier.agency_code.in_(list(agencies))
    measured_at = min(period_to, now)

    channel_rows = (
        await session.execute(
            select(
                Dossier.channel,
                func.count(),
                func.count(case((Dossier.fee_total_vnd > 0, 1))),
                func.count(case((and_(Dossier.fee_total_vnd > 0, Dossier.fee_paid_online), 1))),
            )
            .where(in_agencies, Dossier.received_at >= period_from, Dossier.received_at < period_to)
            .group_by(Dossier.channel)
        )
    ).all()
    by_channel = {row[0]: row[1] for row in channel_rows}
    paying = sum(row[2] for row in channel_rows)
    paid_online = sum(row[3] for row in channel_rows)
    received = Received(
        total=sum(by_channel.values()),
        in_person=by_channel.get(1, 0),
        online=by_channel.get(2, 0),
        by_post=by_channel.get(3, 0),
    )

    done_rows = (
        await session.execute(
            select(Dossier.timeliness, func.count(), func.sum(Dossier.processing_hours))
            .where(
                in_agencies,
                Dossier.finished_at >= period_from,
                Dossier.finished_at < period_to,
                Dossier.timeliness.is_not(None),
            )
            .group_by(Dossier.timeliness)
        )
    ).all()
    by_timeliness = {row[0]: row[1] for row in done_rows}
    hours = sum(float(row[2] or 0) for row in done_rows)
    done = Done(
        total=sum(by_timeliness.values()),
        early=by_timeliness.get(Timeliness.EARLY.value, 0),
        on_time=by_timeliness.get(Timeliness.ON_TIME.value, 0),
        late=by_timeliness.get(Timeliness.LATE.value, 0),
    )

    # Paused at the end of the period and still paused now (a historical period's earlier pauses are not kept:
    # a dossier paused since after the period counts as running then).
    paused = and_(
        Dossier.paused_since.is_not(None),
        Dossier.paused_since <= measured_at,
        Dossier.finished_at.is_(None),
    )
    overdue = or_(
        Dossier.supplementation_requests > MAX_SUPPLEMENTATIONS_ON_TIME,
        and_(~paused, Dossier.due_at < measured_at),
        and_(paused, Dossier.paused_since > Dossier.due_at),
    )
    open_row = (
        await session.execute(
            select(
                func.count(case((and_(~paused, ~overdue), 1))),
                func.count(case((and_(~paused, overdue), 1))),
                func.count(case((and_(paused, ~overdue), 1))),
                func.count(case((and_(paused, overdue), 1))),
            ).where(
                in_agencies,
                Dossier.received_at < period_to,
                Dossier.clock_started_at.is_not(None),
                Dossier.clock_started_at < measured_at,
                or_(Dossier.finished_at.is_(None), Dossier.finished_at >= period_to),
            )
        )
    ).one()
    in_progress = InProgress(
        total=sum(open_row),
        within_time=open_row[0],
        overdue=open_row[1],
        paused_within_time=open_row[2],
        paused_overdue=open_row[3],
    )
    return DossierStatistics(
        agency_code=agency_code,
        period_from=period_from,
        period_to=period_to,
        received=received,
        done=done,
        in_progress=in_progress,
        on_time_rate=rate(done.early + done.on_time, done.total),
        online_rate=rate(received.online, received.total),
        paid_online_rate=rate(paid_online, paying),
        average_processing_days=round(hours / WORKING_DAY_HOURS / done.total, 2) if done.total else None,
    )
