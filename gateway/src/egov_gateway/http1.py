"""A lean HTTP/1.1 client for the proxy hop: pooled keep-alive connections, responses parsed by httptools (llhttp).

Why not aiohttp's ClientSession: measured on this machine it spent about 200 µs of CPU per proxied request, which
held the gateway to under half of a service's direct throughput (bench/gateway_bench.py). A proxy needs much less
than a general client: the request head is already prepared, bodies stream through untouched, and failures only
need telling apart (cannot connect, too slow, broken answer). This does that and no more.

One connection carries one exchange at a time. Response bytes arrive through protocol callbacks into a small
buffer; reading pauses the socket when the buffer is full, so a slow client slows the service rather than filling
the gateway's memory.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from typing import cast

import httptools

from egov_gateway.headers import Header

# Stop reading from the service when this much response body waits for the client.
_HIGH_WATER = 256 * 1024
# Below uvicorn's default keep-alive (5 s), so the gateway never reuses a connection the service is closing.
KEEPALIVE_SECONDS = 4.0


class ConnectError(Exception):
    """No connection could be made (refused, unreachable, or connecting took too long)."""


class ResponseTimeout(TimeoutError):
    """The service said nothing for longer than the read timeout."""


class ProtocolError(Exception):
    """The connection broke or the service's answer was not valid HTTP/1.1."""


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(ResponseTimeout())


class Connection(asyncio.Protocol):
    """One keep-alive connection to a service and the state of its current exchange."""

    def __init__(self, loop: asyncio.AbstractEventLoop, read_timeout: float) -> None:
        self.loop = loop
        self.read_timeout = read_timeout
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._write_paused = False
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: list[Header] = []
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.received = False
        self.error: BaseException | None = None
        self._reading_paused = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP transport (uvloop's does not subclass asyncio.Transport, hence no isinstance check).
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Requests are written whole; waiting to coalesce them (Nagle) would only add latency.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.abort(ProtocolError(f"invalid response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.headers_done and not self.complete and exc is None and self._ends_at_close():
            # A body framed by neither Content-Length nor chunked encoding ends where the connection does.
            self.complete = True
        if not self.complete and self.error is None:
            self.error = ProtocolError("connection closed by the service")
        self._wake()
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_exception(self.error or ProtocolError("connection closed"))

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    def _ends_at_close(self) -> bool:
        framing = {b"content-length", b"transfer-encoding"}
        return not any(name.lower() in framing for name, _ in self.headers)

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.headers_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > _HIGH_WATER and not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()
        self._wake()

    # the exchange, as the proxy drives it

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def abort(self, error: BaseException) -> None:
        """End the exchange with ``error`` (seen by whoever waits on the response) and drop the connection."""
        if self.error is None:
            self.error = error
        self._wake()
        if self.transport is not None:
            self.transport.abort()

    async def _wait(self) -> None:
        waiter = self._waiter = self.loop.create_future()
        timer = self.loop.call_later(self.read_timeout, _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the socket's send buffer is full; a service that takes nothing for the read timeout is as
        silent as one that answers nothing."""
        if self.error is not None:
            raise self.error
        if self._write_paused:
            drain = self._drain = self.loop.create_future()
            timer = self.loop.call_later(self.read_timeout, _expire, drain)
            try:
                await drain
            finally:
                timer.cancel()
                self._drain = None

    async def read_head(self) -> None:
        while not self.headers_done:
            if self.error is not None:
                raise self.error
            await self._wait()

    async def read_chunk(self) -> bytes | None:
        """The next piece of the response body, or None at its end."""
        while True:
            if self.chunks:
                chunk = self.chunks.popleft()
                self.buffered -= len(chunk)
                if self._reading_paused and self.buffered <= _HIGH_WATER // 2 and self.transport is not None:
                    self._reading_paused = False
                    self.transport.resume_reading()
                return chunk
            if self.complete:
                return None
            if self.error is not None:
                raise self.error
            await self._wait()

    @property
    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed and self.error is None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class ConnectionPool:
    """Idle keep-alive connections to one service, most recently used first."""

    def __init__(
        self, host: str, port: int, *, connect_timeout: float, read_timeout: float, max_idle: int
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_idle = max_idle
        self._idle: list[Connection] = []

    async def acquire(self) -> tuple[Connection, bool]:
        """A connection ready for a new exchange, and whether it was reused (and so may turn out stale)."""
        loop = asyncio.get_running_loop()
        idle = self._idle
        if idle:
            now = loop.time()
            while idle:
                connection = idle.pop()
                if not connection.closed and now - connection.idle_since < KEEPALIVE_SECONDS:
                    return connection, True
                connection.close()
        return await self.connect(), False

    async def connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: Connection(loop, self.read_timeout), self.host, self.port
                )
        except (OSError, TimeoutError) as exc:
            raise ConnectError(f"cannot connect to {self.host}:{self.port}: {exc!r}") from exc
        return connection

    def release(self, connection: Connection) -> None:
        """Take a connection back after its exchange: kept when clean and allowed to live, closed otherwise."""
        if connection.reusable and len(self._idle) < self.max_idle:
            connection._reset()
            connection.idle_since = connection.loop.time()
            self._idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()
