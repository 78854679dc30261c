"""svc-identity: citizens, officials, agencies (the tree), OAuth clients, refresh tokens, signing keys; the OAuth 2 / OpenID Connect provider."""

from __future__ import annotations

from fastapi import FastAPI

from egov_identity.config import MIGRATIONS_DIR, Settings
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.http.app import create_service_app


def create_app(settings: Settings | None = None, *, broker: InMemoryBroker | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        title="svc-identity",
        description=__doc__ or "",
        migrations_dir=MIGRATIONS_DIR,
        broker=broker,
    )
