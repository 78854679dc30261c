"""Every service starts on both backends: migrations applied, operations endpoints answer, problems on errors."""

from __future__ import annotations

import importlib

import pytest
from fastapi import FastAPI

from egov_gateway.routes import SERVICES
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.testing.apps import running
from egov_shared.testing.backends import BusConfig, delete_broker_topology


def build(service: str, database_url: str, bus_config: BusConfig) -> FastAPI:
    config = importlib.import_module(f"egov_{service}.config")
    main = importlib.import_module(f"egov_{service}.main")
    settings = config.Settings.model_validate(
        {"database_url": database_url, **bus_config.settings(), "log_json": False}
    )
    broker = InMemoryBroker() if bus_config.amqp_url is None else None
    app: FastAPI = main.create_app(settings, broker=broker)
    return app


@pytest.mark.parametrize("service", SERVICES)
async def test_service_starts_and_reports_ready(
    service: str, database_url: str, bus_config: BusConfig
) -> None:
    app = build(service, database_url, bus_config)
    try:
        async with running(app) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            if bus_config.amqp_url is not None:
                await app.state.runtime.bus.wait_connected(30)
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["service"] == service
            metrics = await client.get("/metrics")
            assert "egov_http_requests_total" in metrics.text
            spec = (await client.get("/openapi.json")).json()
            assert spec["info"]["title"] == f"svc-{service}"
            missing = await client.get("/api/v1/definitely-not-here")
            assert missing.status_code == 404
            assert missing.headers["content-type"] == "application/problem+json"
    finally:
        await delete_broker_topology(bus_config, [app.state.runtime.queue])
