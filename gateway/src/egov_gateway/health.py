"""Readiness of the services behind the gateway, asked all at once with a short timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from egov_gateway.upstreams import Upstream


async def service_readiness(upstream: Upstream, *, timeout: float, request_id: str) -> dict[str, Any]:
    """``{"status": "ready" | "not_ready" | "timeout" | "unreachable", ...}`` for one service."""
    try:
        probe = await upstream.get("/readyz", timeout=timeout, request_id=request_id)
    except TimeoutError:
        return {"status": "timeout"}
    except Exception as exc:  # refused, reset, or the in-process app raising: all mean "not reachable"
        return {"status": "unreachable", "error": type(exc).__name__}
    if probe.status == 200:
        return {"status": "ready"}
    return {"status": "not_ready", "http_status": probe.status}


async def readiness(
    upstreams: Mapping[str, Upstream], *, timeout: float, request_id: str
) -> tuple[bool, dict[str, dict[str, Any]]]:
    """Whether every service is ready, and each one's answer by name."""
    names = list(upstreams)
    results = await asyncio.gather(
        *(service_readiness(upstreams[name], timeout=timeout, request_id=request_id) for name in names)
    )
    by_name = dict(zip(names, results, strict=True))
    return all(result["status"] == "ready" for result in results), by_name
