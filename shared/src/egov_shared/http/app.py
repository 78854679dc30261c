"""The app factory every service uses: one place for lifespan, problems, middleware, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from egov_shared.bus.memory import InMemoryBroker
from egov_shared.http.middleware import RequestContextMiddleware
from egov_shared.http.problems import Problem, install_problem_handlers, problem_response
from egov_shared.http.text_guard import TextGuardMiddleware
from egov_shared.inbox import EventHandler
from egov_shared.jobs import PeriodicJob
from egov_shared.logging import configure_logging
from egov_shared.problems import PROBLEM_CONTENT_TYPE
from egov_shared.runtime import ServiceRuntime
from egov_shared.settings import ServiceSettings
from egov_shared.uow import UnitOfWork

StartHook = Callable[[ServiceRuntime], Awaitable[None]]


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    migrations_dir: Path,
    routers: Sequence[APIRouter] = (),
    consumers: Mapping[str, EventHandler] | None = None,
    jobs: Callable[[ServiceRuntime], Sequence[PeriodicJob]] | None = None,
    on_start: Sequence[StartHook] = (),
    broker: InMemoryBroker | None = None,
    configure_logs: bool = True,
    protocol_paths: Sequence[str] = (),
) -> FastAPI:
    """``protocol_paths``: path prefixes that answer in a protocol's own error form; the text guard
    (:mod:`egov_shared.http.text_guard`) skips them and their endpoints refuse NUL themselves."""
    if configure_logs:
        configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    runtime = ServiceRuntime(
        settings, migrations_dir=migrations_dir, consumers=consumers, jobs=jobs, broker=broker
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            for hook in on_start:
                await hook(runtime)
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.settings = settings
    install_problem_handlers(app)
    # The last added runs first: the request id is set before the text guard can refuse anything.
    app.add_middleware(TextGuardMiddleware, protocol_paths=protocol_paths)
    app.add_middleware(RequestContextMiddleware, metrics=runtime.metrics, service=settings.service_name)
    app.include_router(_operations_router())
    for router in routers:
        app.include_router(router)
    _install_openapi(app)
    return app


def get_runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]


async def get_uow(runtime: RuntimeDep) -> AsyncIterator[UnitOfWork]:
    async with runtime.new_uow() as uow:
        yield uow


UoWDep = Annotated[UnitOfWork, Depends(get_uow)]


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: database and broker reachable",
        responses={503: {"description": "Not ready", "content": {PROBLEM_CONTENT_TYPE: {}}}},
    )
    async def readyz(runtime: RuntimeDep) -> Response:
        checks = await runtime.readiness()
        if all(value == "ok" for value in checks.values()):
            return JSONResponse({"status": "ready", "service": runtime.name, "checks": checks})
        return problem_response(
            503,
            code="service.not_ready",
            detail="Dịch vụ chưa sẵn sàng: " + ", ".join(k for k, v in checks.items() if v != "ok"),
            extra={"service": runtime.name, "checks": checks},
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics(runtime: RuntimeDep) -> Response:
        return Response(runtime.metrics.render(), media_type=runtime.metrics.content_type)

    return router


def _install_openapi(app: FastAPI) -> None:
    """OpenAPI 3.1 whose error responses are what the service really sends: problem details."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for defs_name, definition in components["Problem"].pop("$defs", {}).items():
            components.setdefault(defs_name, definition)
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        problem_content = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = {"description": "Dữ liệu không hợp lệ", "content": problem_content}
                if "requestBody" in operation:
                    # A body that cannot be read at all (not UTF-8, broken multipart) is refused before any
                    # validation, with a 400 problem.
                    responses.setdefault(
                        "400", {"description": "Không đọc được nội dung yêu cầu", "content": problem_content}
                    )
                responses.setdefault("500", {"description": "Lỗi hệ thống", "content": problem_content})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
