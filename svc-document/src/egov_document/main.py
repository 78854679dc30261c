"""svc-document: files and who may read them, official documents, the PKI and signatures, exchange between
agencies (edXML)."""

from __future__ import annotations

import datetime as dt
import logging

from fastapi import FastAPI

from egov_document.config import MIGRATIONS_DIR, Settings
from egov_document.consumers import CONSUMERS
from egov_document.context import Documents, build_scanner, build_storage
from egov_document.delivery.router import router as exchange_router
from egov_document.delivery.service import deliver_pending
from egov_document.documents.router import router as documents_router
from egov_document.files.router import router as files_router
from egov_document.files.storage import S3Storage
from egov_document.signatures.pki_store import ensure_development_ca, import_configured_chain
from egov_document.signatures.router import router as signatures_router
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.crypto import SecretBox
from egov_shared.http.app import create_service_app
from egov_shared.jobs import PeriodicJob
from egov_shared.runtime import ServiceRuntime

# pyHanko logs a warning with a traceback for every untrusted or altered upload; the report already says so.
logging.getLogger("pyhanko").setLevel(logging.ERROR)


def create_app(settings: Settings | None = None, *, broker: InMemoryBroker | None = None) -> FastAPI:
    settings = settings or Settings()
    documents = Documents(
        settings=settings,
        storage=build_storage(settings),
        scanner=build_scanner(settings),
        vault=SecretBox(settings.key_encryption_key.get_secret_value(), "document:private-keys"),
    )

    async def prepare(runtime: ServiceRuntime) -> None:
        if isinstance(documents.storage, S3Storage):
            await documents.storage.ensure_bucket()
        async with runtime.new_uow() as uow:
            if settings.ca_chain_pem:
                await import_configured_chain(uow.session, settings.ca_chain_pem.encode())
            if settings.development_pki:
                await ensure_development_ca(uow.session, documents.vault)
            await uow.commit()

    def jobs(runtime: ServiceRuntime) -> list[PeriodicJob]:
        async def deliver() -> None:
            await deliver_pending(runtime, documents)

        return [PeriodicJob("deliver-edxml", dt.timedelta(seconds=settings.delivery_period_seconds), deliver)]

    app = create_service_app(
        settings,
        title="svc-document",
        description=__doc__ or "",
        migrations_dir=MIGRATIONS_DIR,
        routers=[files_router, signatures_router, documents_router, exchange_router],
        jobs=jobs,
        # An agency's seal certificate (development PKI) is issued at its first signature, not as the agency
        # appears: key generation inside the consumer's transaction held SQLite's write lock for seconds.
        consumers=CONSUMERS,
        on_start=[prepare],
        broker=broker,
    )
    app.state.documents = documents
    return app
