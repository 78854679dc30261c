"""svc-dossier: the procedure catalogue, dossiers of administrative procedures, their history, deadlines and statistics."""

from __future__ import annotations

from fastapi import FastAPI

from egov_dossier.config import MIGRATIONS_DIR, Settings
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.http.app import create_service_app


def create_app(settings: Settings | None = None, *, broker: InMemoryBroker | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        title="svc-dossier",
        description=__doc__ or "",
        migrations_dir=MIGRATIONS_DIR,
        broker=broker,
    )
