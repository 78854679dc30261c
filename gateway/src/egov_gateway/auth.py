"""Who is calling: the access token checked at the edge, for every routed request (DESIGN §6).

The gateway calls :meth:`Authenticator.authenticate` for each request it routes, saying whether the route is
public. On a protected route a bearer token is required; on a public one it is optional, but one that is sent
is verified all the same (a forged token is refused everywhere). A refusal is a :class:`Refused` problem: 401
with ``WWW-Authenticate`` (RFC 6750 §3), or 503 while the issuer's keys have never been fetched (the gateway
cannot tell a good token from a forged one then). The token itself travels on untouched and the service
verifies it again with the same :class:`egov_shared.auth.tokens.TokenVerifier`: a bypassed gateway grants
nothing, and the gateway adds no identity headers of its own for a service to trust.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

from egov_gateway.config import GatewaySettings
from egov_gateway.headers import RequestHead
from egov_gateway.keys import IssuerKeys, KeysUnavailable
from egov_gateway.upstreams import Upstream
from egov_shared.auth.tokens import InvalidToken, Principal, TokenVerifier
from egov_shared.problems import ProblemError

# RFC 6750 §3.1: a request without credentials gets the challenge without an error code.
CHALLENGE = 'Bearer realm="egov"'


class Authenticator(Protocol):
    async def start(self) -> None:
        """Called once the upstreams have started (the issuer's keys come through one)."""
        ...

    async def stop(self) -> None: ...

    async def authenticate(self, request: RequestHead, *, public: bool) -> Principal | None:
        """The verified caller, None for an anonymous request to a public route; raise a ``ProblemError``
        (best a :class:`Refused`) to refuse the request."""
        ...


class Refused(ProblemError):
    """The authenticator's refusal; ``reason`` is a short fixed label (the metrics count by it)."""

    def __init__(
        self, status: int, reason: str, detail: str, *, code: str, headers: Mapping[str, str]
    ) -> None:
        super().__init__(detail, code=code, headers=headers)
        self.status = status
        self.reason = reason


class AllowAll:
    """No token check: for tests of the proxy alone, and deployments that put another check in front."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def authenticate(self, request: RequestHead, *, public: bool) -> Principal | None:
        return None


def bearer_token(authorization: bytes | None) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None without one (another scheme, such as a client's
    HTTP Basic credentials at the token endpoint, is the service's business)."""
    if authorization is None:
        return None
    scheme, _, rest = authorization.partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    token = rest.strip()
    if not token:
        raise Refused(
            401,
            "invalid_request",
            "Tiêu đề Authorization phải có dạng 'Bearer <token>'.",
            code="auth.invalid_token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_request"'},
        )
    return token.decode("latin-1")


class TokenAuthenticator:
    """Bearer tokens verified with the issuer's keys (see :mod:`egov_gateway.keys`)."""

    def __init__(self, verifier: TokenVerifier, keys: IssuerKeys | None = None) -> None:
        self.verifier = verifier
        self.keys = keys  # started and stopped with the gateway when given
        self._retry_after = str(math.ceil(keys.retry_seconds)) if keys is not None else "5"

    @classmethod
    def for_identity(cls, identity: Upstream | None, settings: GatewaySettings) -> TokenAuthenticator:
        """Keys from the identity service behind this gateway (none configured: every token is a 503)."""
        keys = IssuerKeys(
            identity,
            timeout=settings.probe_timeout_seconds,
            refresh_seconds=settings.jwks_refresh_seconds,
            retry_seconds=settings.jwks_retry_seconds,
            min_refresh_seconds=settings.jwks_min_refresh_seconds,
        )
        verifier = TokenVerifier(keys, issuer=settings.issuer, cache_size=settings.token_cache_size)
        return cls(verifier, keys)

    async def start(self) -> None:
        if self.keys is not None:
            await self.keys.start()

    async def stop(self) -> None:
        if self.keys is not None:
            await self.keys.stop()

    async def authenticate(self, request: RequestHead, *, public: bool) -> Principal | None:
        token = bearer_token(request.authorization)
        if token is None:
            if public:
                return None
            raise Refused(
                401,
                "missing",
                "Cần đăng nhập để thực hiện thao tác này.",
                code="auth.unauthenticated",
                headers={"WWW-Authenticate": CHALLENGE},
            )
        try:
            return await self.verifier.verify(token)
        except InvalidToken as exc:
            # The message is one of TokenVerifier's fixed phrases, never a part of the token.
            raise Refused(
                401,
                str(exc).replace(" ", "_"),
                "Mã truy cập không hợp lệ hoặc đã hết hạn.",
                code="auth.invalid_token",
                headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{exc}"'},
            ) from None
        except KeysUnavailable:
            raise Refused(
                503,
                "keys_unavailable",
                "Chưa lấy được khóa công khai của máy chủ định danh, vui lòng thử lại sau.",
                code="auth.keys_unavailable",
                headers={"Retry-After": self._retry_after},
            ) from None
