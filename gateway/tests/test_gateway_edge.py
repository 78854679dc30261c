"""The gateway's own duties: CORS, health and readiness, the merged OpenAPI, the authentication seam."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from egov_gateway.app import create_gateway
from egov_gateway.auth import AllowAll
from egov_gateway.config import GatewaySettings
from egov_gateway.headers import RequestHead
from egov_gateway.testing import Backends, ServerThread
from egov_gateway.upstreams import AsgiUpstream
from egov_shared.auth.tokens import Principal
from egov_shared.problems import Unauthorized

PORTAL = "https://portal.example"


async def test_cors_preflight_is_answered_at_the_gateway(gateway: str, client: aiohttp.ClientSession) -> None:
    headers = {
        "Origin": PORTAL,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, if-match, idempotency-key",
    }
    # Even for a path whose service is down or missing: the preflight never leaves the gateway.
    for path in ("/api/v1/dossiers/1", "/api/v1/documents/1"):
        async with client.options(gateway + path, headers=headers) as response:
            assert response.status == 204, path
            assert response.headers["access-control-allow-origin"] == PORTAL
            assert response.headers["access-control-allow-credentials"] == "true"
            assert "PATCH" in response.headers["access-control-allow-methods"]
            assert (
                response.headers["access-control-allow-headers"] == "authorization, if-match, idempotency-key"
            )
            assert response.headers["access-control-max-age"] == "600"
            assert response.headers["x-request-id"]


async def test_cors_preflight_from_a_stranger_is_refused(gateway: str, client: aiohttp.ClientSession) -> None:
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    async with client.options(gateway + "/api/v1/dossiers", headers=headers) as response:
        assert response.status == 403
        assert "access-control-allow-origin" not in response.headers
    headers = {"Origin": PORTAL, "Access-Control-Request-Method": "TRACE"}
    async with client.options(gateway + "/api/v1/dossiers", headers=headers) as response:
        assert response.status == 403


async def test_cors_headers_on_actual_responses(gateway: str, client: aiohttp.ClientSession) -> None:
    async with client.get(gateway + "/api/v1/dossiers/echo", headers={"Origin": PORTAL}) as response:
        # The upstream's own "*" is gone: the gateway's answer is the only one.
        assert response.headers.getall("access-control-allow-origin") == [PORTAL]
        assert "X-Request-ID" in response.headers["access-control-expose-headers"]
    async with client.get(gateway + "/nowhere", headers={"Origin": PORTAL}) as response:
        assert response.status == 404
        assert response.headers["access-control-allow-origin"] == PORTAL  # so a browser can read the problem
    async with client.get(
        gateway + "/api/v1/dossiers/echo", headers={"Origin": "https://evil.example"}
    ) as response:
        assert "access-control-allow-origin" not in response.headers


async def test_options_without_preflight_headers_is_forwarded(
    gateway: str, client: aiohttp.ClientSession
) -> None:
    async with client.options(gateway + "/api/v1/dossiers/echo") as response:
        assert (await response.json())["method"] == "OPTIONS"


async def test_healthz(gateway: str, client: aiohttp.ClientSession) -> None:
    async with client.get(gateway + "/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}
        assert response.headers["x-request-id"]
    async with client.post(gateway + "/healthz") as response:
        assert response.status == 405
        assert response.headers["allow"] == "GET, HEAD"


async def test_readyz_names_the_services_that_are_not_ready(
    kind: str, gateway: str, backends: Backends, client: aiohttp.ClientSession
) -> None:
    async with client.get(gateway + "/readyz") as response:
        assert response.status == 503
        assert response.headers["content-type"] == "application/problem+json"
        problem = await response.json()
    services = problem["services"]
    assert services["dossier"] == {"status": "ready"}
    assert services["feedback"] == {"status": "ready"}
    assert services["payment"] == {"status": "not_ready", "http_status": 503}
    assert "payment" in problem["detail"]
    if kind == "http":
        assert services["identity"]["status"] == "unreachable"
        assert "identity" in problem["detail"]

    backends.payment.ready = True
    if kind == "asgi":  # every service is up now
        async with client.get(gateway + "/readyz") as response:
            assert response.status == 200
            body = await response.json()
            assert body["status"] == "ready"
            assert set(body["services"]) == {"dossier", "payment", "feedback"}


async def test_readyz_does_not_wait_for_a_hung_service(
    backends: Backends, start_gateway: Callable[..., str], client: aiohttp.ClientSession
) -> None:
    async def hung(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(30)

    upstreams = backends.upstreams("asgi")
    upstreams["identity"] = AsgiUpstream("identity", hung)
    gateway = start_gateway(upstreams, probe_timeout_seconds=0.3)
    backends.payment.ready = True
    async with client.get(gateway + "/readyz") as response:
        assert response.status == 503
        services = (await response.json())["services"]
    assert services["identity"] == {"status": "timeout"}
    assert services["dossier"] == {"status": "ready"}


async def test_one_service_readiness_through_the_gateway(
    kind: str, gateway: str, client: aiohttp.ClientSession
) -> None:
    async with client.get(gateway + "/services/dossier/readyz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ready"}
    async with client.get(gateway + "/services/payment/readyz") as response:
        assert response.status == 503
        assert await response.json() == {"status": "database down"}  # the service's own answer
    async with client.get(gateway + "/services/document/readyz") as response:
        assert response.status == 503
        assert (await response.json())["code"] == "upstream.not_configured"
    async with client.get(gateway + "/services/nosuch/readyz") as response:
        assert response.status == 404
    if kind == "http":
        async with client.get(gateway + "/services/identity/readyz") as response:
            assert response.status == 503
            assert (await response.json())["code"] == "upstream.unavailable"


async def test_merged_openapi(gateway: str, backends: Backends, client: aiohttp.ClientSession) -> None:
    async with client.get(gateway + "/openapi.json") as response:
        assert response.status == 200
        spec = await response.json()
    assert spec["openapi"] == "3.1.0"
    assert {"/api/v1/dossiers", "/api/v1/invoices", "/api/v1/feedback", "/readyz"} <= set(spec["paths"])
    # A service's own /metrics is not routed to it: the path is the gateway's.
    assert spec["paths"]["/metrics"]["get"]["tags"] == ["gateway"]
    schemas = spec["components"]["schemas"]
    # dossier and payment agree on Problem, feedback does not: each keeps its own, renamed.
    assert {"dossier_Problem", "payment_Problem", "feedback_Problem"} <= set(schemas)
    assert "Problem" not in schemas
    assert "ValidationError" in schemas  # identical everywhere: kept once
    feedback_404 = spec["paths"]["/api/v1/feedback"]["get"]["responses"]["404"]
    assert feedback_404["content"]["application/problem+json"]["schema"]["$ref"] == (
        "#/components/schemas/feedback_Problem"
    )
    # Page is the same text everywhere but points at a different Problem in each service.
    assert schemas["feedback_Page"]["properties"]["error"]["$ref"] == "#/components/schemas/feedback_Problem"


async def test_openapi_is_rebuilt_while_a_service_was_missing(
    backends: Backends, start_gateway: Callable[..., str], client: aiohttp.ClientSession
) -> None:
    gateway = start_gateway(backends.upstreams("asgi"))
    spec_of_feedback = backends.feedback.spec
    backends.feedback.spec = None  # feedback still starting
    try:
        async with client.get(gateway + "/openapi.json") as response:
            first = await response.json()
        assert first["info"]["x-missing-services"] == ["feedback"]
        assert "/api/v1/feedback" not in first["paths"]

        backends.feedback.spec = spec_of_feedback
        async with client.get(gateway + "/openapi.json") as response:
            second = await response.json()
        assert "x-missing-services" not in second["info"]
        assert "/api/v1/feedback" in second["paths"]

        # Complete now, so it is cached: a service's later change needs no new fetch (nor sees one).
        backends.feedback.spec = None
        async with client.get(gateway + "/openapi.json") as response:
            assert await response.json() == second
    finally:
        backends.feedback.spec = spec_of_feedback


class BearerRequired:
    """A stand-in token check: refuses a protected route without a bearer token, records what it was asked."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def authenticate(self, request: RequestHead, *, public: bool) -> Principal | None:
        self.seen.append((request.path, public))
        if not public and not (request.authorization or b"").startswith(b"Bearer "):
            raise Unauthorized("Thiếu access token", headers={"WWW-Authenticate": 'Bearer realm="egov"'})
        return None


async def test_authenticator_is_asked_for_every_routed_request_knowing_if_public(
    backends: Backends, start_gateway: Callable[..., str], client: aiohttp.ClientSession
) -> None:
    authenticator = BearerRequired()
    gateway = start_gateway(backends.upstreams("asgi"), authenticator=authenticator)
    async with client.get(
        gateway + "/api/v1/dossiers/echo", headers={"X-Request-ID": "no-token"}
    ) as response:
        assert response.status == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="egov"'
        assert response.headers["x-request-id"] == "no-token"
        assert (await response.json())["code"] == "auth.unauthenticated"
    async with client.get(
        gateway + "/api/v1/dossiers/echo", headers={"Authorization": "Bearer x"}
    ) as response:
        assert response.status == 200
    async with client.get(gateway + "/api/v1/procedures/echo") as response:
        assert response.status == 200  # the catalogue is public
    async with client.get(gateway + "/healthz") as response:
        assert response.status == 200  # the gateway's own endpoints are not routed: nobody is asked
    assert authenticator.seen == [
        ("/api/v1/dossiers/echo", False),
        ("/api/v1/dossiers/echo", False),
        ("/api/v1/procedures/echo", True),
    ]


async def test_in_process_service_lifespan_and_state(
    backends: Backends, start_gateway: Callable[..., str], client: aiohttp.ClientSession
) -> None:
    gateway = start_gateway({"dossier": AsgiUpstream("dossier", backends.dossier, lifespan=True)})
    assert backends.dossier.lifespan_started
    async with client.get(gateway + "/api/v1/dossiers/echo") as response:
        assert (await response.json())["state"] == {"backend": "dossier"}


async def test_one_access_log_line_per_request(
    backends: Backends, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="egov_gateway.access")  # as configure_logging leaves it
    app = create_gateway(
        GatewaySettings(log_json=True), {"dossier": AsgiUpstream("dossier", backends.dossier)}, AllowAll()
    )
    app.access_log.stream = lines = io.StringIO()
    server = ServerThread(app).start()
    try:
        url = server.url + "/api/v1/dossiers/echo?secret=1"
        async with client.get(url, headers={"X-Request-ID": "log-me"}) as response:
            assert response.status == 200
        async with client.get(server.url + "/nowhere", headers={"X-Request-ID": "log-me-too"}) as response:
            assert response.status == 404
    finally:
        server.stop()  # shutting down writes what is still batched
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert len(records) == 2
    first, second = records
    assert first["logger"] == "egov_gateway.access"
    assert (first["level"], first["service"], first["request_id"]) == ("INFO", "gateway", "log-me")
    assert (first["method"], first["path"], first["status"], first["upstream"]) == (
        "GET",
        "/api/v1/dossiers/echo",
        200,
        "dossier",
    )
    assert first["duration_ms"] >= 0
    assert "secret" not in lines.getvalue()  # query strings (codes, tokens) are never logged
    assert (second["status"], second["upstream"], second["request_id"]) == (404, "gateway", "log-me-too")
