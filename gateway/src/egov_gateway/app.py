"""The gateway as a plain ASGI app: route, check, forward, and answer its own few endpoints.

No web framework sits on the proxy path: every request costs one pass over its headers, a dictionary look-up
for the route, the token check (a cache look-up for a token seen before), a rate-limit bucket and the upstream
call. The management endpoints (/healthz, /readyz, /services/{name}/readyz, /openapi.json, /metrics) are a
handful of path comparisons, reached only when no route matched.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from egov_gateway.accesslog import AccessLog
from egov_gateway.asgi import Receive, Scope, Send
from egov_gateway.auth import Authenticator, Refused, TokenAuthenticator
from egov_gateway.config import GatewaySettings
from egov_gateway.cors import CorsPolicy
from egov_gateway.headers import Header, RequestHead
from egov_gateway.health import readiness
from egov_gateway.metrics import GatewayMetrics
from egov_gateway.openapi import OpenApiCache
from egov_gateway.ratelimit import RateLimited, RateLimits
from egov_gateway.routes import SERVICES, is_public, resolve
from egov_gateway.upstreams import (
    ClientGone,
    Limits,
    Upstream,
    UpstreamContext,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from egov_shared.auth.tokens import Principal
from egov_shared.context import request_id_var
from egov_shared.problems import PROBLEM_CONTENT_TYPE, NotFound, ProblemError, problem_body

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("egov_gateway.access")

_JSON = b"application/json"
_PROBLEM = PROBLEM_CONTENT_TYPE.encode()
_CLIENT_GONE = 499  # nginx's code for "the client closed the request", used only in the access log


class Gateway:
    """The ASGI app. ``startup``/``shutdown`` run from the lifespan protocol, or by hand in tests and embedders.

    ``authenticator`` defaults to verifying tokens with the keys of the ``identity`` upstream
    (:meth:`TokenAuthenticator.for_identity`); pass :class:`egov_gateway.auth.AllowAll` to check none.
    """

    def __init__(
        self,
        settings: GatewaySettings,
        upstreams: Mapping[str, Upstream],
        authenticator: Authenticator | None = None,
    ) -> None:
        unknown = set(upstreams) - set(SERVICES)
        if unknown:
            raise ValueError(f"no route leads to {sorted(unknown)}; services are {SERVICES}")
        self.settings = settings
        self.upstreams = dict(upstreams)
        self.authenticator: Authenticator = (
            authenticator
            if authenticator is not None
            else TokenAuthenticator.for_identity(self.upstreams.get("identity"), settings)
        )
        self.rate_limits = RateLimits.from_settings(settings) if settings.rate_limits_enabled else None
        self.metrics = GatewayMetrics()
        self.cors = CorsPolicy(
            settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
            max_age_seconds=settings.cors_max_age_seconds,
        )
        self.limits = Limits(
            max_body_bytes=settings.max_body_bytes,
            timeout_seconds=settings.upstream_timeout_seconds,
            connect_timeout_seconds=settings.connect_timeout_seconds,
        )
        self.probe_timeout = settings.probe_timeout_seconds
        self.openapi = OpenApiCache(self.upstreams, timeout=self.probe_timeout)
        self.access_log = AccessLog()
        self._access_lines = False
        self._access_records = False

    # lifecycle

    async def startup(self) -> None:
        # Decided here, not in __init__: whoever embeds the gateway configures logging before serving.
        logging_on = self.settings.access_log and access_logger.isEnabledFor(logging.INFO)
        self._access_lines = logging_on and self.settings.log_json
        self._access_records = logging_on and not self.settings.log_json
        context = UpstreamContext(limits=self.limits, pool_size=self.settings.upstream_pool_size)
        for upstream in self.upstreams.values():
            await upstream.start(context)
        await self.authenticator.start()
        logger.info(
            "gateway started with %s", ", ".join(map(repr, self.upstreams.values())) or "no upstreams"
        )

    async def shutdown(self) -> None:
        await self.authenticator.stop()
        for upstream in reversed(self.upstreams.values()):
            await upstream.stop()
        self.access_log.flush()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    logger.exception("gateway startup failed")
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:  # websockets: nothing behind the gateway speaks them; closing before accept is a 403
            await send({"type": "websocket.close", "code": 1008})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        head = RequestHead(scope)
        request_id_var.set(head.request_id)
        extra: list[Header] = [(b"x-request-id", head.request_id.encode())]
        if head.origin is not None:
            extra.extend(self.cors.response_headers(head.origin))
        try:
            origin, preflight_method = head.origin, head.access_control_request_method
            if head.method == "OPTIONS" and origin is not None and preflight_method is not None:
                status = await self._preflight(head, origin, preflight_method, send, extra)
            else:
                service = resolve(head.path)
                if service is not None:
                    status = await self._proxy(head, service, receive, send, extra)
                else:
                    status = await self._own(head, send, extra)
        except ProblemError as exc:
            status = await self._problem(send, exc.status, exc.body(instance=head.path), extra, exc.headers)
        except UpstreamError as exc:
            body = problem_body(
                exc.status,
                code=exc.code,
                detail=f"Dịch vụ {exc.service} {exc.detail}",
                instance=head.path,
                extra={"service": exc.service},
            )
            status = await self._problem(send, exc.status, body, extra)
        except ClientGone:
            status = _CLIENT_GONE
        except Exception:
            # A bug, not a client's or a service's fault: log it and answer a problem if nothing was sent yet.
            logger.exception("gateway failed on %s %s", head.method, head.path)
            status = 500
            with contextlib.suppress(RuntimeError, OSError):
                await self._problem(send, 500, problem_body(500, instance=head.path), extra)
        seconds = time.perf_counter() - started
        upstream = head.service or "gateway"
        self.metrics.request(upstream, status, seconds)
        if self._access_lines:
            self.access_log.write(
                request_id=head.request_id,
                method=head.method,
                path=head.path,
                status=status,
                upstream=upstream,
                duration_ms=seconds * 1000,
            )
        elif self._access_records:  # human-readable development logs go through the logging module
            access_logger.info(
                "%s %s %d %s %.2f ms", head.method, head.path, status, upstream, seconds * 1000
            )

    async def _proxy(
        self, head: RequestHead, service: str, receive: Receive, send: Send, extra: list[Header]
    ) -> int:
        upstream = self.upstreams.get(service)
        if upstream is None:
            raise _NotConfigured(f"Dịch vụ {service} chưa được cấu hình", extra={"service": service})
        head.service = service
        head.check_length(self.limits.max_body_bytes)
        await self._admit(head)
        return await upstream.forward(head, receive, send, extra)

    async def _admit(self, head: RequestHead) -> None:
        """The token check, then the caller's rate limit; raises the problem that refuses the request."""
        try:
            principal = await self.authenticator.authenticate(head, public=is_public(head.method, head.path))
        except Refused as exc:
            self.metrics.auth_failure(exc.reason)
            # A refused caller is anonymous: a flood of bad tokens runs into its address's limit.
            self._charge(head, None)
            raise
        self._charge(head, principal)

    def _charge(self, head: RequestHead, principal: Principal | None) -> None:
        if self.rate_limits is None:
            return
        try:
            self.rate_limits.charge(head, principal)
        except RateLimited as exc:
            self.metrics.limited(exc.bucket)
            raise

    async def _preflight(
        self, head: RequestHead, origin: bytes, method: bytes, send: Send, extra: list[Header]
    ) -> int:
        requested = next(
            (v for k, v in head.scope["headers"] if k == b"access-control-request-headers"), None
        )
        allowed = self.cors.preflight_headers(origin, method, requested)
        if allowed is None:
            body = problem_body(
                403,
                code="cors.rejected",
                detail="Nguồn gốc hoặc phương thức không được phép",
                instance=head.path,
            )
            return await self._problem(send, 403, body, extra[:1])
        await send({"type": "http.response.start", "status": 204, "headers": [*extra[:1], *allowed]})
        await send({"type": "http.response.body", "body": b""})
        return 204

    async def _own(self, head: RequestHead, send: Send, extra: list[Header]) -> int:
        """The gateway's own endpoints; anything else is a 404."""
        path = head.path
        if path.startswith("/services/") and path.endswith("/readyz"):
            return await self._one_readyz(head, path[len("/services/") : -len("/readyz")], send, extra)
        if path not in ("/healthz", "/readyz", "/openapi.json", "/metrics"):
            raise NotFound("Không có đường dẫn này", code="route.not_found")
        if head.method not in ("GET", "HEAD"):
            raise _MethodNotAllowed("Chỉ hỗ trợ GET", headers={"allow": "GET, HEAD"})
        if path == "/healthz":
            return await _send_json(send, 200, b'{"status":"ok"}', _JSON, extra)
        if path == "/metrics":
            content_type = self.metrics.content_type.encode()
            return await _send_json(send, 200, self.metrics.render(), content_type, extra)
        if path == "/readyz":
            ready, services = await readiness(
                self.upstreams, timeout=self.probe_timeout, request_id=head.request_id
            )
            if ready:
                body = _dumps({"status": "ready", "services": services})
                return await _send_json(send, 200, body, _JSON, extra)
            failing = [name for name, result in services.items() if result["status"] != "ready"]
            problem = problem_body(
                503,
                code="gateway.not_ready",
                detail="Chưa sẵn sàng: " + ", ".join(failing),
                instance=path,
                extra={"services": services},
            )
            return await self._problem(send, 503, problem, extra)
        return await _send_json(send, 200, await self.openapi.get(head.request_id), _JSON, extra)

    async def _one_readyz(self, head: RequestHead, name: str, send: Send, extra: list[Header]) -> int:
        upstream = self.upstreams.get(name)
        if upstream is None:
            if name in SERVICES:
                raise _NotConfigured(f"Dịch vụ {name} chưa được cấu hình", extra={"service": name})
            raise NotFound(f"Không có dịch vụ {name}", code="service.not_found")
        try:
            probe = await upstream.get("/readyz", timeout=self.probe_timeout, request_id=head.request_id)
        except TimeoutError:
            raise UpstreamTimeout(name, "không trả lời kịp") from None
        except Exception:
            raise UpstreamUnavailable(name, "không kết nối được") from None
        content_type = (probe.content_type or "application/octet-stream").encode()
        return await _send_json(send, probe.status, probe.body, content_type, extra)

    async def _problem(
        self,
        send: Send,
        status: int,
        body: dict[str, Any],
        extra: list[Header],
        headers: Mapping[str, str] | None = None,
    ) -> int:
        more = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        return await _send_json(send, status, _dumps(body), _PROBLEM, [*extra, *more])


class _NotConfigured(ProblemError):
    status, default_code = 503, "upstream.not_configured"


class _MethodNotAllowed(ProblemError):
    status, default_code = 405, "request.method_not_allowed"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


async def _send_json(send: Send, status: int, body: bytes, content_type: bytes, extra: list[Header]) -> int:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


def create_gateway(
    settings: GatewaySettings,
    upstreams: Mapping[str, Upstream],
    authenticator: Authenticator | None = None,
) -> Gateway:
    """The gateway ASGI app over ``upstreams`` (``{service name: Upstream}``; a missing service answers 503).

    Tokens are verified with the ``identity`` upstream's keys unless another ``authenticator`` is given.
    """
    return Gateway(settings, upstreams, authenticator)
