"""Stand-in services and real servers for testing the gateway (its own tests, and end-to-end ones).

A :class:`Backend` is a small raw ASGI app playing a service: it echoes what it received, streams bodies both
ways, sleeps on demand, and answers /readyz and /openapi.json as the test sets it. The same object is reached
in-process (AsgiUpstream) or over HTTP through a real uvicorn server on a free port (HttpUpstream), so every
behaviour is checked on both transports. Servers run in background threads with their own event loops.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import time
from typing import Any
from urllib.parse import parse_qs

import uvicorn

from egov_gateway.asgi import ASGIApp, Receive, Scope, Send
from egov_gateway.upstreams import AsgiUpstream, HttpUpstream, Upstream

KINDS = ("http", "asgi")
MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pattern(size: int) -> bytes:
    """Deterministic bytes that differ from chunk to chunk, so a reordered or dropped chunk changes the hash."""
    block = hashlib.sha256(str(size).encode()).digest() * 2048  # 64 KiB
    whole, rest = divmod(size, len(block))
    return b"".join(block[:-1] + bytes([i % 256]) for i in range(whole)) + block[:rest]


def problem_spec(variant: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "status": {"type": "integer"},
            variant: {"type": "string"},
        },
    }


def service_spec(service: str, path: str, problem_variant: str) -> dict[str, Any]:
    """A small OpenAPI document like the ones FastAPI writes, with a Problem schema the test can vary."""
    return {
        "openapi": "3.1.0",
        "info": {"title": service, "version": "1"},
        "paths": {
            path: {
                "get": {
                    "tags": [service],
                    "responses": {
                        "200": {
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}
                        },
                        "404": {
                            "content": {
                                "application/problem+json": {
                                    "schema": {"$ref": "#/components/schemas/Problem"}
                                }
                            }
                        },
                        "422": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ValidationError"}
                                }
                            }
                        },
                    },
                }
            },
            "/metrics": {"get": {"responses": {"200": {"description": "the service's own"}}}},
        },
        "components": {
            "schemas": {
                "Problem": problem_spec(problem_variant),
                "ValidationError": {"type": "object", "properties": {"loc": {"type": "array"}}},
                "Page": {"type": "object", "properties": {"error": {"$ref": "#/components/schemas/Problem"}}},
            }
        },
        "tags": [{"name": service}],
    }


class Backend:
    """A stand-in service. Attributes steer it; ``seen`` records the last echoed request."""

    def __init__(self, name: str, *, spec: dict[str, Any] | None = None, ready: bool = True) -> None:
        self.name = name
        self.spec = spec
        self.ready = ready
        self.lifespan_started = False
        self.first_chunk_seen = threading.Event()
        self.release_download = threading.Event()
        self.chunks_received = 0

    def reset(self) -> None:
        self.first_chunk_seen.clear()
        self.release_download.clear()
        self.chunks_received = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.lifespan_started = True
                    scope["state"]["backend"] = self.name
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path: str = scope["path"]
        query = parse_qs(scope["query_string"].decode())
        if path == "/readyz":
            status = 200 if self.ready else 503
            await _json(send, status, {"status": "ready" if self.ready else "database down"})
        elif path == "/openapi.json":
            if self.spec is None:
                await _json(send, 503, {"detail": "starting"})
            else:
                await _json(send, 200, self.spec)
        elif path.endswith("/echo"):
            await self._echo(scope, receive, send)
        elif path.endswith("/upload"):
            await self._upload(receive, send)
        elif path.endswith("/download"):
            await self._download(int(query["size"][0]), send)
        elif path.endswith("/slow"):
            await asyncio.sleep(float(query["seconds"][0]))
            await _json(send, 200, {"slept": True})
        elif path.endswith("/fail"):
            raise RuntimeError("the stand-in service failed on purpose")
        else:
            await _json(send, 200, {"service": self.name, "path": path})

    async def _echo(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        payload = {
            "service": self.name,
            "method": scope["method"],
            "path": scope["path"],
            "raw_path": scope["raw_path"].decode(),
            "query_string": scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "body_len": len(body),
            "state": dict(scope.get("state") or {}),
        }
        # Headers the gateway must not pass on: hop-by-hop ones, its own request id, CORS answers.
        extra = [
            (b"connection", b"x-upstream-secret"),
            (b"x-upstream-secret", b"1"),
            (b"keep-alive", b"timeout=5"),
            (b"x-request-id", b"upstream-made-this-up"),
            (b"access-control-allow-origin", b"*"),
            (b"x-upstream-kept", b"yes"),
        ]
        await _json(send, 200, payload, extra)

    async def _upload(self, receive: Receive, send: Send) -> None:
        digest = hashlib.sha256()
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            if chunk:
                self.chunks_received += 1
                self.first_chunk_seen.set()
            digest.update(chunk)
            size += len(chunk)
            if not message.get("more_body", False):
                break
        await _json(send, 200, {"sha256": digest.hexdigest(), "size": size, "chunks": self.chunks_received})

    async def _download(self, size: int, send: Send) -> None:
        data = pattern(size)
        chunk = 256 * 1024
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"x/bytes")]})
        await send({"type": "http.response.body", "body": data[:chunk], "more_body": True})
        # The rest waits until the client has the first chunk: a gateway that buffered would hang here.
        await wait_for(self.release_download)
        for start in range(chunk, size, chunk):
            await send({"type": "http.response.body", "body": data[start : start + chunk], "more_body": True})
        await send({"type": "http.response.body", "body": b""})


class IdentityBackend(Backend):
    """A stand-in identity service: publishes a JWKS at /oauth2/jwks (counting fetches, failing with 503 while
    ``available`` is false, taking ``delay_seconds``), and otherwise behaves as :class:`Backend`."""

    def __init__(self, jwks: dict[str, Any], *, available: bool = True, delay_seconds: float = 0.0) -> None:
        super().__init__("identity")
        self.jwks = jwks
        self.available = available
        self.delay_seconds = delay_seconds
        self.fetches = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/oauth2/jwks":
            self.fetches += 1
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            if self.available:
                await _json(send, 200, self.jwks)
            else:
                await _json(send, 503, {"status": "starting"})
            return
        await super().__call__(scope, receive, send)


async def _json(
    send: Send, status: int, payload: Any, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


class ServerThread:
    """An ASGI app served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, app: ASGIApp, *, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            loop="uvloop",  # as in production
            http="httptools",
            lifespan="on",
            access_log=False,
            log_config=None,
            log_level="warning",
            # As if the test client were any untrusted peer (uvicorn trusts 127.0.0.1's X-Forwarded-* by default).
            proxy_headers=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class Backends:
    """The stand-in services every gateway under test talks to, and their HTTP servers."""

    def __init__(self) -> None:
        self.dossier = Backend("dossier", spec=service_spec("dossier", "/api/v1/dossiers", "variant_a"))
        self.payment = Backend(
            "payment", spec=service_spec("payment", "/api/v1/invoices", "variant_a"), ready=False
        )
        self.feedback = Backend("feedback", spec=service_spec("feedback", "/api/v1/feedback", "variant_b"))
        self.all = {"dossier": self.dossier, "payment": self.payment, "feedback": self.feedback}
        self.servers = {name: ServerThread(app) for name, app in self.all.items()}
        # A port nothing listens on: the "identity" service is down.
        self.down_url = f"http://127.0.0.1:{free_port()}"

    def upstreams(self, kind: str) -> dict[str, Upstream]:
        upstreams: dict[str, Upstream] = {}
        for name, backend in self.all.items():
            if kind == "http":
                upstreams[name] = HttpUpstream(name, self.servers[name].url)
            else:
                upstreams[name] = AsgiUpstream(name, backend)
        return upstreams


async def wait_for(event: threading.Event, seconds: float = 10.0) -> bool:
    """Wait for a flag another thread sets, without blocking this loop."""
    deadline = time.monotonic() + seconds
    while not event.is_set():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


async def raw_request(url: str, request: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Send bytes as they are and read the answer to EOF (the request should say ``Connection: close``)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(-1), 10)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return status, headers, body
