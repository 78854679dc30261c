"""Running the notes test service on the backend under test, and reading what it stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from egov_shared import tables
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.runtime import ServiceRuntime
from egov_shared.testing.apps import running, runtime_of
from egov_shared.testing.backends import BusConfig, delete_broker_topology
from notes_service.app import AppliedEvent, Settings, create_app

FAST = {
    "relay_poll_seconds": 0.2,
    "consumer_max_deliveries": 3,
    "consumer_retry_delay_seconds": 0.05,
    "jobs_tick_seconds": 3600,
    "log_json": False,
}


@dataclass
class Notes:
    app: FastAPI
    client: httpx.AsyncClient
    broker: InMemoryBroker | None

    @property
    def runtime(self) -> ServiceRuntime:
        return runtime_of(self.app)

    async def applied_count(self, event_id: Any = None) -> int:
        query = select(func.count()).select_from(AppliedEvent)
        if event_id is not None:
            query = query.where(AppliedEvent.event_id == event_id)
        async with self.runtime.sessionmaker() as session:
            return int(await session.scalar(query) or 0)

    async def unsent_count(self) -> int:
        async with self.runtime.sessionmaker() as session:
            query = select(func.count()).select_from(tables.outbox).where(tables.outbox.c.sent_at.is_(None))
            return int(await session.scalar(query) or 0)

    async def outbox_count(self) -> int:
        async with self.runtime.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(tables.outbox)) or 0)


@asynccontextmanager
async def notes_service(
    database_url: str, bus_config: BusConfig, *, amqp_url: str | None = None, **overrides: Any
) -> AsyncIterator[Notes]:
    bus_settings = bus_config.settings()
    if amqp_url is not None:
        bus_settings["amqp_url"] = amqp_url
    settings = Settings.model_validate({"database_url": database_url, **bus_settings, **FAST, **overrides})
    broker = None
    if settings.amqp_url is None:
        broker = InMemoryBroker(
            max_deliveries=settings.consumer_max_deliveries,
            retry_delay_seconds=settings.consumer_retry_delay_seconds,
        )
    app = create_app(settings, broker=broker)
    try:
        async with running(app) as client:
            runtime = runtime_of(app)
            if settings.amqp_url is not None:
                bus = runtime.bus
                await bus.wait_connected(30)  # type: ignore[attr-defined]
            yield Notes(app=app, client=client, broker=broker)
    finally:
        await delete_broker_topology(bus_config, [f"{settings.queue_prefix}svc-notes.events"])
