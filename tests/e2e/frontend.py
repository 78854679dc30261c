"""What a frontend does against the gateway, as small helpers the journeys share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from egov_shared.testing.oidc import access_token

CITIZEN = "001099012345"
CITIZEN_L1 = "079203001234"
CLERK, SPECIALIST, LEADER, FINANCE = "motcua.h27", "chuyenvien.h27", "lanhdao.h27", "ketoan.h27"
COMMUNE = "000.10.00.H27"
PROVINCE = "000.00.00.H27"
PARTNER_CODE = "000.00.00.H56"  # the fake partner province of conftest.py
SECOND_FACTOR = {LEADER, FINANCE, "quantri.h27"}


# One login per person per cluster for the whole run: a TOTP code is accepted once per 30-second step, and
# an access token lives 10 minutes.
_TOKENS: dict[tuple[str, str], str] = {}


class Frontend:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def auth(self, who: str) -> dict[str, str]:
        key = (str(self.client.base_url), who)
        if key not in _TOKENS:
            _TOKENS[key] = await access_token(self.client, who, second_factor=who in SECOND_FACTOR)
        return {"Authorization": f"Bearer {_TOKENS[key]}"}

    async def call(
        self, method: str, path: str, who: str | None = None, *, expect: int = 200, **kwargs: Any
    ) -> Any:
        headers = {**(await self.auth(who) if who else {}), **kwargs.pop("headers", {})}
        response = await self.client.request(method, path, headers=headers, **kwargs)
        assert response.status_code == expect, (
            f"{method} {path}: {response.status_code} {response.text[:500]}"
        )
        if response.headers.get("content-type", "").startswith(
            ("application/json", "application/problem+json")
        ):
            return response.json()
        return response

    async def upload(
        self, who: str, content: bytes, name: str = "giay-to.pdf", kind: str = "application/pdf"
    ) -> str:
        body = await self.call(
            "POST", "/api/v1/files", who, expect=201, files={"file": (name, content, kind)}
        )
        return str(body["id"])

    async def act(self, who: str, dossier_id: str, action: str, **body: Any) -> dict[str, Any]:
        current = await self.call("GET", f"/api/v1/dossiers/{dossier_id}", who)
        result: dict[str, Any] = await self.call(
            "POST",
            f"/api/v1/dossiers/{dossier_id}/{action}",
            who,
            json=body,
            headers={"If-Match": f'"{current["version"]}"'},
        )
        return result


async def until(check: Callable[[], Awaitable[Any]], *, timeout: float = 60, what: str = "") -> Any:
    """The first truthy result of ``check()``; fails after ``timeout`` seconds (events cross real processes)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")
        await asyncio.sleep(0.25)
