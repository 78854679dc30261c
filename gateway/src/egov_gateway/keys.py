"""The issuer's public keys at the gateway: svc-identity's JWKS, fetched through its :class:`Upstream`.

Going through the upstream rather than a URL makes it work alike in embedded mode (the identity app in-process)
and distributed mode (over HTTP). The JWKS is fetched at start; identity may not be up yet, so a failed fetch is
retried in the background every ``retry_seconds`` until one succeeds, then refreshed every ``refresh_seconds``.
A token naming a key not seen yet triggers one refresh at most every ``min_refresh_seconds`` (a new key is
published before it signs, so this is rare: a rotation the background refresh has not caught up with yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from joserfc.jwk import RSAKey

from egov_gateway.upstreams import Upstream
from egov_shared.auth.jwks import JwksClient, rsa_keys
from egov_shared.context import new_request_id

log = logging.getLogger(__name__)

JWKS_PATH = "/oauth2/jwks"


class KeysUnavailable(Exception):
    """No JWKS has ever been fetched: the gateway cannot tell a good token from a forged one."""


class IssuerKeys:
    """A ``KeySource`` for :class:`egov_shared.auth.tokens.TokenVerifier`, over :class:`JwksClient`."""

    def __init__(
        self,
        upstream: Upstream | None,
        *,
        timeout: float,
        refresh_seconds: float = 300.0,
        retry_seconds: float = 5.0,
        min_refresh_seconds: float = 10.0,
    ) -> None:
        self.upstream = upstream
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.jwks = JwksClient(
            self._fetch, refresh_seconds=refresh_seconds, min_refresh_seconds=min_refresh_seconds
        )
        self.loaded = False  # a JWKS was fetched at least once
        self._task: asyncio.Task[None] | None = None

    async def _fetch(self) -> Mapping[str, Any]:
        if self.upstream is None:
            raise KeysUnavailable("no identity service is configured")
        probe = await self.upstream.get(JWKS_PATH, timeout=self.timeout, request_id=new_request_id())
        if probe.status != 200:
            raise KeysUnavailable(f"{JWKS_PATH} answered {probe.status}")
        document: Mapping[str, Any] = json.loads(probe.body)
        rsa_keys(document)  # refuse a document that would not parse before it counts as loaded
        self.loaded = True
        return document

    async def get(self, kid: str) -> RSAKey | None:
        """The key, or None if the issuer does not publish it; :class:`KeysUnavailable` if no JWKS was ever
        fetched (then "unknown key" would be a guess)."""
        key = await self.jwks.get(kid)
        if key is None and not self.loaded:
            raise KeysUnavailable("the issuer's keys could not be fetched yet")
        return key

    async def start(self) -> None:
        """First fetch (waited for, so a gateway whose identity is up verifies from its first request), then
        keep refreshing in the background."""
        ok = await self.jwks.refresh()
        if not ok:
            log.warning("the issuer's keys are not available yet; retrying in the background")
        self._task = asyncio.create_task(self._run(ok), name="jwks-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, ok: bool) -> None:
        while True:
            await asyncio.sleep(self.jwks.refresh_seconds if ok else self.retry_seconds)
            ok = await self.jwks.refresh()
