"""Periodic jobs that run once per period however many replicas run them.

Every replica ticks; a run is claimed by moving the job's ``next_run_at`` forward with a conditional UPDATE,
which exactly one replica wins. A job that fails simply runs again next period.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from egov_shared import tables
from egov_shared.db import dialect_insert, utcnow
from egov_shared.metrics import ServiceMetrics

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    period: dt.timedelta
    run: Callable[[], Awaitable[object]]


class JobScheduler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        jobs: Sequence[PeriodicJob],
        *,
        tick_seconds: float = 5.0,
        metrics: ServiceMetrics | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.jobs = list(jobs)
        self._tick = tick_seconds
        self._metrics = metrics
        self._clock = clock
        self.holder = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"

    async def run(self) -> None:
        while True:
            await self.run_due()
            await asyncio.sleep(self._tick)

    async def run_due(self) -> list[str]:
        """Run every job whose period has come and that this replica claimed; returns their names."""
        ran: list[str] = []
        for job in self.jobs:
            try:
                claimed = await self.claim(job)
            except Exception:
                log.warning("could not claim job", extra={"job": job.name}, exc_info=True)
                continue
            if not claimed:
                continue
            ran.append(job.name)
            try:
                await job.run()
            except Exception:
                log.exception("periodic job failed", extra={"job": job.name})
                self._count(job.name, "failed")
            else:
                self._count(job.name, "ok")
        return ran

    async def claim(self, job: PeriodicJob) -> bool:
        now = self._clock()
        async with self._sessionmaker() as session, session.begin():
            insert = dialect_insert(session)
            await session.execute(
                # A job seen for the first time runs one period from now, not at every fresh start.
                insert(tables.periodic_jobs)
                .values(name=job.name, next_run_at=now + job.period)
                .on_conflict_do_nothing(index_elements=[tables.periodic_jobs.c.name])
            )
            result = await session.execute(
                update(tables.periodic_jobs)
                .where(tables.periodic_jobs.c.name == job.name, tables.periodic_jobs.c.next_run_at <= now)
                .values(next_run_at=now + job.period, last_holder=self.holder, last_started_at=now)
            )
        return bool(getattr(result, "rowcount", 0) == 1)

    def _count(self, job: str, outcome: str) -> None:
        if self._metrics:
            self._metrics.job_runs.labels(job, outcome).inc()


def retention_job(
    sessionmaker: async_sessionmaker[AsyncSession], *, retention: dt.timedelta, clock: Clock = utcnow
) -> PeriodicJob:
    """Delete sent outbox rows, inbox rows and idempotency keys older than the retention period."""

    async def clean_up() -> None:
        cutoff = clock() - retention
        async with sessionmaker() as session, session.begin():
            await session.execute(delete(tables.outbox).where(tables.outbox.c.sent_at < cutoff))
            await session.execute(delete(tables.inbox).where(tables.inbox.c.received_at < cutoff))
            await session.execute(
                delete(tables.idempotency_keys).where(tables.idempotency_keys.c.created_at < cutoff)
            )

    return PeriodicJob("retention", dt.timedelta(hours=1), clean_up)
