"""What one running service holds: engine, sessions, bus, outbox relay, consumers and periodic jobs."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from egov_shared.auth.jwks import JwksClient
from egov_shared.auth.tokens import KeySource, TokenVerifier
from egov_shared.bus import EventBus
from egov_shared.bus.memory import InMemoryBroker, InMemoryBus
from egov_shared.bus.rabbitmq import RabbitMQBus
from egov_shared.context import service_var
from egov_shared.db import create_engine, create_read_sessionmaker, create_sessionmaker
from egov_shared.inbox import EventConsumer, EventHandler
from egov_shared.jobs import JobScheduler, PeriodicJob, retention_job
from egov_shared.metrics import ServiceMetrics
from egov_shared.migrations import upgrade
from egov_shared.outbox import OutboxRelay
from egov_shared.peers import PeerClient
from egov_shared.settings import ServiceSettings
from egov_shared.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

READINESS_TIMEOUT_SECONDS = 2.0


class ServiceRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        migrations_dir: Path,
        consumers: Mapping[str, EventHandler] | None = None,
        jobs: Callable[[ServiceRuntime], Sequence[PeriodicJob]] | None = None,
        broker: InMemoryBroker | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.service_name
        self.source = f"svc-{self.name}"
        self.queue = f"{settings.queue_prefix}svc-{self.name}.events"
        self.migrations_dir = migrations_dir
        self.metrics = ServiceMetrics(self.name)
        self.engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
        self.sessionmaker = create_sessionmaker(self.engine)
        self.read_sessionmaker = create_read_sessionmaker(self.engine)
        self.bus: EventBus = self._make_bus(settings, broker)
        self.relay = OutboxRelay(
            self.sessionmaker,
            self.bus,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
            metrics=self.metrics,
        )
        self.uow = UnitOfWorkFactory(
            self.sessionmaker, source=self.source, on_events_committed=self.relay.wake
        )
        self.consumer = EventConsumer(self.uow, consumers or {}, metrics=self.metrics)
        retention = retention_job(self.sessionmaker, retention=dt.timedelta(days=settings.retention_days))
        self.scheduler = JobScheduler(
            self.sessionmaker,
            [retention, *(jobs(self) if jobs else [])],
            tick_seconds=settings.jobs_tick_seconds,
            metrics=self.metrics,
        )
        self.keys: KeySource = JwksClient.from_url(settings.jwks_url)
        self.verifier = TokenVerifier(self.keys, issuer=settings.issuer)
        self.peers = PeerClient(settings.api_url)
        self._tasks: list[asyncio.Task[None]] = []

    @staticmethod
    def _make_bus(settings: ServiceSettings, broker: InMemoryBroker | None) -> EventBus:
        if settings.amqp_url:
            return RabbitMQBus(
                settings.amqp_url,
                exchange=settings.events_exchange,
                prefetch=settings.consumer_prefetch,
                max_deliveries=settings.consumer_max_deliveries,
                retry_delay_seconds=settings.consumer_retry_delay_seconds,
            )
        return InMemoryBus(
            broker
            or InMemoryBroker(
                max_deliveries=settings.consumer_max_deliveries,
                retry_delay_seconds=settings.consumer_retry_delay_seconds,
            )
        )

    def use_keys(self, keys: KeySource) -> None:
        """Verify tokens with these keys instead (svc-identity uses its own; tests use a test issuer's)."""
        self.keys = keys
        self.verifier = TokenVerifier(keys, issuer=self.settings.issuer)

    def use_peers(self, transport: httpx.AsyncBaseTransport) -> None:
        """Reach other services through this transport instead (tests: the other apps in-process)."""
        self.peers = PeerClient(self.settings.api_url, transport=transport)

    def new_uow(self) -> UnitOfWork:
        return self.uow()

    async def migrate(self) -> None:
        await upgrade(self.engine, self.migrations_dir)

    async def start(self) -> None:
        # Tasks created below inherit this, so the relay's and consumers' log lines name the service.
        service_var.set(self.name)
        if self.settings.migrate_on_start:
            await self.migrate()
        await self.bus.start()
        if self.consumer.event_types:
            await self.bus.subscribe(self.queue, self.consumer.event_types, self.consumer)
        if self.settings.run_background_tasks:
            self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.source}:outbox-relay"))
            self._tasks.append(asyncio.create_task(self.scheduler.run(), name=f"{self.source}:jobs"))
        self.relay.wake()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.bus.close()
        await self.peers.aclose()
        await self.engine.dispose()

    async def readiness(self) -> dict[str, Any]:
        database = await self._check(self._database_ready())
        bus = await self._check(self.bus.ready())
        return {"database": "ok" if database else "unavailable", "broker": "ok" if bus else "unavailable"}

    async def _database_ready(self) -> bool:
        async with self.read_sessionmaker() as session:
            await session.execute(text("SELECT 1"))
        return True

    @staticmethod
    async def _check(probe: Any) -> bool:
        try:
            async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
                return bool(await probe)
        except Exception:
            return False
