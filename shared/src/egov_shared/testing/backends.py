"""Throwaway databases and broker names, so test runs never collide (DESIGN §7).

Tests run on SQLite + the in-memory bus always, and on PostgreSQL + RabbitMQ when ``EGOV_TEST_POSTGRES_URL``
and ``EGOV_TEST_AMQP_URL`` are set (CI sets both).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

SQLITE = "sqlite"
POSTGRES = "postgres"


def postgres_admin_url() -> str | None:
    return os.environ.get("EGOV_TEST_POSTGRES_URL") or None


def amqp_url() -> str | None:
    return os.environ.get("EGOV_TEST_AMQP_URL") or None


def backends() -> list[str]:
    return [SQLITE, POSTGRES]


def backend_available(backend: str) -> bool:
    return backend == SQLITE or (postgres_admin_url() is not None and amqp_url() is not None)


def _asyncpg_dsn(sqlalchemy_url: str, database: str | None = None) -> str:
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


@asynccontextmanager
async def throwaway_database(backend: str, *, name_hint: str = "test") -> AsyncIterator[str]:
    """Yield the SQLAlchemy URL of a new, empty database; drop it afterwards."""
    if backend == SQLITE:
        with tempfile.TemporaryDirectory(prefix=f"egov-{name_hint}-") as directory:
            yield f"sqlite+aiosqlite:///{Path(directory) / 'db.sqlite'}"
        return
    admin = postgres_admin_url()
    if admin is None:
        raise RuntimeError("EGOV_TEST_POSTGRES_URL is not set")
    name = f"egov_t_{name_hint}_{uuid.uuid4().hex[:10]}".lower()
    connection = await asyncpg.connect(_asyncpg_dsn(admin))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        await _drop_database(admin, name)


async def _drop_database(admin: str, name: str, *, attempts: int = 30) -> None:
    """Drop it, retrying for a minute: on a PostgreSQL shared with other runs every connection slot may be taken
    for a while, and a database (of a benchmark's million rows, say) must not be left behind."""
    for attempt in range(attempts):
        try:
            connection = await asyncpg.connect(_asyncpg_dsn(admin))
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await connection.close()
            return
        except (OSError, asyncpg.PostgresError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(2)


@dataclass(frozen=True)
class BusConfig:
    """Where a test's services meet: no URL means the in-memory bus."""

    amqp_url: str | None
    exchange: str
    queue_prefix: str

    def settings(self) -> dict[str, Any]:
        return {
            "amqp_url": self.amqp_url,
            "events_exchange": self.exchange,
            "queue_prefix": self.queue_prefix,
        }


def new_bus_config(backend: str) -> BusConfig:
    run = uuid.uuid4().hex[:10]
    return BusConfig(
        amqp_url=amqp_url() if backend == POSTGRES else None,
        exchange=f"egov.test.{run}",
        queue_prefix=f"test.{run}.",
    )


async def delete_broker_topology(config: BusConfig, queues: list[str]) -> None:
    """Remove the queues and exchanges a test run declared on the shared broker."""
    if config.amqp_url is None:
        return
    import aio_pika

    connection = await aio_pika.connect(config.amqp_url)
    try:
        channel = await connection.channel()
        for queue in queues:
            for name in (queue, f"{queue}.dead"):
                await channel.queue_delete(name)
        await channel.exchange_delete(config.exchange)
        await channel.exchange_delete(f"{config.exchange}.dlx")
    finally:
        await connection.close()
