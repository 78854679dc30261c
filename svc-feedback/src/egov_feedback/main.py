"""svc-feedback: citizen reports (phản ánh kiến nghị): categories, areas, routing rules, responses, ratings; Open311."""

from __future__ import annotations

from fastapi import FastAPI

from egov_feedback.config import MIGRATIONS_DIR, Settings
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.http.app import create_service_app


def create_app(settings: Settings | None = None, *, broker: InMemoryBroker | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        title="svc-feedback",
        description=__doc__ or "",
        migrations_dir=MIGRATIONS_DIR,
        broker=broker,
    )
