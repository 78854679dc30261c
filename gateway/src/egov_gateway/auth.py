"""The seam where token validation plugs in (a later issue): called for every routed request off the public list.

An authenticator inspects the request head and either returns (let it through) or raises an
:class:`egov_shared.problems.ProblemError` (401 with ``WWW-Authenticate``, 429 with ``Retry-After``, ...), which the
gateway renders as a problem. Services verify the token again, so a bypassed gateway grants nothing.
"""

from __future__ import annotations

from typing import Protocol

from egov_gateway.headers import RequestHead


class Authenticator(Protocol):
    async def authenticate(self, request: RequestHead) -> None:
        """Return to let the request through; raise a ``ProblemError`` to refuse it."""
        ...


class AllowAll:
    """The default until token validation lands: every request goes through."""

    async def authenticate(self, request: RequestHead) -> None:
        return None
