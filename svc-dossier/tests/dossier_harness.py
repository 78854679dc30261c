"""Running svc-dossier on the backend under test, with a test token issuer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from egov_dossier.config import Settings
from egov_dossier.main import create_app
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.runtime import ServiceRuntime
from egov_shared.testing.apps import running
from egov_shared.testing.backends import BusConfig, delete_broker_topology
from egov_shared.testing.tokens import TestIssuer


@dataclass
class DossierService:
    app: FastAPI
    client: httpx.AsyncClient
    issuer: TestIssuer

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def dossier_service(
    database_url: str, bus_config: BusConfig, **overrides: Any
) -> AsyncIterator[DossierService]:
    settings = Settings.model_validate(
        {
            "database_url": database_url,
            **bus_config.settings(),
            "log_json": False,
            "demo_data": True,
            **overrides,
        }
    )
    app = create_app(settings, broker=InMemoryBroker() if bus_config.amqp_url is None else None)
    issuer = TestIssuer()
    try:
        async with running(app) as client:
            app.state.runtime.use_keys(issuer.keys())
            yield DossierService(app=app, client=client, issuer=issuer)
    finally:
        await delete_broker_topology(bus_config, [app.state.runtime.queue])
