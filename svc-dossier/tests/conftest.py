"""Fixtures of svc-dossier's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from dossier_harness import DossierService, dossier_service

from egov_shared.testing.backends import BusConfig


@pytest.fixture
async def dossiers(database_url: str, bus_config: BusConfig) -> AsyncIterator[DossierService]:
    async with dossier_service(database_url, bus_config) as service:
        yield service
