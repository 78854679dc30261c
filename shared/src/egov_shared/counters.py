"""Gap-free counters: dossier codes, document numbers and receipt numbers each draw from a named series.

The increment happens in the caller's transaction and holds the series row until it ends: a rollback gives the
number back, so the committed numbers have no gaps and no duplicates. PostgreSQL serialises on the row lock,
SQLite on ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_shared import tables
from egov_shared.db import dialect_insert


async def next_in_series(session: AsyncSession, series: str) -> int:
    """Return the next number of ``series`` (1 for a new series)."""
    insert = dialect_insert(session)
    upsert = (
        insert(tables.counters)
        .values(series=series, value=1)
        .on_conflict_do_update(
            index_elements=[tables.counters.c.series], set_={"value": tables.counters.c.value + 1}
        )
    )
    value = (await session.execute(upsert.returning(tables.counters.c.value))).scalar_one()
    return int(value)


async def current_value(session: AsyncSession, series: str) -> int:
    value = await session.scalar(select(tables.counters.c.value).where(tables.counters.c.series == series))
    return int(value or 0)
