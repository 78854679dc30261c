"""``make run``'s embedded mode: one process, one port, every service behind the gateway, SQLite per service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from egov_gateway.config import GatewaySettings
from egov_gateway.embedded import create_embedded
from egov_gateway.routes import SERVICES
from egov_shared.testing.servers import free_port


@pytest.fixture
async def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    monkeypatch.setenv("EGOV_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("EGOV_DEMO_DATA", "1")
    for name in ("EGOV_AMQP_URL", *(f"EGOV_{s.upper()}_DATABASE_URL" for s in SERVICES)):
        monkeypatch.delenv(name, raising=False)
    port = free_port()
    app = create_embedded(GatewaySettings(port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(1200):  # up to 60 s
            if server.started:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the embedded server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_embedded_mode_serves_health_and_every_service_readiness(embedded: str, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=embedded) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert sorted(ready.json()["services"]) == sorted(SERVICES)
        for service in SERVICES:
            one = await client.get(f"/services/{service}/readyz")
            assert one.status_code == 200, one.text
            assert one.json()["checks"] == {"database": "ok", "broker": "ok"}
            assert one.headers["x-request-id"]
        spec = (await client.get("/openapi.json")).json()
        assert spec["openapi"].startswith("3.1")
        unknown = await client.get("/api/v1/no-such-thing")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
    for service in SERVICES:
        assert (tmp_path / f"{service}.db").exists()
