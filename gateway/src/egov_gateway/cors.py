"""CORS for browser clients, decided at the gateway (the one place that knows the allowed origins).

Preflights are answered here and never reach a service; on other requests the allowed-origin headers are added to
whatever the upstream answers, problems included, so a browser can read the error.
"""

from __future__ import annotations

from collections.abc import Iterable

from egov_gateway.headers import Header

ALLOWED_METHODS = b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
# Headers a browser script may read from responses beyond the CORS-safelisted ones.
EXPOSED_HEADERS = b"X-Request-ID, ETag, Location, Retry-After, Link, Content-Disposition, WWW-Authenticate"
_PREFLIGHT_VARY = b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
_ALLOWED_METHOD_SET = frozenset(m.strip() for m in ALLOWED_METHODS.split(b","))


class CorsPolicy:
    def __init__(self, origins: Iterable[str], *, allow_credentials: bool, max_age_seconds: int) -> None:
        origin_list = [origin.rstrip("/") for origin in origins]
        self.allow_any = "*" in origin_list
        self.origins = frozenset(origin.encode() for origin in origin_list if origin != "*")
        self.allow_credentials = allow_credentials
        self.max_age = str(max_age_seconds).encode()
        # With credentials a browser refuses a literal "*", so an allowed origin is always echoed back.
        self._wildcard = self.allow_any and not allow_credentials

    def allows(self, origin: bytes) -> bool:
        return self.allow_any or origin in self.origins

    def response_headers(self, origin: bytes | None) -> list[Header]:
        """Headers to add to an actual (non-preflight) response; none when the origin is absent or not allowed."""
        if origin is None or not self.allows(origin):
            return []
        headers = self._origin_headers(origin)
        headers.append((b"access-control-expose-headers", EXPOSED_HEADERS))
        return headers

    def preflight_headers(
        self, origin: bytes, method: bytes, request_headers: bytes | None
    ) -> list[Header] | None:
        """The answer to a preflight, or None when the origin or method is not allowed."""
        if not self.allows(origin) or method.strip().upper() not in _ALLOWED_METHOD_SET:
            return None
        headers = self._origin_headers(origin, _PREFLIGHT_VARY)
        headers.append((b"access-control-allow-methods", ALLOWED_METHODS))
        if request_headers:
            # Any request header is fine at the edge; the services decide what they accept.
            headers.append((b"access-control-allow-headers", request_headers))
        headers.append((b"access-control-max-age", self.max_age))
        return headers

    def _origin_headers(self, origin: bytes, vary: bytes = b"Origin") -> list[Header]:
        if self._wildcard:
            return [(b"access-control-allow-origin", b"*")]
        headers: list[Header] = [(b"access-control-allow-origin", origin), (b"vary", vary)]
        if self.allow_credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers
