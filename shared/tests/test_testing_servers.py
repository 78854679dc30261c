"""The fault-test tools work: private servers survive crashes with their data, the TCP proxy cuts and restores."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import aio_pika
import asyncpg
import pytest

from egov_shared.testing.servers import (
    PrivatePostgres,
    PrivateRabbitMQ,
    ServerUnavailable,
    free_port,
    private_postgres,
    private_rabbitmq,
)
from egov_shared.testing.tcp_proxy import TcpProxy


@contextmanager
def skip_when_unavailable() -> Iterator[None]:
    try:
        yield
    except ServerUnavailable as error:
        pytest.skip(f"private server not available here: {error}")


@pytest.fixture
async def postgres() -> AsyncIterator[PrivatePostgres]:
    with skip_when_unavailable():
        async with private_postgres() as server:
            yield server


@pytest.fixture
async def rabbitmq() -> AsyncIterator[PrivateRabbitMQ]:
    with skip_when_unavailable():
        async with private_rabbitmq() as server:
            yield server


def port_refuses(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


# --- private PostgreSQL -------------------------------------------------------------------------------------


async def notes(server: PrivatePostgres) -> list[str]:
    connection = await asyncpg.connect(server.dsn, timeout=10)
    try:
        rows = await connection.fetch("select note from marks order by id")
        return [row["note"] for row in rows]
    finally:
        await connection.close()


@pytest.mark.postgres_only
async def test_private_postgres_keeps_committed_rows_through_a_crash_and_a_kill(
    postgres: PrivatePostgres,
) -> None:
    assert postgres.port != 5432
    connection = await asyncpg.connect(postgres.dsn, timeout=10)
    assert await connection.fetchval("select 1") == 1
    await connection.execute("create table marks (id int primary key, note text not null)")
    await connection.execute("insert into marks values (1, 'before the crash')")
    await connection.close()

    await postgres.stop("immediate")
    assert not postgres.running
    with pytest.raises(ConnectionRefusedError):
        await asyncpg.connect(postgres.dsn, timeout=5)
    await postgres.start()
    assert (
        "automatic recovery in progress" in postgres.log_path.read_text()
    )  # it was a crash, not a clean stop
    assert await notes(postgres) == ["before the crash"]

    connection = await asyncpg.connect(postgres.dsn, timeout=10)
    await connection.execute("insert into marks values (2, 'before the kill')")
    await connection.close()
    await postgres.kill()
    assert port_refuses(postgres.port)
    await postgres.start()
    assert await notes(postgres) == ["before the crash", "before the kill"]


@pytest.mark.postgres_only
async def test_private_postgres_fast_stop_and_start_keeps_the_port_and_data(
    postgres: PrivatePostgres,
) -> None:
    connection = await asyncpg.connect(postgres.dsn, timeout=10)
    await connection.execute("create table marks (id int primary key, note text not null)")
    await connection.execute("insert into marks values (1, 'kept')")
    await connection.close()

    await postgres.stop()
    assert port_refuses(postgres.port)
    await postgres.start()
    assert await notes(postgres) == ["kept"]
    assert postgres.url == f"postgresql+asyncpg://postgres@127.0.0.1:{postgres.port}/postgres"


@pytest.mark.postgres_only
async def test_private_postgres_is_removed_even_when_the_test_fails() -> None:
    seen: list[PrivatePostgres] = []

    async def failing_test() -> None:
        async with private_postgres() as server:
            seen.append(server)
            assert not port_refuses(server.port)
            raise RuntimeError("test body failed")

    with skip_when_unavailable(), pytest.raises(RuntimeError, match="test body failed"):
        await failing_test()
    assert not seen[0].dir.exists()
    assert port_refuses(seen[0].port)


# --- private RabbitMQ ---------------------------------------------------------------------------------------

QUEUE = "faults.survivor"


async def queued_messages(server: PrivateRabbitMQ) -> int:
    """How many messages the durable queue holds; passive, so it fails if the queue itself was lost."""
    connection = await aio_pika.connect(server.url, timeout=10)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(QUEUE, passive=True)
        count = queue.declaration_result.message_count
        assert isinstance(count, int)
        return count


@pytest.mark.postgres_only
async def test_private_rabbitmq_keeps_persistent_messages_through_clean_stop_and_kill(
    rabbitmq: PrivateRabbitMQ,
) -> None:
    assert rabbitmq.port != 5672
    assert rabbitmq.node.startswith("faults-")
    await publish(rabbitmq, persistent=[b"before the stop"], declare=True)
    await rabbitmq.stop()
    assert port_refuses(rabbitmq.port)
    await rabbitmq.start()
    assert await queued_messages(rabbitmq) == 1

    # The queue exists from before (a node killed just after a declaration may not have written it yet: the
    # system's queues are declared long before any crash). Confirmed persistent messages survive kill -9.
    await publish(rabbitmq, persistent=[b"before the kill"], transient=[b"transient"])
    assert await queued_messages(rabbitmq) == 3
    await rabbitmq.kill()
    assert not rabbitmq.running
    with pytest.raises(ConnectionError):
        await aio_pika.connect(rabbitmq.url, timeout=5)
    await rabbitmq.start()
    # Only what was on disk came back: the transient message proves the node really went down.
    assert await queued_messages(rabbitmq) == 2
    connection = await aio_pika.connect(rabbitmq.url, timeout=10)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(QUEUE, passive=True)
        bodies = []
        for _ in range(2):
            message = await queue.get(timeout=10)
            assert message is not None
            bodies.append(message.body)
            await message.ack()
        assert bodies == [b"before the stop", b"before the kill"]


async def publish(
    server: PrivateRabbitMQ,
    *,
    persistent: Sequence[bytes] = (),
    transient: Sequence[bytes] = (),
    declare: bool = False,
) -> None:
    """Publish with confirms: each publish returns once the broker has taken the message (on disk if persistent)."""
    connection = await aio_pika.connect(server.url, timeout=10)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        if declare:
            await channel.declare_queue(QUEUE, durable=True)
        for body in persistent:
            message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
            await channel.default_exchange.publish(message, routing_key=QUEUE)
        for body in transient:
            message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT)
            await channel.default_exchange.publish(message, routing_key=QUEUE)


@pytest.mark.postgres_only
async def test_private_rabbitmq_is_removed_even_when_the_test_fails() -> None:
    seen: list[tuple[PrivateRabbitMQ, int]] = []

    async def failing_test() -> None:
        async with private_rabbitmq() as server:
            node_pid = int((server.dir / "rabbitmq.pid").read_text().split()[0])
            seen.append((server, node_pid))
            raise RuntimeError("test body failed")

    with skip_when_unavailable(), pytest.raises(RuntimeError, match="test body failed"):
        await failing_test()
    server, node_pid = seen[0]
    assert not server.dir.exists()
    assert port_refuses(server.port)
    with pytest.raises(ProcessLookupError):
        os.kill(node_pid, 0)


# --- TCP proxy ----------------------------------------------------------------------------------------------


@dataclass
class EchoServer:
    port: int = 0
    connections: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


@pytest.fixture
async def echo() -> AsyncIterator[EchoServer]:
    echo = EchoServer()
    server = await asyncio.start_server(echo.handle, "127.0.0.1", 0)
    echo.port = int(server.sockets[0].getsockname()[1])
    yield echo
    server.close()
    for writer in echo.writers:
        writer.close()
    await server.wait_closed()


@pytest.fixture
async def proxy(echo: EchoServer) -> AsyncIterator[TcpProxy]:
    async with TcpProxy("127.0.0.1", echo.port) as proxy:
        yield proxy


async def open_client(proxy: TcpProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", proxy.port)


async def echoes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes) -> bool:
    writer.write(payload)
    await writer.drain()
    return await asyncio.wait_for(reader.readexactly(len(payload)), 5) == payload


async def dies(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """The connection is dead: a write gets no echo, the read ends in a reset or end of stream."""
    try:
        writer.write(b"anyone there?")
        await writer.drain()
        return await asyncio.wait_for(reader.read(100), 5) == b""
    except ConnectionError:
        return True
    finally:
        writer.close()


async def test_proxy_passes_bytes_both_ways_and_the_half_close(echo: EchoServer, proxy: TcpProxy) -> None:
    reader, writer = await open_client(proxy)
    assert await echoes(reader, writer, b"ping")
    assert await echoes(reader, writer, os.urandom(1024 * 1024))  # more than a socket buffer: flow control
    assert (proxy.accepted, proxy.active, echo.connections) == (1, 1, 1)

    writer.write_eof()  # the echo server closes on end of input, and its close must come back through
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    for _ in range(50):
        if proxy.active == 0:
            break
        await asyncio.sleep(0.02)
    assert proxy.active == 0


async def test_cut_resets_open_and_new_connections_until_restore(echo: EchoServer, proxy: TcpProxy) -> None:
    reader, writer = await open_client(proxy)
    assert await echoes(reader, writer, b"before")

    await proxy.cut()
    assert proxy.is_cut
    assert proxy.active == 0
    assert await dies(reader, writer)
    assert await dies(*await open_client(proxy))
    assert proxy.rejected == 1
    assert echo.connections == 1  # the connection made while cut never reached the target

    await proxy.restore()
    reader, writer = await open_client(proxy)
    assert await echoes(reader, writer, b"after")
    writer.close()
    assert (proxy.accepted, echo.connections) == (2, 2)


async def test_proxy_resets_clients_when_the_target_is_down() -> None:
    async with TcpProxy("127.0.0.1", free_port()) as proxy:
        assert await dies(*await open_client(proxy))
        assert (proxy.failed, proxy.accepted) == (1, 0)


async def test_stopped_proxy_refuses_connections(echo: EchoServer) -> None:
    proxy = TcpProxy("127.0.0.1", echo.port)
    port = await proxy.start()
    reader, writer = await open_client(proxy)
    assert await echoes(reader, writer, b"ping")
    await proxy.stop()
    assert await dies(reader, writer)
    assert port_refuses(port)
