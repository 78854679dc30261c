"""The consumer runner: applies each event once, whatever the bus delivers twice.

The handler's writes and the inbox row (the event id, unique) commit in one transaction, and the bus acknowledges
only after that commit. A redelivered event finds its id in the inbox and is acknowledged without effect.

While the database is unavailable (restarting, failing over, out of connections) the runner keeps the event and
tries again in place, backing off, instead of handing it back to the bus: the bus's delivery limit is for events
a handler cannot apply, and an outage longer than its few quick retries must not dead-letter good events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from egov_shared import tables
from egov_shared.contracts import EventData, UnknownEventType
from egov_shared.db import is_database_unavailable, utcnow
from egov_shared.events import CloudEvent
from egov_shared.metrics import ServiceMetrics
from egov_shared.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

# A consumer: (unit of work, the event's contract data, the envelope). It must not commit: the runner does.
EventHandler = Callable[[UnitOfWork, Any, CloudEvent], Awaitable[None]]

# How long one delivery waits for the database to come back before the bus gets it back (then its delivery
# count grows). Below RabbitMQ's consumer timeout (30 minutes), which would close the channel otherwise.
UNAVAILABLE_PATIENCE_SECONDS = 20 * 60.0
UNAVAILABLE_FIRST_WAIT_SECONDS = 0.5
UNAVAILABLE_MAX_WAIT_SECONDS = 10.0


class EventConsumer:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        handlers: Mapping[str, EventHandler],
        *,
        metrics: ServiceMetrics | None = None,
        unavailable_patience_seconds: float = UNAVAILABLE_PATIENCE_SECONDS,
    ) -> None:
        self._uow_factory = uow_factory
        self.handlers = dict(handlers)
        self._metrics = metrics
        self._patience = unavailable_patience_seconds

    @property
    def event_types(self) -> list[str]:
        return sorted(self.handlers)

    async def __call__(self, event: CloudEvent, delivery: int) -> None:
        handler = self.handlers.get(event.type)
        if handler is None:
            return
        try:
            data: EventData | dict[str, Any] = event.parsed()
        except UnknownEventType:
            data = event.data
        try:
            applied = await self._apply_when_database_is_up(handler, data, event)
        except Exception:
            if self._metrics:
                self._metrics.consumer_failures.labels(event.type).inc()
            raise
        if self._metrics:
            self._metrics.events_consumed.labels(event.type, "applied" if applied else "duplicate").inc()

    async def _apply_when_database_is_up(
        self, handler: EventHandler, data: object, event: CloudEvent
    ) -> bool:
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._patience
        wait = UNAVAILABLE_FIRST_WAIT_SECONDS
        while True:
            try:
                return await self._apply(handler, data, event)
            except Exception as exc:
                if not is_database_unavailable(exc) or loop.time() + wait > give_up_at:
                    raise
                log.warning(
                    "database unavailable, event kept and retried",
                    extra={"event_type": event.type, "error": type(exc).__name__, "wait_seconds": wait},
                )
            await asyncio.sleep(wait)
            wait = min(wait * 2, UNAVAILABLE_MAX_WAIT_SECONDS)

    async def _apply(self, handler: EventHandler, data: object, event: CloudEvent) -> bool:
        async with self._uow_factory() as uow:
            seen = await uow.session.scalar(
                select(tables.inbox.c.event_id).where(tables.inbox.c.event_id == event.id)
            )
            if seen is not None:
                return False
            try:
                await uow.session.execute(
                    insert(tables.inbox).values(
                        event_id=event.id, event_type=event.type, received_at=utcnow()
                    )
                )
                await uow.session.flush()
            except IntegrityError:
                # Another replica is applying (or just applied) the same event.
                return False
            await handler(uow, data, event)
            try:
                await uow.commit()
            except IntegrityError:
                if await self._already_applied(event):
                    return False
                raise
        return True

    async def _already_applied(self, event: CloudEvent) -> bool:
        async with self._uow_factory() as uow:
            seen = await uow.session.scalar(
                select(tables.inbox.c.event_id).where(tables.inbox.c.event_id == event.id)
            )
        return seen is not None
