"""The outbox relay: publishes committed events to the bus, in order, and marks them sent after the confirm.

On PostgreSQL several relays (one per replica) share the table: each claims a batch with
``FOR UPDATE SKIP LOCKED`` and holds the row locks while it publishes, so in the normal path no row is published
twice. A crash between the confirm and the commit republishes the batch: consumers deduplicate by event id.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from egov_shared import tables
from egov_shared.bus import EventBus
from egov_shared.db import utcnow
from egov_shared.events import CloudEvent
from egov_shared.metrics import ServiceMetrics

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0


class OutboxRelay:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: EventBus,
        *,
        batch_size: int = 100,
        poll_seconds: float = 1.0,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._bus = bus
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._metrics = metrics
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called after a commit that wrote events, so they go out now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        backoff = self._poll_seconds
        while True:
            woken = await self._wait(backoff)
            try:
                while await self.relay_once() == self._batch_size:
                    pass
                backoff = self._poll_seconds
                if not woken:
                    await self._update_backlog()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                backoff = min(max(backoff * 2, 0.5), MAX_BACKOFF_SECONDS)
                log.warning("outbox relay failed; retrying", extra={"error": str(exc), "retry_in": backoff})
                await self._update_backlog()

    async def _wait(self, timeout: float) -> bool:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that races the wake-up,
        # and the relay would then never stop.
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            return False
        self._wake.clear()
        return True

    async def relay_once(self) -> int:
        """Publish one batch of unsent events; returns how many were published.

        The batch is published pipelined (one channel keeps the order) and each row is marked sent only once
        the broker confirmed it; a failed row is counted and retried on the next pass.
        """
        async with self._sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    select(tables.outbox.c.id, tables.outbox.c.envelope)
                    .where(tables.outbox.c.sent_at.is_(None))
                    .order_by(tables.outbox.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            events = [CloudEvent.model_validate_json(row.envelope) for row in rows]
            outcomes = await asyncio.gather(*(self._bus.publish(e) for e in events), return_exceptions=True)
            published = [row.id for row, outcome in zip(rows, outcomes, strict=True) if outcome is None]
            failed = [
                (row.id, outcome) for row, outcome in zip(rows, outcomes, strict=True) if outcome is not None
            ]
            if published:
                await session.execute(
                    update(tables.outbox).where(tables.outbox.c.id.in_(published)).values(sent_at=utcnow())
                )
            for row_id, error in failed:
                await session.execute(
                    update(tables.outbox)
                    .where(tables.outbox.c.id == row_id)
                    .values(attempts=tables.outbox.c.attempts + 1, last_error=str(error)[:500])
                )
        if self._metrics:
            for event, outcome in zip(events, outcomes, strict=True):
                if outcome is None:
                    self._metrics.events_published.labels(event.type).inc()
        if failed:
            error = failed[0][1]
            raise error if isinstance(error, Exception) else RuntimeError(str(error))
        return len(published)

    async def _update_backlog(self) -> None:
        if self._metrics is None:
            return
        try:
            async with self._sessionmaker() as session:
                backlog = await session.scalar(
                    select(func.count()).select_from(tables.outbox).where(tables.outbox.c.sent_at.is_(None))
                )
            self._metrics.outbox_backlog.set(backlog or 0)
        except Exception:
            log.debug("could not count the outbox backlog", exc_info=True)
