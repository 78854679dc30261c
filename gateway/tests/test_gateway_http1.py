"""The gateway's own HTTP/1.1 client (HttpUpstream) against services scripted byte by byte.

These cover what a well-behaved uvicorn never does in the other tests: connections that die between requests,
bodies framed by the connection's end, broken answers, answers that stop halfway.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from egov_gateway.asgi import Message
from egov_gateway.headers import RequestHead
from egov_gateway.upstreams import HttpUpstream, Limits, UpstreamContext, UpstreamError, UpstreamTimeout

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"


class Exchange:
    """One request through an HttpUpstream, with the ASGI messages the client would have received."""

    def __init__(
        self, method: str = "GET", path: str = "/api/v1/dossiers", body: list[bytes] | None = None
    ) -> None:
        headers = [(b"host", b"gw.example")]
        if body is not None:
            headers.append((b"transfer-encoding", b"chunked"))
        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
        }
        scope.update(scheme="http", headers=headers, client=("127.0.0.1", 1))
        self.head = RequestHead(scope)
        self.head.check_length(1 << 30)
        self._body = list(body or [])
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        chunk = self._body.pop(0) if self._body else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(self._body)}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        status: int = self.sent[0]["status"]
        return status

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])

    @property
    def complete(self) -> bool:
        return (
            bool(self.sent)
            and self.sent[-1]["type"] == "http.response.body"
            and not self.sent[-1].get("more_body")
        )


class Service:
    """A raw TCP server on 127.0.0.1 running ``handler`` per connection, counting connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


@pytest.fixture
async def upstream_for() -> AsyncIterator[Callable[..., Awaitable[HttpUpstream]]]:
    started: list[HttpUpstream] = []

    async def start(url: str, timeout: float = 2.0) -> HttpUpstream:
        upstream = HttpUpstream("dossier", url)
        limits = Limits(max_body_bytes=1 << 20, timeout_seconds=timeout, connect_timeout_seconds=1.0)
        await upstream.start(UpstreamContext(limits=limits))
        started.append(upstream)
        return upstream

    yield start
    for upstream in started:
        await upstream.stop()


async def forward(upstream: HttpUpstream, exchange: Exchange) -> Exchange:
    await upstream.forward(exchange.head, exchange.receive, exchange.send, [(b"x-request-id", b"r")])
    return exchange


async def read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


async def test_keep_alive_connections_are_reused(
    upstream_for: Callable[..., Awaitable[HttpUpstream]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await read_head(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(OK)

    service = Service(handler)
    async with service as url:
        upstream = await upstream_for(url)
        for _ in range(5):
            exchange = await forward(upstream, Exchange())
            assert (exchange.status, exchange.body) == (200, b"ok")
    assert service.connections == 1


def closes_after_first_answer() -> Handler:
    """Answers one request, then closes the connection on the next without a word (a keep-alive race)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(OK)
        await writer.drain()
        await read_head(reader)  # the second request arrives...
        writer.transport.abort()  # ...and the connection is gone before any answer

    return handler


async def test_idempotent_request_is_retried_on_a_dead_keep_alive_connection(
    upstream_for: Callable[..., Awaitable[HttpUpstream]],
) -> None:
    service = Service(closes_after_first_answer())
    async with service as url:
        upstream = await upstream_for(url)
        await forward(upstream, Exchange())
        exchange = await forward(upstream, Exchange("GET"))
        assert (exchange.status, exchange.body) == (200, b"ok")
    assert service.connections == 2


async def test_post_is_not_retried_on_a_dead_connection(
    upstream_for: Callable[..., Awaitable[HttpUpstream]],
) -> None:
    async with Service(closes_after_first_answer()) as url:
        upstream = await upstream_for(url)
        await forward(upstream, Exchange())
        with pytest.raises(UpstreamError) as failure:
            await forward(upstream, Exchange("POST"))
    assert failure.value.status == 502


async def test_body_ending_with_the_connection(upstream_for: Callable[..., Awaitable[HttpUpstream]]) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil ")
        await writer.drain()
        writer.write(b"the end")

    async with Service(handler) as url:
        exchange = await forward(await upstream_for(url), Exchange())
    assert (exchange.status, exchange.body, exchange.complete) == (200, b"until the end", True)


async def test_chunked_answer_is_passed_on_unframed(
    upstream_for: Callable[..., Awaitable[HttpUpstream]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nETag: "1"\r\n\r\n5\r\nhello\r\n')
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"6\r\n world\r\n0\r\n\r\n")

    async with Service(handler) as url:
        exchange = await forward(await upstream_for(url), Exchange())
    assert (exchange.status, exchange.body, exchange.complete) == (201, b"hello world", True)
    headers = dict(exchange.sent[0]["headers"])
    assert b"transfer-encoding" not in headers  # the gateway's server frames its own answer
    assert headers[b"etag"] == b'"1"'


async def test_chunked_request_body_is_framed(upstream_for: Callable[..., Awaitable[HttpUpstream]]) -> None:
    received: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await read_head(reader)
        received.append(head)
        received.append(await reader.readuntil(b"0\r\n\r\n"))
        writer.write(OK)

    async with Service(handler) as url:
        exchange = await forward(await upstream_for(url), Exchange("POST", body=[b"abc", b"defgh"]))
    assert exchange.status == 200
    assert b"transfer-encoding: chunked\r\n" in received[0].lower()
    assert received[1] == b"3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n"


async def test_head_answer_without_body_does_not_hang(
    upstream_for: Callable[..., Awaitable[HttpUpstream]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
        await asyncio.sleep(5)

    async with Service(handler) as url:
        exchange = await asyncio.wait_for(forward(await upstream_for(url), Exchange("HEAD")), 2)
    assert (exchange.status, exchange.body, exchange.complete) == (200, b"", True)


@pytest.mark.parametrize(
    ("answer", "failure"),
    [
        (b"HTTP/1.1 abc\r\n\r\n", UpstreamError),  # not HTTP
        (b"", UpstreamError),  # closed without a word
        (None, UpstreamTimeout),  # never answers
    ],
)
async def test_failures_before_the_answer(
    upstream_for: Callable[..., Awaitable[HttpUpstream]], answer: bytes | None, failure: type[Exception]
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        if answer is None:
            await asyncio.sleep(5)
        writer.write(answer or b"")

    async with Service(handler) as url:
        with pytest.raises(failure):
            await forward(await upstream_for(url, timeout=0.3), Exchange("POST"))


@pytest.mark.parametrize("stall", [False, True])
async def test_answer_that_stops_halfway_is_left_incomplete(
    upstream_for: Callable[..., Awaitable[HttpUpstream]], stall: bool
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n" + b"x" * 1000)
        await writer.drain()
        if stall:
            await asyncio.sleep(5)

    async with Service(handler) as url:
        exchange = await forward(await upstream_for(url, timeout=0.3), Exchange())
    # The head went out already, so no problem can replace it: the client must see a cut-off answer.
    assert exchange.status == 200
    assert not exchange.complete
    assert exchange.body == b"x" * 1000


async def test_probe(upstream_for: Callable[..., Awaitable[HttpUpstream]]) -> None:
    seen: list[Any] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_head(reader))
        writer.write(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
        )

    async with Service(handler) as url:
        probe = await (await upstream_for(url)).get("/readyz", timeout=1, request_id="rid-1")
    assert (probe.status, probe.content_type, probe.body) == (503, "application/json", b"{}")
    assert seen[0].startswith(b"GET /readyz HTTP/1.1\r\n")
    assert b"x-request-id: rid-1\r\n" in seen[0]
