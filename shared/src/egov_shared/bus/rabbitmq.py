"""The RabbitMQ event bus (DESIGN §4).

Topology: a durable topic exchange (``egov.events``), routing key = event type; per consuming service one
durable quorum queue (``svc-payment.events``) bound to the types it consumes, with a delivery limit after which
RabbitMQ dead-letters to ``egov.events.dlx`` → ``<queue>.dead``. Messages are persistent and published with
publisher confirms. ``connect_robust`` reconnects and restores the channels, queues and consumers after a
broker restart; while disconnected ``publish`` raises and the outbox keeps the events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
)
from aiormq.abc import DeliveredMessage
from pydantic import ValidationError

from egov_shared.bus import DeliveryHandler, PublishError
from egov_shared.events import CLOUDEVENTS_CONTENT_TYPE, CloudEvent

log = logging.getLogger(__name__)

CONNECT_RETRY_SECONDS = 2.0


class RabbitMQBus:
    def __init__(
        self,
        url: str,
        *,
        exchange: str = "egov.events",
        prefetch: int = 16,
        max_deliveries: int = 5,
        retry_delay_seconds: float = 0.5,
        publish_timeout_seconds: float = 10.0,
    ) -> None:
        self.url = url
        self.exchange_name = exchange
        self.dead_letter_exchange_name = f"{exchange}.dlx"
        self.prefetch = prefetch
        self.max_deliveries = max_deliveries
        self.retry_delay_seconds = retry_delay_seconds
        self.publish_timeout_seconds = publish_timeout_seconds
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._connected = asyncio.Event()
        self._connector: asyncio.Task[None] | None = None
        self._subscriptions: list[tuple[str, list[str], DeliveryHandler]] = []
        self._consume_channels: list[AbstractRobustChannel] = []

    async def start(self) -> None:
        self._connector = asyncio.create_task(self._connect_until_up(), name="rabbitmq-connect")

    async def wait_connected(self, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def _connect_until_up(self) -> None:
        while True:
            try:
                connection = await aio_pika.connect_robust(self.url, timeout=10)
            except Exception as exc:  # the broker is down or unreachable: keep trying
                log.warning("broker unreachable, retrying", extra={"error": type(exc).__name__})
                await asyncio.sleep(CONNECT_RETRY_SECONDS)
                continue
            self._connection = connection
            channel = await connection.channel(publisher_confirms=True)
            self._exchange = await self._declare_exchanges(channel)
            self._publish_channel = channel
            for queue, types, handler in self._subscriptions:
                await self._start_consuming(queue, types, handler)
            self._connected.set()
            return

    async def _declare_exchanges(self, channel: AbstractRobustChannel) -> AbstractRobustExchange:
        await channel.declare_exchange(
            self.dead_letter_exchange_name, aio_pika.ExchangeType.DIRECT, durable=True
        )
        return await channel.declare_exchange(self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)

    async def close(self) -> None:
        if self._connector is not None:
            self._connector.cancel()
            await asyncio.gather(self._connector, return_exceptions=True)
        if self._connection is not None:
            await self._connection.close()
        self._connected.clear()

    async def publish(self, event: CloudEvent) -> None:
        if self._exchange is None or self._connection is None or self._connection.is_closed:
            raise PublishError("not connected to the broker")
        message = aio_pika.Message(
            body=event.model_dump_json().encode(),
            content_type=CLOUDEVENTS_CONTENT_TYPE,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(event.id),
            type=event.type,
            correlation_id=event.correlationid,
            app_id=event.source,
        )
        try:
            confirmation = await self._exchange.publish(
                message, routing_key=event.type, mandatory=True, timeout=self.publish_timeout_seconds
            )
        except Exception as exc:
            raise PublishError(f"publish failed: {type(exc).__name__}") from exc
        if isinstance(confirmation, DeliveredMessage):
            # Returned as unroutable: no service consumes this type (yet). The broker confirmed it, so the
            # outbox is done with it; the warning tells ops that nobody listens.
            log.warning("event had no queue bound", extra={"event_type": event.type})

    async def subscribe(self, queue: str, event_types: Sequence[str], handler: DeliveryHandler) -> None:
        self._subscriptions.append((queue, list(event_types), handler))
        if self._connected.is_set():
            await self._start_consuming(queue, list(event_types), handler)

    async def _start_consuming(
        self, queue_name: str, event_types: list[str], handler: DeliveryHandler
    ) -> None:
        assert self._connection is not None
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        exchange = await self._declare_exchanges(channel)
        dead_exchange = await channel.get_exchange(self.dead_letter_exchange_name)
        dead = await channel.declare_queue(f"{queue_name}.dead", durable=True)
        await dead.bind(dead_exchange, routing_key=queue_name)
        arguments: dict[str, Any] = {
            "x-queue-type": "quorum",
            "x-delivery-limit": max(self.max_deliveries - 1, 0),
            "x-dead-letter-exchange": self.dead_letter_exchange_name,
            "x-dead-letter-routing-key": queue_name,
        }
        queue = await channel.declare_queue(queue_name, durable=True, arguments=arguments)
        for event_type in event_types:
            await queue.bind(exchange, routing_key=event_type)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._deliver(message, handler)

        await queue.consume(on_message)
        self._consume_channels.append(channel)

    async def _deliver(self, message: AbstractIncomingMessage, handler: DeliveryHandler) -> None:
        try:
            event = CloudEvent.model_validate_json(message.body)
        except ValidationError:
            log.error("malformed event dead-lettered", extra={"message_id": message.message_id})
            await message.reject(requeue=False)
            return
        # Quorum queues count earlier returns in x-delivery-count (absent on the first delivery).
        headers = message.headers or {}
        raw_count = headers.get("x-delivery-count", 0)
        delivery = (int(raw_count) if isinstance(raw_count, int | str) else 0) + 1
        try:
            await handler(event, delivery)
        except Exception:
            log.exception("event handler failed", extra={"event_type": event.type, "delivery": delivery})
            if delivery < self.max_deliveries:
                await asyncio.sleep(self.retry_delay_seconds * delivery)
            await message.nack(requeue=True)
            return
        await message.ack()

    async def ready(self) -> bool:
        return (
            self._connected.is_set()
            and self._connection is not None
            and not self._connection.is_closed
            and self._publish_channel is not None
            and not self._publish_channel.is_closed
        )
