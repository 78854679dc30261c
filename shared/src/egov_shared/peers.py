"""Synchronous calls to another service's public API, through the gateway (``EGOV_API_URL``).

A service never reads another's database; when it needs an answer now (does this file belong to the caller?
who is this citizen?) it calls the other service's public API like any client would, with the caller's token
(or its own, from :class:`ServiceCredentials`), so the other service applies its own authorization. The request
id travels along so the logs of both sides tie together. A peer that cannot be reached, or fails, is a 503
problem for our caller, never a 500.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import httpx

from egov_shared.context import REQUEST_ID_HEADER, current_request_id
from egov_shared.problems import ServiceUnavailable

DEFAULT_TIMEOUT_SECONDS = 15.0


class PeerClient:
    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # More kept-alive connections than httpx's 20: under load a service has dozens of peer calls in flight,
        # and closing and reopening connections cost CPU (bench/dossier_bench.py).
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        self._client = httpx.AsyncClient(
            base_url=self.base_url, transport=transport, timeout=timeout, limits=limits
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        files: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
    ) -> httpx.Response:
        """The peer's response (any 2xx/4xx: the caller decides what it means); 5xx and no answer raise 503."""
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        request_id = current_request_id()
        if request_id:
            sent[REQUEST_ID_HEADER] = request_id
        try:
            response = await self._client.request(
                method,
                path,
                json=json,
                content=content,
                data=data,
                files=files,
                params=params,
                headers=sent,
                auth=auth or httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise _unavailable(path) from exc
        if response.status_code >= 500:
            raise _unavailable(path)
        return response

    async def aclose(self) -> None:
        await self._client.aclose()


def _unavailable(path: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        "Một dịch vụ liên quan tạm thời không trả lời, xin thử lại sau ít phút.",
        code="service.peer_unavailable",
        extra={"peer_path": path.split("?", 1)[0]},
    )


class ServiceCredentials:
    """A service's own access token (OAuth 2 client credentials at svc-identity), reused until shortly before
    it expires. For calls made on no one's behalf: svc-payment signing a receipt as the agency, say."""

    REFRESH_MARGIN_SECONDS = 60.0

    def __init__(self, peers: PeerClient, *, client_id: str, client_secret: str, scope: str) -> None:
        self.peers = peers
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at - self.REFRESH_MARGIN_SECONDS:
                self._token, lifetime = await self._fetch()
                self._expires_at = time.monotonic() + lifetime
            return self._token

    def forget(self) -> None:
        """Drop the cached token (the peer refused it: keys rotated, client revoked)."""
        self._token = None

    async def _fetch(self) -> tuple[str, float]:
        response = await self.peers.request(
            "POST",
            "/oauth2/token",
            data={"grant_type": "client_credentials", "scope": self.scope},
            auth=(self.client_id, self._secret),
        )
        if response.status_code != 200:
            raise ServiceUnavailable(
                "Dịch vụ không lấy được quyền truy cập của chính nó; kiểm tra cấu hình client.",
                code="service.credentials_refused",
            )
        try:
            body = response.json()
            return str(body["access_token"]), float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError) as exc:
            raise ServiceUnavailable(
                "Dịch vụ định danh trả lời không như mong đợi.", code="service.credentials_unreadable"
            ) from exc
