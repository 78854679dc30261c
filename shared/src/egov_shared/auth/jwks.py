"""Where verifiers get the issuer's public keys: the JWKS, fetched and refreshed, or a fixed set."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from joserfc.jwk import RSAKey

log = logging.getLogger(__name__)

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]


def rsa_keys(jwks: Mapping[str, Any]) -> dict[str, RSAKey]:
    """The RS256 signing keys of a JWKS document, by ``kid`` (anything else is ignored)."""
    keys: dict[str, RSAKey] = {}
    for entry in jwks.get("keys", []):
        if entry.get("kty") != "RSA" or not entry.get("kid") or entry.get("use", "sig") != "sig":
            continue
        key = RSAKey.import_key(dict(entry))
        if key.is_private:
            continue
        keys[str(entry["kid"])] = key
    return keys


class StaticKeys:
    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys = rsa_keys(jwks)

    async def get(self, kid: str) -> RSAKey | None:
        return self._keys.get(kid)


class JwksClient:
    """Keys from the issuer's JWKS: fetched on first use, refreshed in the background, and refreshed at once
    (at most every ``min_refresh_seconds``) when a token names a key we have not seen."""

    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        refresh_seconds: float = 300.0,
        min_refresh_seconds: float = 10.0,
    ) -> None:
        self._fetch = fetch
        self.refresh_seconds = refresh_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self._keys: dict[str, RSAKey] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> JwksClient:
        async def fetch() -> Mapping[str, Any]:
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.get(url)
                response.raise_for_status()
                document: Mapping[str, Any] = response.json()
                return document

        return cls(fetch, **kwargs)

    async def get(self, kid: str) -> RSAKey | None:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            # Callers that queued behind a refresh find its result here instead of fetching again.
            if kid not in self._keys and time.monotonic() - self._fetched_at >= self.min_refresh_seconds:
                await self._refresh()
        return self._keys.get(kid)

    async def refresh(self) -> bool:
        async with self._lock:
            return await self._refresh()

    async def _refresh(self) -> bool:
        try:
            document = await self._fetch()
            keys = rsa_keys(document)
        except Exception as exc:
            log.warning("could not fetch the JWKS", extra={"error": type(exc).__name__})
            self._fetched_at = time.monotonic()
            return False
        self._keys = keys
        self._fetched_at = time.monotonic()
        return True

    async def run(self) -> None:
        """Refresh forever (a background task): new keys are known before they sign."""
        while True:
            await self.refresh()
            await asyncio.sleep(self.refresh_seconds)
