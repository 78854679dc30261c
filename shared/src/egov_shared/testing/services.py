"""A service app under test on the backend under test: its client, a token issuer it trusts, and the bus."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from egov_shared.bus.memory import InMemoryBroker
from egov_shared.contracts import EventData
from egov_shared.events import CloudEvent, new_event
from egov_shared.runtime import ServiceRuntime
from egov_shared.settings import ServiceSettings
from egov_shared.testing.apps import running
from egov_shared.testing.backends import BusConfig, delete_broker_topology
from egov_shared.testing.tokens import TestIssuer

# Quick retries and polls: tests wait on events, not on timers.
FAST_SETTINGS: dict[str, Any] = {
    "log_json": False,
    "relay_poll_seconds": 0.2,
    "consumer_retry_delay_seconds": 0.05,
    # Many services run side by side in a test run: keep each one's share of PostgreSQL's connections small.
    "db_pool_size": 3,
}


@dataclass
class ServiceUnderTest:
    app: FastAPI
    client: httpx.AsyncClient
    issuer: TestIssuer

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def deliver(self, data: EventData, source: str = "svc-test") -> CloudEvent:
        """Publish an event on the real bus, as another service would; returns it (to redeliver it)."""
        event = new_event(data, source=source, subject=None)
        await self.runtime.bus.publish(event)
        return event


Harness = TypeVar("Harness", bound=ServiceUnderTest)
SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@asynccontextmanager
async def service_under_test(
    create_app: Callable[..., FastAPI],
    settings_class: type[SettingsT],
    database_url: str,
    bus_config: BusConfig,
    *,
    harness: type[Harness],
    **overrides: Any,
) -> AsyncIterator[Harness]:
    settings = settings_class.model_validate(
        {"database_url": database_url, **bus_config.settings(), **FAST_SETTINGS, **overrides}
    )
    app = create_app(settings, broker=InMemoryBroker() if bus_config.amqp_url is None else None)
    issuer = TestIssuer()
    try:
        async with running(app) as client:
            runtime: ServiceRuntime = app.state.runtime
            runtime.use_keys(issuer.keys())
            if bus_config.amqp_url is not None:
                await runtime.bus.wait_connected(30)  # type: ignore[attr-defined]
            yield harness(app=app, client=client, issuer=issuer)
    finally:
        await delete_broker_topology(bus_config, [app.state.runtime.queue])
