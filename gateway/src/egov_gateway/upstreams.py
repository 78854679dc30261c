"""How the gateway reaches a service: over the network (distributed mode) or in-process (embedded mode).

Both transports follow the same rules: bodies stream both ways, a body over the limit is a 413, an upstream that
cannot be reached is a 503 and one that goes silent longer than the timeout a 504. Those errors are raised only
while nothing has been sent to the client; once the response has started, a failure is logged and the response
left incomplete, so the server drops the connection and the client sees a truncated reply, never a wrong one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from egov_gateway.asgi import ASGIApp, Message, Receive, Scope, Send
from egov_gateway.headers import Header, RequestHead, response_headers
from egov_gateway.http1 import ConnectError, Connection, ConnectionPool, ProtocolError, ResponseTimeout
from egov_shared.problems import PayloadTooLarge

logger = logging.getLogger(__name__)

# Bodies up to this size are read whole and sent in one piece (one write, no chunked framing); larger or
# unknown-length ones stream.
BUFFER_LIMIT = 64 * 1024


class UpstreamError(Exception):
    """The upstream failed before the response started; rendered as a problem naming the service."""

    status = 502
    code = "upstream.bad_response"

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail


class UpstreamUnavailable(UpstreamError):
    status, code = 503, "upstream.unavailable"


class UpstreamTimeout(UpstreamError):
    status, code = 504, "upstream.timeout"


class ClientGone(Exception):
    """The client disconnected before the request body was read: there is nobody left to answer."""


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int
    timeout_seconds: float
    connect_timeout_seconds: float


@dataclass(frozen=True)
class UpstreamContext:
    """What the gateway hands every upstream at startup."""

    limits: Limits
    pool_size: int = 512


class Probe(NamedTuple):
    """A small GET answered by a service (its /readyz, its /openapi.json)."""

    status: int
    content_type: str
    body: bytes


class Upstream(Protocol):
    name: str

    async def start(self, context: UpstreamContext) -> None: ...

    async def stop(self) -> None: ...

    async def forward(self, request: RequestHead, receive: Receive, send: Send, extra: list[Header]) -> int:
        """Send ``request`` on and stream the answer to ``send`` with ``extra`` headers added; return its status.

        Raises :class:`UpstreamError`, ``PayloadTooLarge`` or :class:`ClientGone` only before the response
        started.
        """
        ...

    async def get(self, path: str, *, timeout: float, request_id: str) -> Probe:
        """GET ``path`` from the service; raises ``TimeoutError`` when too slow, another exception if unreachable."""
        ...


_START = "http.response.start"
_BODY = "http.response.body"
# Safe to send again when a reused keep-alive connection turns out to have been closed by the service.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


async def _read_body(receive: Receive) -> bytes:
    """A small body whose length was declared (and checked) up front."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _body_chunks(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """The client's body as it arrives, counted so an undeclared (chunked) one still meets the limit."""
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise PayloadTooLarge(f"Nội dung vượt quá giới hạn {limit} byte")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _send_body(connection: Connection, chunks: AsyncIterator[bytes], chunked: bool) -> None:
    """Stream the request body to the service (run beside the response reader, so neither side can block the
    other). A failure ends the exchange: the reader then sees it (413, client gone, connection lost)."""
    try:
        async for chunk in chunks:
            if chunked:
                connection.write(b"%x\r\n" % len(chunk))
                connection.write(chunk)
                connection.write(b"\r\n")
            else:
                connection.write(chunk)
            await connection.drain()
        if chunked:
            connection.write(b"0\r\n\r\n")
    except Exception as exc:
        connection.abort(exc)


class HttpUpstream:
    """A service reached over HTTP/1.1 through pooled keep-alive connections (see :mod:`egov_gateway.http1`)."""

    def __init__(self, name: str, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"{name}: upstream URL must be http://host[:port], not {base_url!r}")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._netloc = parts.netloc.encode()
        self._prefix = parts.path.rstrip("/").encode()
        self._pool: ConnectionPool | None = None
        self._max_body = 0

    def __repr__(self) -> str:
        return f"HttpUpstream({self.name!r}, {self.base_url!r})"

    async def start(self, context: UpstreamContext) -> None:
        limits = context.limits
        self._max_body = limits.max_body_bytes
        self._pool = ConnectionPool(
            self._host,
            self._port,
            connect_timeout=limits.connect_timeout_seconds,
            read_timeout=limits.timeout_seconds,
            max_idle=context.pool_size,
        )

    async def stop(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _failure(self, exc: Exception) -> Exception:
        if isinstance(exc, PayloadTooLarge | ClientGone):
            return exc
        if isinstance(exc, ConnectError):
            return UpstreamUnavailable(self.name, "không kết nối được")
        if isinstance(exc, TimeoutError):
            return UpstreamTimeout(self.name, "không trả lời kịp")
        return UpstreamError(self.name, "trả lời không hợp lệ")

    async def forward(self, request: RequestHead, receive: Receive, send: Send, extra: list[Header]) -> int:
        pool = self._pool
        assert pool is not None, "HttpUpstream used before the gateway started"
        scope = request.scope
        target: bytes = self._prefix + (scope.get("raw_path") or scope["path"].encode())
        query: bytes = scope.get("query_string", b"")
        if query:
            target += b"?" + query
        parts = [request.method.encode(), b" ", target, b" HTTP/1.1\r\n"]
        for name, value in request.forward_headers:
            parts += (name, b": ", value, b"\r\n")
        if not request.has_host:
            parts += (b"host: ", self._netloc, b"\r\n")

        chunks: AsyncIterator[bytes] | None = None
        chunked = False
        body = b""
        if request.has_body:
            length = request.content_length
            if length is not None and length <= BUFFER_LIMIT:
                body = await _read_body(receive)
            else:
                chunks = _body_chunks(receive, self._max_body)
                if length is None:
                    chunked = True
                    parts.append(b"transfer-encoding: chunked\r\n")
        parts += (b"\r\n", body)
        head = b"".join(parts)

        # A reused connection the service closed meanwhile fails before a byte comes back; a request that can
        # safely be sent twice is then sent once more on a fresh connection.
        retry = chunks is None and request.method in _IDEMPOTENT
        while True:
            try:
                connection, reused = await pool.acquire()
            except ConnectError as exc:
                raise self._failure(exc) from exc
            connection.write(head)
            sender = (
                asyncio.create_task(_send_body(connection, chunks, chunked)) if chunks is not None else None
            )
            try:
                while True:
                    try:
                        await connection.read_head()
                        break
                    except ResponseTimeout:
                        if sender is None or sender.done():
                            raise
                        # still taking the client's body: the service's silence is not its fault yet
            except BaseException as exc:
                connection.close()
                if sender is not None:
                    sender.cancel()
                if isinstance(exc, ProtocolError) and retry and reused and not connection.received:
                    retry = False
                    continue
                if isinstance(exc, Exception):
                    raise self._failure(exc) from exc
                raise  # cancelled: nobody to answer
            break

        status = connection.status  # read before the pool takes the connection back and resets it
        out_headers = response_headers(connection.headers, extra)
        started = False
        try:
            if request.method == "HEAD":
                # No body follows, whatever Content-Length says; the parser cannot know that, so the connection
                # is not reused.
                connection.close()
                await send({"type": _START, "status": status, "headers": out_headers})
                started = True
                await send({"type": _BODY, "body": b""})
            elif connection.complete:
                # The usual small answer: all of it came with the head.
                pieces = connection.chunks
                whole = pieces[0] if len(pieces) == 1 else b"".join(pieces)
                await send({"type": _START, "status": status, "headers": out_headers})
                started = True
                await send({"type": _BODY, "body": whole})
            else:
                await send({"type": _START, "status": status, "headers": out_headers})
                started = True
                while (chunk := await connection.read_chunk()) is not None:
                    await send({"type": _BODY, "body": chunk, "more_body": True})
                await send({"type": _BODY, "body": b""})
        except (TimeoutError, ProtocolError) as exc:
            connection.close()
            if not started:
                raise self._failure(exc) from exc
            logger.warning("upstream %s failed mid-response: %r", self.name, exc)
        finally:
            if sender is not None and not sender.done():
                # The service answered before taking the whole body: the connection's state is unknown.
                sender.cancel()
                connection.close()
            pool.release(connection)
        return status

    async def get(self, path: str, *, timeout: float, request_id: str) -> Probe:
        pool = self._pool
        assert pool is not None, "HttpUpstream used before the gateway started"
        head = b"GET %s%s HTTP/1.1\r\nhost: %s\r\nx-request-id: %s\r\n\r\n" % (
            self._prefix,
            path.encode(),
            self._netloc,
            request_id.encode(),
        )
        chunks: list[bytes] = []
        async with asyncio.timeout(timeout):
            connection, _ = await pool.acquire()
            try:
                connection.write(head)
                await connection.read_head()
                status, headers = connection.status, connection.headers
                while (chunk := await connection.read_chunk()) is not None:
                    chunks.append(chunk)
            finally:
                pool.release(connection)  # resets the connection's exchange state
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        return Probe(status, content_type.decode("latin-1"), b"".join(chunks))


class AsgiUpstream:
    """A service app called in-process with the forwarded scope (embedded mode): no sockets, same rules.

    With ``lifespan=True`` the gateway runs the app's lifespan (startup before serving, shutdown after), and each
    request gets a copy of the state the app's lifespan set, as an ASGI server would do.
    """

    def __init__(self, name: str, app: ASGIApp, *, lifespan: bool = False) -> None:
        self.name = name
        self.app = app
        self._lifespan = _Lifespan(name, app) if lifespan else None
        self._limits = Limits(max_body_bytes=0, timeout_seconds=0.0, connect_timeout_seconds=0.0)

    def __repr__(self) -> str:
        return f"AsgiUpstream({self.name!r})"

    async def start(self, context: UpstreamContext) -> None:
        self._limits = context.limits
        if self._lifespan is not None:
            await self._lifespan.startup()

    async def stop(self) -> None:
        if self._lifespan is not None:
            await self._lifespan.shutdown()

    def _scope(self, scope: Scope, headers: list[Header]) -> Scope:
        inner = dict(scope)
        inner["headers"] = headers
        if self._lifespan is not None:
            inner["state"] = dict(self._lifespan.state)
        else:
            inner.pop("state", None)  # the gateway's own lifespan state is not the service's
        return inner

    async def forward(self, request: RequestHead, receive: Receive, send: Send, extra: list[Header]) -> int:
        loop = asyncio.get_running_loop()
        timeout = self._limits.timeout_seconds
        limit = self._limits.max_body_bytes
        scope = self._scope(request.scope, request.forward_headers)
        status = 0
        started = False
        too_large = False
        received = 0

        failure: BaseException | None = None
        try:
            async with asyncio.timeout(timeout) as deadline:
                # The deadline measures the service's silence: it is pushed back whenever the app sends or is
                # handed a message, and paused while the gateway itself waits on the client.

                async def app_receive() -> Message:
                    nonlocal received, too_large
                    if too_large:
                        return {"type": "http.disconnect"}
                    deadline.reschedule(None)
                    message = await receive()
                    deadline.reschedule(loop.time() + timeout)
                    if message["type"] == "http.request":
                        received += len(message.get("body", b""))
                        if received > limit:
                            # The app sees a client that left; the 413 goes out once it gives up.
                            too_large = True
                            return {"type": "http.disconnect"}
                    return message

                async def app_send(message: Message) -> None:
                    nonlocal status, started
                    if too_large and not started:
                        return  # whatever the app answers a vanished client, the client gets the 413
                    if message["type"] == _START:
                        status = message["status"]
                        message = {
                            "type": _START,
                            "status": status,
                            "headers": response_headers(message.get("headers", ()), extra),
                        }
                        started = True
                    deadline.reschedule(None)
                    await send(message)
                    deadline.reschedule(loop.time() + timeout)

                try:
                    await self.app(scope, app_receive, app_send)
                except Exception as exc:
                    failure = exc
        except TimeoutError as exc:
            failure = exc  # the deadline passed (the app's own errors were caught inside)
            if not too_large and not started:
                raise UpstreamTimeout(self.name, "không trả lời kịp") from exc
        if too_large and not started:
            raise PayloadTooLarge(f"Nội dung vượt quá giới hạn {limit} byte")
        if failure is not None:
            if not started:
                raise UpstreamError(self.name, "lỗi trong dịch vụ") from failure
            logger.error("service %s failed mid-response", self.name, exc_info=failure)
        return status

    async def get(self, path: str, *, timeout: float, request_id: str) -> Probe:
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"gateway"), (b"x-request-id", request_id.encode())],
            "client": None,
            "server": None,
        }
        scope = self._scope(scope, scope["headers"])
        status = 0
        content_type = ""
        chunks: list[bytes] = []
        done = asyncio.Event()
        request_sent = False

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == _START:
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == _BODY:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        async with asyncio.timeout(timeout):
            await self.app(scope, receive, send)
        return Probe(status, content_type, b"".join(chunks))


class _Lifespan:
    """Runs an ASGI app's lifespan protocol the way a server does, for apps mounted in-process."""

    def __init__(self, name: str, app: ASGIApp) -> None:
        self.name = name
        self.app = app
        self.state: MutableMapping[str, Any] = {}
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope: Scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self._inbox.get, self._outbox.put)
        except Exception as exc:
            await self._outbox.put({"type": "lifespan.failed", "message": repr(exc)})

    async def _exchange(self, message_type: str) -> None:
        await self._inbox.put({"type": message_type})
        reply = await self._outbox.get()
        if reply["type"] != f"{message_type}.complete":
            raise RuntimeError(f"{self.name} {message_type} failed: {reply.get('message', '')}")

    async def startup(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"lifespan:{self.name}")
        await self._exchange("lifespan.startup")

    async def shutdown(self) -> None:
        if self._task is None:
            return
        try:
            if not self._task.done():
                await self._exchange("lifespan.shutdown")
            await self._task
        finally:
            self._task = None
