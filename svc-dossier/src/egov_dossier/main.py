"""svc-dossier: the procedure catalogue, dossiers of administrative procedures, their history, deadlines and
statistics."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI

from egov_dossier import demo
from egov_dossier.config import MIGRATIONS_DIR, Settings
from egov_dossier.consumers import CONSUMERS
from egov_dossier.dossiers.calendar_router import router as calendar_router
from egov_dossier.dossiers.router import router as dossiers_router
from egov_dossier.dossiers.working_calendar import republish_corrections
from egov_dossier.procedures.router import router as procedures_router
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.http.app import create_service_app
from egov_shared.jobs import PeriodicJob
from egov_shared.runtime import ServiceRuntime


def create_app(settings: Settings | None = None, *, broker: InMemoryBroker | None = None) -> FastAPI:
    settings = settings or Settings()

    async def seed(runtime: ServiceRuntime) -> None:
        if settings.demo_data:
            await demo.seed(runtime.new_uow())

    def jobs(runtime: ServiceRuntime) -> list[PeriodicJob]:
        async def republish_calendar() -> None:
            async with runtime.new_uow() as uow:
                await republish_corrections(uow)

        period = dt.timedelta(minutes=settings.calendar_republish_minutes)
        return [PeriodicJob("republish-calendar-corrections", period, republish_calendar)]

    return create_service_app(
        settings,
        title="svc-dossier",
        description=__doc__ or "",
        migrations_dir=MIGRATIONS_DIR,
        # The working calendar before the dossiers: /dossiers/{id} would otherwise take its path.
        routers=[procedures_router, calendar_router, dossiers_router],
        consumers=CONSUMERS,
        jobs=jobs,
        on_start=[seed],
        broker=broker,
    )
