"""Rate limits at the edge: a token bucket per caller, in memory (DESIGN §6: 429 with ``Retry-After``).

Every routed request is charged to one bucket: the verified token's client and subject, or, without a valid
token, the client's IP address. Logging in (POST to ``/oauth2/token`` and ``/oauth2/authorize``) is also charged
to a stricter bucket per IP, against credential stuffing.

The buckets live in this process: with N gateway replicas a caller may get N times the configured rate
(a shared limiter, in Redis say, is future work). Memory is bounded: a bucket left idle long enough to be full
again is the same as no bucket and is dropped, and past ``max_keys`` the least recently used go first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from egov_gateway.config import GatewaySettings
from egov_gateway.headers import RequestHead
from egov_shared.auth.tokens import Principal
from egov_shared.problems import TooManyRequests

# Logins: the form posts to /oauth2/authorize, apps and partners take tokens at /oauth2/token.
CREDENTIAL_PATHS = frozenset({"/oauth2/token", "/oauth2/authorize"})


class Rate(NamedTuple):
    per_second: float
    burst: int


class TokenBuckets:
    """Token buckets of ``burst`` tokens refilled at ``per_second``, one per key.

    Kept as GCRA (the generic cell rate algorithm), which is the same bucket stored as one number: the time
    at which the bucket would be full again. A request is allowed when that time, pushed back by one token's
    worth, is at most ``burst`` tokens ahead of now.
    """

    def __init__(
        self, rate: Rate, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate.per_second <= 0 or rate.burst < 1:
            raise ValueError(f"a rate needs a positive rate and a burst of at least 1, not {rate}")
        self.rate = rate
        self.max_keys = max_keys
        self._interval = 1.0 / rate.per_second
        self._window = rate.burst * self._interval
        self._clock = clock
        # key -> when its bucket is full again; least recently used first.
        self._full_at: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._full_at)

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0.0 if there was one, else the seconds until there will be one."""
        now = self._clock()
        buckets = self._full_at
        full_at = buckets.get(key)
        if full_at is None:
            self._make_room(now)
            full_at = now
        elif full_at < now:
            full_at = now
        wait = full_at + self._interval - self._window - now
        if wait > 0:
            return wait
        buckets[key] = full_at + self._interval
        buckets.move_to_end(key)
        return 0.0

    def _make_room(self, now: float) -> None:
        # Called for each new key: the two least recently used buckets go if they are full again (a full
        # bucket and no bucket are the same), and the least recently used anyway while at the cap.
        buckets = self._full_at
        for _ in range(2):
            if not buckets:
                return
            key, full_at = next(iter(buckets.items()))
            if full_at > now and len(buckets) < self.max_keys:
                return
            del buckets[key]


class RateLimited(TooManyRequests):
    """429 with ``Retry-After``; ``bucket`` names which limit was hit (for the metrics)."""

    def __init__(self, bucket: str, wait: float) -> None:
        super().__init__(
            "Quá nhiều yêu cầu, vui lòng thử lại sau.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
        self.bucket = bucket


class RateLimits:
    """Which buckets a request is charged to."""

    def __init__(
        self,
        *,
        authenticated: Rate,
        anonymous: Rate,
        credentials: Rate,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.authenticated = TokenBuckets(authenticated, max_keys=max_keys, clock=clock)
        self.anonymous = TokenBuckets(anonymous, max_keys=max_keys, clock=clock)
        self.credentials = TokenBuckets(credentials, max_keys=max_keys, clock=clock)

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> RateLimits:
        return cls(
            authenticated=Rate(
                settings.rate_limit_authenticated_per_second, settings.rate_limit_authenticated_burst
            ),
            anonymous=Rate(settings.rate_limit_anonymous_per_second, settings.rate_limit_anonymous_burst),
            credentials=Rate(
                settings.rate_limit_credentials_per_second, settings.rate_limit_credentials_burst
            ),
            max_keys=settings.rate_limit_max_keys,
        )

    def charge(self, request: RequestHead, principal: Principal | None) -> None:
        """Take this request's tokens, or raise :class:`RateLimited`."""
        if principal is not None:
            # The subject alone would merge a partner's and a citizen's app; the pair names one caller.
            wait = self.authenticated.take(f"{principal.client_id} {principal.subject}")
            if wait:
                raise RateLimited("authenticated", wait)
        else:
            wait = self.anonymous.take(client_ip(request))
            if wait:
                raise RateLimited("anonymous", wait)
        if request.method == "POST" and request.path in CREDENTIAL_PATHS:
            wait = self.credentials.take(client_ip(request))
            if wait:
                raise RateLimited("credentials", wait)


def client_ip(request: RequestHead) -> str:
    """The peer's address. uvicorn has already replaced it with the ``X-Forwarded-For`` address when the peer
    is a proxy it trusts (``FORWARDED_ALLOW_IPS``); from anyone else that header is not believed."""
    client = request.scope.get("client")
    return str(client[0]) if client else "unknown"
