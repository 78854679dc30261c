"""Several services in one test, in-process behind a real gateway, on the backend under test.

For tests of a service that needs another's answer over HTTP (svc-dossier asks svc-document whether files
belong to the applicant, and svc-identity who the applicant is): each service gets its own throwaway database,
they share the bus (one in-memory broker, or the run's RabbitMQ exchange), and their peer calls go through the
gateway as in production. One test issuer signs every token and every service trusts it, svc-identity included,
so a token for a demo citizen's id reaches that citizen's data in svc-identity.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from egov_gateway.app import Gateway, create_gateway
from egov_gateway.auth import TokenAuthenticator
from egov_gateway.config import GatewaySettings
from egov_gateway.upstreams import AsgiUpstream, Upstream
from egov_shared.auth.tokens import TokenVerifier
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.runtime import ServiceRuntime
from egov_shared.testing.backends import BusConfig, delete_broker_topology, throwaway_database
from egov_shared.testing.cluster import START_ORDER
from egov_shared.testing.services import FAST_SETTINGS
from egov_shared.testing.tokens import CombinedKeys, TestIssuer


@dataclass
class Province:
    apps: dict[str, FastAPI]
    gateway: Gateway
    # Calls the gateway, as a frontend would.
    client: httpx.AsyncClient
    issuer: TestIssuer

    def runtime(self, service: str) -> ServiceRuntime:
        runtime: ServiceRuntime = self.apps[service].state.runtime
        return runtime

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def citizen_token(self, id_number: str, **claims: Any) -> str:
        """A token for the svc-identity citizen with this personal ID number (the demo ones: DESIGN §9)."""
        from egov_identity.people.service import find_citizen_by_id_number

        async with self.runtime("identity").new_uow() as uow:
            vault = self.apps["identity"].state.identity.vault
            citizen = await find_citizen_by_id_number(uow.session, vault, id_number)
            if citizen is None:
                raise LookupError("no such citizen in svc-identity")
            level = claims.pop("level", citizen.assurance_level)
            return self.issuer.citizen(str(citizen.id), level=level, name=citizen.full_name, **claims)

    async def official_token(self, username: str, **claims: Any) -> str:
        """A token for the svc-identity official with this account name, with their agency and roles."""
        from egov_identity.people.service import find_official

        async with self.runtime("identity").new_uow() as uow:
            official = await find_official(uow.session, username)
            if official is None:
                raise LookupError("no such official in svc-identity")
            return self.issuer.official(
                str(official.id),
                agency=claims.pop("agency", official.agency_code),
                roles=claims.pop("roles", official.roles),
                name=official.full_name,
                **claims,
            )


@asynccontextmanager
async def province(
    backend: str,
    bus_config: BusConfig,
    services: tuple[str, ...],
    *,
    demo_data: bool = True,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> AsyncIterator[Province]:
    """Run ``services`` (names: ``identity``, ``document``, ...) behind a gateway for one test."""
    issuer = TestIssuer()
    broker = InMemoryBroker() if bus_config.amqp_url is None else None
    apps: dict[str, FastAPI] = {}
    async with AsyncExitStack() as stack:
        for name in sorted(services, key=START_ORDER.index):
            url = await stack.enter_async_context(throwaway_database(backend, name_hint=name))
            settings_class = importlib.import_module(f"egov_{name}.config").Settings
            settings = settings_class.model_validate(
                {
                    "database_url": url,
                    **bus_config.settings(),
                    **FAST_SETTINGS,
                    "demo_data": demo_data,
                    **(overrides or {}).get(name, {}),
                }
            )
            app: FastAPI = importlib.import_module(f"egov_{name}.main").create_app(settings, broker=broker)
            await stack.enter_async_context(app.router.lifespan_context(app))
            runtime: ServiceRuntime = app.state.runtime
            if bus_config.amqp_url is not None:
                await runtime.bus.wait_connected(30)  # type: ignore[attr-defined]
            stack.push_async_callback(delete_broker_topology, bus_config, [runtime.queue])
            apps[name] = app
        # svc-identity's own keys too: a service's client-credentials token comes from it for real.
        own = [apps["identity"].state.runtime.keys] if "identity" in apps else []
        keys = CombinedKeys(issuer.keys(), *own)
        for app in apps.values():
            app.state.runtime.use_keys(keys)
        upstreams: dict[str, Upstream] = {name: AsgiUpstream(name, app) for name, app in apps.items()}
        gateway = create_gateway(
            GatewaySettings(rate_limits_enabled=False, log_json=False, access_log=False),
            upstreams,
            TokenAuthenticator(TokenVerifier(keys, issuer=issuer.issuer)),
        )
        await gateway.startup()
        stack.push_async_callback(gateway.shutdown)
        transport = httpx.ASGITransport(app=gateway)
        for app in apps.values():
            app.state.runtime.use_peers(transport)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60)
        )
        yield Province(apps=apps, gateway=gateway, client=client, issuer=issuer)
