"""Outbox, bus and inbox together: what DESIGN §4 promises, on both backends."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
from notes_service.app import NoteCreated, PoisonPill, create_note
from notes_service.harness import Notes, notes_service
from sqlalchemy import select
from sqlalchemy.engine import make_url

from egov_shared import tables
from egov_shared.bus import EventBus
from egov_shared.bus.rabbitmq import RabbitMQBus
from egov_shared.events import CloudEvent, new_event
from egov_shared.outbox import OutboxRelay
from egov_shared.testing.backends import SQLITE, BusConfig
from egov_shared.testing.tcp_proxy import TcpProxy
from egov_shared.testing.waiting import eventually


async def _event_ids(notes: Notes) -> list[uuid.UUID]:
    async with notes.runtime.sessionmaker() as session:
        return list(
            (await session.scalars(select(tables.outbox.c.event_id).order_by(tables.outbox.c.id))).all()
        )


async def test_an_event_written_with_a_state_change_is_delivered_once(notes: Notes) -> None:
    response = await notes.client.post("/api/v1/notes", json={"text": "hồ sơ"})
    assert response.status_code == 201
    [event_id] = await _event_ids(notes)

    await eventually(lambda: _applied(notes, event_id, 1), what="the event to be applied")
    await eventually(lambda: _none_unsent(notes), what="the outbox row to be marked sent")
    await asyncio.sleep(0.5)  # anything delivered twice would show by now
    assert await notes.applied_count(event_id) == 1


async def test_a_rolled_back_transaction_publishes_nothing(notes: Notes) -> None:
    async with notes.runtime.new_uow() as uow:
        await create_note_without_commit(uow)
    refused = await notes.client.post("/api/v1/notes", json={"text": "forbidden"})
    assert refused.status_code == 422

    await asyncio.sleep(0.5)
    assert await notes.outbox_count() == 0
    assert await notes.applied_count() == 0
    if notes.broker is not None:
        assert notes.broker.published == []


async def create_note_without_commit(uow: object) -> None:
    from notes_service.app import Note

    from egov_shared.uow import UnitOfWork

    assert isinstance(uow, UnitOfWork)
    note = Note(text="draft", number=999)
    uow.session.add(note)
    await uow.session.flush()
    uow.publish(NoteCreated(note_id=note.id, number=999))
    # Leaving the block without commit() rolls back.


async def test_the_same_event_delivered_twice_is_applied_once(notes: Notes) -> None:
    async with notes.runtime.new_uow() as uow:
        note = await create_note(uow, text="một lần")
    await eventually(lambda: _applied_any(notes, 1), what="first application")
    async with notes.runtime.sessionmaker() as session:
        envelope = await session.scalar(select(tables.outbox.c.envelope))
    assert envelope is not None
    event = CloudEvent.model_validate_json(envelope)
    assert event.subject == str(note.id)

    await notes.runtime.bus.publish(event)
    await notes.runtime.bus.publish(event)
    await asyncio.sleep(1.0)
    assert await notes.applied_count(event.id) == 1
    consumed = notes.runtime.metrics.events_consumed.labels(NoteCreated.event_type, "duplicate")._value.get()
    assert consumed == 2


async def test_a_handler_that_always_fails_lands_in_the_dead_letter_queue(
    notes: Notes, bus_config: BusConfig
) -> None:
    async with notes.runtime.new_uow() as uow:
        event = uow.publish(PoisonPill())
        await uow.commit()
    dead_queue = f"{notes.runtime.queue}.dead"

    if notes.broker is not None:
        broker = notes.broker

        async def dead_lettered() -> bool:
            return [e.id for e in broker.dead_letters[notes.runtime.queue]] == [event.id]

        await eventually(dead_lettered, what="dead-lettering")
    else:
        assert bus_config.amqp_url is not None
        await eventually(
            lambda: _dead_queue_holds(bus_config.amqp_url or "", dead_queue, event.id), what="DLQ"
        )
    failures = notes.runtime.metrics.consumer_failures.labels(PoisonPill.event_type)._value.get()
    assert failures == 3  # consumer_max_deliveries in the test settings, then no more


async def _dead_queue_holds(amqp_url: str, queue_name: str, event_id: uuid.UUID) -> bool:
    import aio_pika

    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, passive=True)
        message = await queue.get(fail=False)
        if message is None:
            return False
        await message.nack(requeue=True)
        return CloudEvent.model_validate_json(message.body).id == event_id
    finally:
        await connection.close()


class CountingBus:
    """Passes every publish on to the real bus and counts it by event id."""

    def __init__(self, inner: EventBus) -> None:
        self.inner = inner
        self.published: Counter[uuid.UUID] = Counter()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, event: CloudEvent) -> None:
        await self.inner.publish(event)
        self.published[event.id] += 1

    async def subscribe(self, queue: str, event_types: object, handler: object) -> None:
        raise NotImplementedError

    async def ready(self) -> bool:
        return await self.inner.ready()


async def test_two_relays_on_one_outbox_do_not_publish_a_row_twice(
    database_url: str, bus_config: BusConfig
) -> None:
    async with notes_service(database_url, bus_config, run_background_tasks=False) as notes:
        async with notes.runtime.new_uow() as uow:
            for i in range(60):
                uow.publish(NoteCreated(note_id=uuid.uuid4(), number=i))
            await uow.commit()
        counting = CountingBus(notes.runtime.bus)
        relays = [OutboxRelay(notes.runtime.sessionmaker, counting, batch_size=7) for _ in range(2)]

        async def drain(relay: OutboxRelay) -> None:
            published = -1
            while published != 0:
                published = await relay.relay_once()

        await asyncio.gather(*(drain(r) for r in relays))
        assert len(counting.published) == 60
        assert set(counting.published.values()) == {1}
        assert await notes.unsent_count() == 0


async def test_commits_succeed_while_the_broker_is_unreachable_and_events_follow_later(
    database_url: str, bus_config: BusConfig
) -> None:
    proxy: TcpProxy | None = None
    amqp_url = None
    if bus_config.amqp_url is not None:
        proxy = TcpProxy("127.0.0.1", 5672)
        port = await proxy.start()
        amqp_url = f"amqp://guest:guest@127.0.0.1:{port}/"
    try:
        async with notes_service(database_url, bus_config, amqp_url=amqp_url) as notes:
            await _cut(notes, proxy)
            for i in range(5):
                response = await notes.client.post("/api/v1/notes", json={"text": f"ghi chú {i}"})
                assert response.status_code == 201
            await asyncio.sleep(0.5)
            assert await notes.unsent_count() == 5
            assert await notes.applied_count() == 0

            await _restore(notes, proxy)
            await eventually(lambda: _none_unsent(notes), timeout=60, what="the outbox to drain")
            await eventually(lambda: _applied_any(notes, 5), timeout=60, what="all five applied")
            await asyncio.sleep(1.0)
            ids = await _event_ids(notes)
            assert [await notes.applied_count(i) for i in ids] == [1] * 5
    finally:
        if proxy is not None:
            await proxy.stop()


async def _cut(notes: Notes, proxy: TcpProxy | None) -> None:
    if notes.broker is not None:
        notes.broker.available = False
        return
    assert proxy is not None
    await proxy.cut()
    bus = notes.runtime.bus
    assert isinstance(bus, RabbitMQBus)

    async def down() -> bool:
        return not await bus.ready()

    await eventually(down, what="the bus to notice the outage")


async def _restore(notes: Notes, proxy: TcpProxy | None) -> None:
    if notes.broker is not None:
        notes.broker.available = True
        return
    assert proxy is not None
    await proxy.restore()


async def _applied(notes: Notes, event_id: uuid.UUID, count: int) -> bool:
    return bool(await notes.applied_count(event_id) == count)


async def _applied_any(notes: Notes, count: int) -> bool:
    return bool(await notes.applied_count() >= count)


async def _none_unsent(notes: Notes) -> bool:
    return bool(await notes.unsent_count() == 0)


async def test_an_event_that_arrives_while_the_database_is_down_waits_for_it_instead_of_dead_lettering(
    backend: str, database_url: str, bus_config: BusConfig
) -> None:
    """A database restart outlasts the bus's quick retries (three here, 50 ms apart): the event must wait."""
    if backend == SQLITE:
        pytest.skip("SQLite is a file inside the process: it has no outage to wait out")
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    port = await proxy.start()
    through_proxy = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    try:
        async with notes_service(through_proxy, bus_config) as notes:
            await proxy.cut()
            event = new_event(NoteCreated(note_id=uuid.uuid4(), number=7), source="/tests", subject="x")
            await notes.runtime.bus.publish(event)
            await asyncio.sleep(3.0)  # sixty times the quick retries' span
            await proxy.restore()
            await eventually(lambda: _applied(notes, event.id, 1), timeout=60, what="the event to be applied")
            assert notes.runtime.metrics.consumer_failures.labels(NoteCreated.event_type)._value.get() == 0
            assert bus_config.amqp_url is not None
            assert not await _dead_queue_holds(bus_config.amqp_url, f"{notes.runtime.queue}.dead", event.id)
    finally:
        await proxy.stop()
