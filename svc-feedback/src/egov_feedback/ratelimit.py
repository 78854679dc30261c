"""Fixed-window counters in the database: abuse limits that hold across replicas and restarts.

A hit increments the (key, window) row with an upsert in the caller's transaction; PostgreSQL serialises on
the row, SQLite on ``BEGIN IMMEDIATE``. A refused hit raises before the caller commits, so it does not count.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import Integer, String, Table, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from egov_feedback.db import Base
from egov_shared.db import UTCDateTime, dialect_insert
from egov_shared.problems import TooManyRequests


class RateLimitWindow(Base):
    __tablename__ = "rate_limit_windows"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    count: Mapped[int] = mapped_column(Integer)


class RateLimited(TooManyRequests):
    default_code = "feedback.rate_limited"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(
            detail, headers={"Retry-After": str(retry_after)}, extra={"retry_after": retry_after}
        )
        self.retry_after = retry_after


def window_start(now: dt.datetime, seconds: int) -> dt.datetime:
    epoch = int(now.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % seconds, dt.UTC)


async def hit(
    session: AsyncSession, key: str, *, limit: int, window_seconds: int, now: dt.datetime, detail: str
) -> int:
    """Count one more hit of ``key`` in the current window; :class:`RateLimited` (429) past ``limit``."""
    start = window_start(now, window_seconds)
    insert = dialect_insert(session)
    table = RateLimitWindow.__table__
    assert isinstance(table, Table)
    statement = (
        insert(table)
        .values(key=key, window_start=start, count=1)
        .on_conflict_do_update(
            index_elements=[table.c.key, table.c.window_start], set_={"count": table.c.count + 1}
        )
        .returning(table.c.count)
    )
    count = int((await session.execute(statement)).scalar_one())
    if count > limit:
        ends = start + dt.timedelta(seconds=window_seconds)
        raise RateLimited(detail, retry_after=max(1, math.ceil((ends - now).total_seconds())))
    return count


async def forget_old_windows(session: AsyncSession, *, before: dt.datetime) -> None:
    await session.execute(delete(RateLimitWindow).where(RateLimitWindow.window_start < before))
