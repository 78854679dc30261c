"""Signing-key rotation with the real svc-identity behind the gateway: no request fails on the way.

svc-identity runs in-process (its lifespan: migrations, demo data, keys) on a SQLite file of the test's own, as in
embedded mode; the dossier routes go to a stand-in service. Tokens come from identity's token endpoint through
the gateway, and the gateway takes its keys from identity's /oauth2/jwks.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from egov_gateway.app import Gateway, create_gateway
from egov_gateway.asgi import Receive, Send
from egov_gateway.config import GatewaySettings
from egov_gateway.headers import Header, RequestHead
from egov_gateway.keys import JWKS_PATH
from egov_gateway.testing import Backend, free_port
from egov_gateway.upstreams import AsgiUpstream, Probe, UpstreamContext
from egov_identity.config import Settings
from egov_identity.deps import Identity
from egov_identity.keys.service import rotate
from egov_identity.main import create_app
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.runtime import ServiceRuntime

ISSUER = "http://gateway.test"
PROTECTED = "/api/v1/dossiers/echo"


class CountingUpstream:
    """The identity upstream, counting the gateway's JWKS fetches."""

    def __init__(self, inner: AsgiUpstream) -> None:
        self.inner = inner
        self.name = inner.name
        self.jwks_fetches = 0

    async def start(self, context: UpstreamContext) -> None:
        await self.inner.start(context)

    async def stop(self) -> None:
        await self.inner.stop()

    async def forward(self, request: RequestHead, receive: Receive, send: Send, extra: list[Header]) -> int:
        return await self.inner.forward(request, receive, send, extra)

    async def get(self, path: str, *, timeout: float, request_id: str) -> Probe:
        if path == JWKS_PATH:
            self.jwks_fetches += 1
        return await self.inner.get(path, timeout=timeout, request_id=request_id)


@asynccontextmanager
async def served(app: Gateway) -> AsyncIterator[str]:
    """The gateway on a free port, in this test's event loop (where identity's database engine lives too)."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="on", proxy_headers=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(600):
            if server.started or task.done():
                break
            await asyncio.sleep(0.05)
        assert server.started, "the gateway did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    kid: str = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    return kid


@pytest.mark.parametrize("cached", [False, True], ids=["every-request-verified", "token-cache"])
async def test_keys_rotate_without_a_failed_request(tmp_path: Path, cached: bool) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}",
        var_dir=tmp_path,
        amqp_url=None,
        demo_data=True,
        issuer=ISSUER,
        key_rotation_days=0,
        jobs_tick_seconds=3600,
        relay_poll_seconds=0.2,
        log_json=False,
    )
    identity_app = create_app(settings, broker=InMemoryBroker())
    identity = CountingUpstream(AsgiUpstream("identity", identity_app, lifespan=True))
    gateway = create_gateway(
        GatewaySettings(
            issuer=ISSUER,
            # Without the cache, every request proves the key is still known; with it, the usual case.
            token_cache_size=10_000 if cached else 0,
            jwks_min_refresh_seconds=0,
            rate_limits_enabled=False,
            access_log=False,
        ),
        {"identity": identity, "dossier": AsgiUpstream("dossier", Backend("dossier"))},
    )

    async def rotate_keys() -> str:
        runtime: ServiceRuntime = identity_app.state.runtime
        ring: Identity = identity_app.state.identity
        async with runtime.new_uow() as uow:
            kid = await rotate(uow.session, ring.vault.signing_keys)
            await uow.commit()
        ring.keys.forget()  # as the admin endpoint does: sign with the new key at once
        return kid

    async with served(gateway) as url, httpx.AsyncClient(base_url=url) as client:

        async def new_token() -> str:
            response = await client.post(
                "/oauth2/token",
                auth=("demo-partner", "demo-partner-secret"),
                data={"grant_type": "client_credentials", "scope": "open311"},
            )
            assert response.status_code == 200, response.text
            token: str = response.json()["access_token"]
            return token

        async def call(token: str) -> int:
            response = await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
            if response.status_code == 200:
                assert ["authorization", f"Bearer {token}"] in response.json()["headers"]
            return response.status_code

        first = await new_token()
        assert await call(first) == 200
        assert identity.jwks_fetches == 1  # at start
        statuses: list[int] = []
        tokens = [first]
        stop = asyncio.Event()

        async def keep_calling() -> None:
            # Every token handed out so far, again and again, while the keys change under them.
            while not stop.is_set():
                statuses.extend(await asyncio.gather(*(call(token) for token in tokens)))
                await asyncio.sleep(0.005)

        caller = asyncio.create_task(keep_calling())
        try:
            # The next key was published with the first: the gateway knows it before it signs anything.
            kid = await rotate_keys()
            second = await new_token()
            assert kid_of(second) == kid != kid_of(first)
            tokens.append(second)
            assert await call(second) == 200
            assert identity.jwks_fetches == 1

            # Twice in a row, the key that signs now was created after the gateway's last fetch: the unknown
            # kid makes it fetch the JWKS once.
            kid = await rotate_keys()
            third = await new_token()
            assert kid_of(third) == kid
            tokens.append(third)
            assert await call(third) == 200
            assert identity.jwks_fetches == 2
            await asyncio.sleep(0.2)
        finally:
            stop.set()
            await caller
        for token in tokens:  # retired keys stay published until their tokens expire
            assert await call(token) == 200
    assert statuses, "the caller never ran"
    assert set(statuses) == {200}, f"{statuses.count(401)} refused of {len(statuses)}"
