"""svc-feedback: citizen reports (phản ánh kiến nghị): categories, areas, routing rules, responses, ratings; Open311."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI

from egov_feedback import demo
from egov_feedback.config import MIGRATIONS_DIR, Settings
from egov_feedback.consumers import CONSUMERS
from egov_feedback.context import Feedback
from egov_feedback.open311.router import PREFIX as OPEN311_PREFIX
from egov_feedback.open311.router import install_error_handler
from egov_feedback.open311.router import router as open311_router
from egov_feedback.partners.router import router as partners_router
from egov_feedback.public.router import router as public_router
from egov_feedback.reports.router import router as reports_router
from egov_feedback.routing_rules.router import router as routing_router
from egov_feedback.sla import run_sla
from egov_feedback.statistics.router import router as statistics_router
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.http.app import create_service_app
from egov_shared.jobs import PeriodicJob
from egov_shared.runtime import ServiceRuntime


def create_app(settings: Settings | None = None, *, broker: InMemoryBroker | None = None) -> FastAPI:
    settings = settings or Settings()
    feedback = Feedback(settings)

    async def seed(runtime: ServiceRuntime) -> None:
        if settings.demo_data:
            await demo.seed(runtime, settings, feedback.areas, feedback.now())

    def jobs(runtime: ServiceRuntime) -> list[PeriodicJob]:
        async def sla() -> None:
            await run_sla(runtime, feedback.now())

        return [PeriodicJob("feedback.sla", dt.timedelta(seconds=settings.sla_job_seconds), sla)]

    app = create_service_app(
        settings,
        title="svc-feedback",
        description=__doc__ or "",
        migrations_dir=MIGRATIONS_DIR,
        # The public feed before the reports router: both live under /api/v1/feedback.
        routers=[
            public_router,
            reports_router,
            statistics_router,
            routing_router,
            partners_router,
            open311_router,
        ],
        consumers=CONSUMERS,
        jobs=jobs,
        on_start=[seed],
        broker=broker,
        protocol_paths=(OPEN311_PREFIX,),
    )
    app.state.feedback = feedback
    install_error_handler(app)
    return app
