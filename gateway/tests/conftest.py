"""Fixtures: the stand-in services, real uvicorn servers for them, and gateways over both transports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest

from egov_gateway.app import create_gateway
from egov_gateway.asgi import ASGIApp
from egov_gateway.auth import AllowAll, Authenticator
from egov_gateway.config import GatewaySettings
from egov_gateway.testing import KINDS, Backends, MiB, ServerThread
from egov_gateway.upstreams import HttpUpstream, Upstream


@pytest.fixture(scope="session")
def _backend_servers() -> Iterator[Backends]:
    backends = Backends()
    for server in backends.servers.values():
        server.start()
    yield backends
    for server in backends.servers.values():
        server.stop()


@pytest.fixture
def backends(_backend_servers: Backends) -> Backends:
    """The stand-in services (served over HTTP for the whole session), reset to their defaults for each test."""
    for backend in _backend_servers.all.values():
        backend.reset()
    _backend_servers.payment.ready = False
    return _backend_servers


def make_settings(**overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "max_body_bytes": 25 * MiB,
        "upstream_timeout_seconds": 1.0,
        "probe_timeout_seconds": 1.0,
        "cors_origins": ["https://portal.example"],
        "access_log": True,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@pytest.fixture
def gateway_settings() -> Callable[..., GatewaySettings]:
    """``gateway_settings(**overrides)``: the settings every test gateway starts from, with changes."""
    return make_settings


@pytest.fixture
def serve() -> Iterator[Callable[[ASGIApp], str]]:
    """``serve(app) -> base URL``: the app served by uvicorn on a free port until the test ends."""
    servers: list[ServerThread] = []

    def start(app: ASGIApp) -> str:
        server = ServerThread(app).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def start_gateway(serve: Callable[[ASGIApp], str]) -> Callable[..., str]:
    """``start_gateway(upstreams, authenticator=None, **settings) -> base URL`` of a gateway served by uvicorn.

    Without an authenticator it checks no token (``AllowAll``): these tests are about the proxy.
    """

    def start(
        upstreams: dict[str, Upstream], authenticator: Authenticator | None = None, **overrides: Any
    ) -> str:
        app = create_gateway(make_settings(**overrides), upstreams, authenticator or AllowAll())
        return serve(app)

    return start


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def gateway(kind: str, backends: Backends, start_gateway: Callable[..., str]) -> str:
    """A gateway over dossier, payment (not ready) and feedback; over HTTP it also has a dead identity."""
    upstreams = backends.upstreams(kind)
    if kind == "http":
        upstreams["identity"] = HttpUpstream("identity", backends.down_url)
    return start_gateway(upstreams)


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session
