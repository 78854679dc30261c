"""The event bus: RabbitMQ in distributed mode, an in-process broker in embedded mode and tests.

Both give the same guarantees to the outbox relay and the consumer runner: ``publish`` returns only once the
broker has the event; a handler that raises is retried after a delay up to ``max_deliveries`` times, then the
event is dead-lettered; a handler that returns acknowledges the event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from egov_shared.events import CloudEvent

# Called with the event and how many times it has been delivered (1 on the first delivery).
DeliveryHandler = Callable[[CloudEvent, int], Awaitable[None]]


class EventBus(Protocol):
    async def start(self) -> None:
        """Begin connecting; must not fail when the broker is down (the relay retries publishing)."""

    async def close(self) -> None: ...

    async def publish(self, event: CloudEvent) -> None:
        """Return once the broker confirmed the event; raise if it could not take it."""

    async def subscribe(self, queue: str, event_types: Sequence[str], handler: DeliveryHandler) -> None:
        """Consume ``event_types`` from the durable ``queue`` (competing consumers share a queue)."""

    async def ready(self) -> bool: ...


class PublishError(RuntimeError):
    pass
