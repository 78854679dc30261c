"""Fixtures of svc-dossier's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from dossier_harness import COMMUNE, Desk, DossierService, dossier_service

from egov_gateway.province import province
from egov_shared.agencies import agency_exists
from egov_shared.testing.backends import POSTGRES, SQLITE, BusConfig, backend_available, new_bus_config
from egov_shared.testing.waiting import eventually


@pytest.fixture
async def dossiers(database_url: str, bus_config: BusConfig) -> AsyncIterator[DossierService]:
    async with dossier_service(database_url, bus_config) as service:
        yield service


@pytest.fixture(scope="module", params=[SQLITE, POSTGRES])
async def desk(request: pytest.FixtureRequest) -> AsyncIterator[Desk]:
    """svc-identity, svc-document and svc-dossier behind a gateway, shared by a module's tests (each test files
    its own dossiers)."""
    backend: str = request.param
    if not backend_available(backend):
        pytest.skip("EGOV_TEST_POSTGRES_URL / EGOV_TEST_AMQP_URL not set")
    async with province(backend, new_bus_config(backend), ("identity", "document", "dossier")) as running:
        runtime = running.runtime("dossier")

        async def tree_replicated() -> bool:
            async with runtime.new_uow() as uow:
                return await agency_exists(uow.session, COMMUNE)

        await eventually(tree_replicated, what="the agency tree in svc-dossier")
        yield Desk(running)
