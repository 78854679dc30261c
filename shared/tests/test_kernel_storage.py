"""Gap-free counters, once-per-period jobs, retention and migrations, on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import sqlite3

import pytest
from notes_service.app import MIGRATIONS_DIR
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from egov_shared import tables
from egov_shared.counters import current_value, next_in_series
from egov_shared.db import create_engine, create_sessionmaker, is_database_unavailable, utcnow
from egov_shared.jobs import JobScheduler, PeriodicJob, retention_job
from egov_shared.migrations import upgrade
from egov_shared.testing.servers import free_port


@pytest.fixture
async def sessionmaker(database_url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(database_url)
    await upgrade(engine, MIGRATIONS_DIR)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def test_migrations_build_the_schema_and_run_twice_harmlessly(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, MIGRATIONS_DIR)
        await upgrade(engine, MIGRATIONS_DIR)
        async with engine.connect() as connection:
            version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        assert version == "notes_0001"
    finally:
        await engine.dispose()


async def test_counters_give_numbers_without_gaps_or_duplicates_under_concurrency(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    async def draw(rollback: bool) -> int | None:
        async with sessionmaker() as session, session.begin():
            value = await next_in_series(session, "receipts:2026")
            if rollback:
                await session.rollback()
                return None
            return value

    results = await asyncio.gather(*(draw(rollback=i % 5 == 0) for i in range(50)))
    kept = sorted(v for v in results if v is not None)
    assert kept == list(range(1, 41))
    async with sessionmaker() as session:
        assert await current_value(session, "receipts:2026") == 40
        assert await current_value(session, "another-series") == 0


async def test_a_periodic_job_runs_once_per_period_whatever_the_replicas(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    now = [dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)]
    runs: list[str] = []

    def make(replica: str) -> JobScheduler:
        async def work() -> None:
            runs.append(replica)

        job = PeriodicJob("escalate", dt.timedelta(minutes=10), work)
        return JobScheduler(sessionmaker, [job], clock=lambda: now[0])

    replicas = [make("a"), make("b"), make("c")]
    await asyncio.gather(*(r.run_due() for r in replicas))
    assert runs == []  # a new job waits one period
    now[0] += dt.timedelta(minutes=10)
    await asyncio.gather(*(r.run_due() for r in replicas))
    assert len(runs) == 1
    now[0] += dt.timedelta(minutes=5)
    await asyncio.gather(*(r.run_due() for r in replicas))
    assert len(runs) == 1
    now[0] += dt.timedelta(minutes=6)
    await asyncio.gather(*(r.run_due() for r in replicas))
    assert len(runs) == 2


async def test_retention_deletes_only_old_rows(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    import uuid

    now = utcnow()
    old = now - dt.timedelta(days=8)
    async with sessionmaker() as session, session.begin():
        for sent_at in (old, now, None):
            await session.execute(
                insert(tables.outbox).values(
                    event_id=uuid.uuid4(), event_type="t", envelope="{}", created_at=old, sent_at=sent_at
                )
            )
        for received_at in (old, now):
            await session.execute(
                insert(tables.inbox).values(event_id=uuid.uuid4(), event_type="t", received_at=received_at)
            )
    await retention_job(sessionmaker, retention=dt.timedelta(days=7)).run()
    async with sessionmaker() as session:
        outbox_left = await session.scalar(select(func.count()).select_from(tables.outbox))
        inbox_left = await session.scalar(select(func.count()).select_from(tables.inbox))
    assert outbox_left == 2  # the recent one and the unsent one, however old
    assert inbox_left == 1


async def test_an_outage_is_told_apart_from_a_mistake(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What consumers wait out in place and HTTP answers with 503: the database's trouble, never the code's."""
    engine = create_engine(database_url, pool_size=2)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as missing_table:
                await connection.execute(text("SELECT * FROM no_such_table"))
        assert not is_database_unavailable(missing_table.value)
        if engine.dialect.name == "postgresql":
            async with engine.connect() as connection:
                await connection.execute(text("SET statement_timeout = 1"))
                with pytest.raises(DBAPIError) as cancelled:
                    await connection.execute(text("SELECT pg_sleep(1)"))
            assert not is_database_unavailable(cancelled.value)  # 57014: the same query would time out again
    finally:
        await engine.dispose()

    # A database that is not there: PostgreSQL refusing connections, a host name that does not resolve, SQLite
    # locked by another writer past its busy timeout.
    # asyncpg raises the socket's errors unwrapped.
    absent: list[tuple[str, type[OSError]]] = [
        (f"127.0.0.1:{free_port()}", ConnectionRefusedError),
        ("db.invalid:5432", socket.gaierror),
    ]
    for host, error in absent:
        gone = create_engine(f"postgresql+asyncpg://postgres@{host}/x")
        try:
            with pytest.raises(error) as outage:
                async with gone.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            assert is_database_unavailable(outage.value), repr(outage.value)
        finally:
            await gone.dispose()
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    locked = create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.1})
    try:
        with pytest.raises(DBAPIError) as busy:
            async with locked.connect() as connection:
                await connection.execute(text("SELECT * FROM t"))
        assert is_database_unavailable(busy.value)
    finally:
        await locked.dispose()
        holder.rollback()
        holder.close()
