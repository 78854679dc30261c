"""An in-process broker with the delivery semantics of the RabbitMQ topology (DESIGN §4)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from egov_shared.bus import DeliveryHandler, PublishError
from egov_shared.events import CloudEvent

log = logging.getLogger(__name__)


@dataclass
class _Queue:
    name: str
    items: asyncio.Queue[tuple[CloudEvent, int]] = field(default_factory=asyncio.Queue)
    consumers: list[asyncio.Task[None]] = field(default_factory=list)


class InMemoryBroker:
    """Shared by every service of one process; keeps what was published and what was dead-lettered."""

    def __init__(self, *, max_deliveries: int = 5, retry_delay_seconds: float = 0.5) -> None:
        self.max_deliveries = max_deliveries
        self.retry_delay_seconds = retry_delay_seconds
        self.published: list[CloudEvent] = []
        self.dead_letters: dict[str, list[CloudEvent]] = defaultdict(list)
        self._queues: dict[str, _Queue] = {}
        self._bindings: dict[str, set[str]] = defaultdict(set)
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # False simulates an outage: publishing fails, as it does while RabbitMQ is unreachable.
        self.available = True

    def _queue(self, name: str) -> _Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = _Queue(name)
        return queue

    def bind(self, queue: str, event_types: Sequence[str]) -> None:
        self._queue(queue)
        for event_type in event_types:
            self._bindings[event_type].add(queue)

    def publish(self, event: CloudEvent) -> None:
        if not self.available:
            raise PublishError("the in-memory broker is unavailable")
        self.published.append(event)
        for name in self._bindings.get(event.type, set()) | self._bindings.get("#", set()):
            self._enqueue(name, event, 1)

    def _enqueue(self, queue: str, event: CloudEvent, delivery: int) -> None:
        self._in_flight += 1
        self._idle.clear()
        self._queue(queue).items.put_nowait((event, delivery))

    def _done(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    def start_consumer(self, queue: str, handler: DeliveryHandler) -> None:
        q = self._queue(queue)
        q.consumers.append(asyncio.create_task(self._consume(q, handler), name=f"consume:{queue}"))

    async def _consume(self, queue: _Queue, handler: DeliveryHandler) -> None:
        while True:
            event, delivery = await queue.items.get()
            try:
                await handler(event, delivery)
            except asyncio.CancelledError:
                self._done()
                raise
            except Exception:
                if delivery >= self.max_deliveries:
                    log.error("event dead-lettered", extra={"event_type": event.type, "queue": queue.name})
                    self.dead_letters[queue.name].append(event)
                else:
                    # Still in flight: the retry keeps its place in the count, so drain() waits for it.
                    asyncio.get_running_loop().call_later(
                        self.retry_delay_seconds * delivery, queue.items.put_nowait, (event, delivery + 1)
                    )
                    continue
            self._done()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every queued delivery (and retry) has been handled: for tests and demo seeding."""
        async with asyncio.timeout(timeout):
            await self._idle.wait()

    async def stop_consumers(self, queue: str | None = None) -> None:
        targets = [self._queues[queue]] if queue else list(self._queues.values())
        for q in targets:
            for task in q.consumers:
                task.cancel()
            await asyncio.gather(*q.consumers, return_exceptions=True)
            q.consumers.clear()


class InMemoryBus:
    """One service's view of an :class:`InMemoryBroker`."""

    def __init__(self, broker: InMemoryBroker) -> None:
        self.broker = broker
        self._queues: list[str] = []

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        for queue in self._queues:
            await self.broker.stop_consumers(queue)

    async def publish(self, event: CloudEvent) -> None:
        self.broker.publish(event)

    async def subscribe(self, queue: str, event_types: Sequence[str], handler: DeliveryHandler) -> None:
        self.broker.bind(queue, event_types)
        self.broker.start_consumer(queue, handler)
        self._queues.append(queue)

    async def ready(self) -> bool:
        return self.broker.available
