"""Running svc-dossier on the backend under test, with a test token issuer."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from egov_dossier.config import Settings
from egov_dossier.main import create_app
from egov_shared.testing.backends import BusConfig
from egov_shared.testing.services import ServiceUnderTest, service_under_test


class DossierService(ServiceUnderTest):
    pass


def dossier_service(
    database_url: str, bus_config: BusConfig, **overrides: Any
) -> AbstractAsyncContextManager[DossierService]:
    return service_under_test(
        create_app,
        Settings,
        database_url,
        bus_config,
        harness=DossierService,
        **{"demo_data": True, **overrides},
    )
