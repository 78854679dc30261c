"""Header rules of the proxy hop: what crosses it, what is dropped, what the gateway adds.

Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message, so they never cross. Headers
the gateway sets itself (request id, ``X-Forwarded-*``) are dropped from the incoming side and set afresh.
"""

from __future__ import annotations

from collections.abc import Iterable

from egov_gateway.asgi import Scope
from egov_shared.context import accept_request_id
from egov_shared.problems import BadRequest, PayloadTooLarge

Header = tuple[bytes, bytes]

HOP_BY_HOP: frozenset[bytes] = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        # The gateway answers 100-continue to its client itself; asking the upstream too only adds a round trip.
        b"expect",
    }
)

# Request headers the gateway rewrites: the caller's values are replaced, never trusted as they are.
_REWRITTEN_REQUEST = frozenset({b"x-request-id", b"x-forwarded-proto", b"x-forwarded-host"})
_DROP_REQUEST = HOP_BY_HOP | _REWRITTEN_REQUEST

# Response headers the gateway owns: its request id, its CORS answer, its own Date and Server.
_DROP_RESPONSE = HOP_BY_HOP | {b"x-request-id", b"date", b"server"}
_CORS_RESPONSE_PREFIX = b"access-control-"


def _connection_tokens(value: bytes) -> set[bytes]:
    return {token.strip().lower() for token in value.split(b",")} - {b"close", b"keep-alive", b""}


class RequestHead:
    """What the gateway reads from an incoming request, gathered in one pass over its headers.

    ``forward_headers`` is the list sent upstream: hop-by-hop and gateway-owned headers removed, the request id
    and ``X-Forwarded-*`` added.
    """

    __slots__ = (
        "access_control_request_method",
        "authorization",
        "_raw_content_length",
        "content_length",
        "forward_headers",
        "has_body",
        "has_host",
        "method",
        "origin",
        "path",
        "request_id",
        "scope",
        "service",
    )

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.service: str | None = None
        request_id: bytes | None = None
        origin: bytes | None = None
        authorization: bytes | None = None
        acr_method: bytes | None = None
        content_length: bytes | None = None
        chunked = False
        host = b""
        forwarded_for: bytes | None = None
        connection: bytes | None = None
        out: list[Header] = []
        append = out.append
        drop = _DROP_REQUEST
        for name, value in scope["headers"]:
            # ASGI servers give request header names in lower case.
            if name in drop:
                if name == b"x-request-id":
                    request_id = value
                elif name == b"transfer-encoding":
                    chunked = True
                elif name == b"connection":
                    connection = value
                continue
            if name == b"x-forwarded-for":
                forwarded_for = value
                continue
            if name == b"host":
                host = value
            elif name == b"content-length":
                content_length = value
            elif name == b"origin":
                origin = value
            elif name == b"authorization":
                authorization = value
            elif name == b"access-control-request-method":
                acr_method = value
            append((name, value))
        if chunked and content_length is not None:
            # Both framings at once is a smuggling attempt the server should have refused; keep the safe one.
            out = [header for header in out if header[0] != b"content-length"]
            content_length = None
        if connection is not None:
            # A header the client named in Connection is hop-by-hop too (RFC 9110 §7.6.1).
            listed = _connection_tokens(connection)
            if listed:
                out = [header for header in out if header[0] not in listed]

        rid = accept_request_id(request_id.decode("latin-1") if request_id is not None else None)
        self.request_id = rid
        client = scope.get("client")
        client_ip = client[0].encode() if client else b"unknown"
        out.append((b"x-request-id", rid.encode()))
        # Appended like nginx's $proxy_add_x_forwarded_for. The client is the peer, or the address a trusted
        # proxy in front of the gateway reported (uvicorn applies FORWARDED_ALLOW_IPS before we get the scope).
        out.append(
            (
                b"x-forwarded-for",
                forwarded_for + b", " + client_ip if forwarded_for is not None else client_ip,
            )
        )
        out.append((b"x-forwarded-proto", scope["scheme"].encode()))
        if host:
            out.append((b"x-forwarded-host", host))
        self.forward_headers = out
        self.has_host = bool(host)
        self.origin = origin
        self.authorization = authorization
        self.access_control_request_method = acr_method
        self.content_length: int | None = None
        self._raw_content_length = content_length
        self.has_body = chunked or (content_length is not None and content_length != b"0")

    def check_length(self, max_body_bytes: int) -> None:
        """Refuse a declared body over the limit before reading a byte of it (a chunked one is counted later)."""
        raw = self._raw_content_length
        if raw is None:
            return
        try:
            length = int(raw)
        except ValueError:
            length = -1
        if length < 0:
            raise BadRequest("Content-Length không hợp lệ", code="request.bad_content_length")
        if length > max_body_bytes:
            raise PayloadTooLarge(f"Nội dung vượt quá giới hạn {max_body_bytes} byte")
        self.content_length = length


def response_headers(raw: Iterable[Header], extra: list[Header]) -> list[Header]:
    """An upstream's response headers fit to send on: hop-by-hop and gateway-owned ones dropped, ``extra`` added."""
    out: list[Header] = []
    listed: set[bytes] | None = None
    drop = _DROP_RESPONSE
    for name, value in raw:
        lower = name.lower()
        if lower in drop:
            if lower == b"connection":
                listed = _connection_tokens(value)
            continue
        if lower.startswith(_CORS_RESPONSE_PREFIX):
            continue
        out.append((lower, value))
    if listed:
        out = [header for header in out if header[0] not in listed]
    out.extend(extra)
    return out
