"""Failure answers of the proxy hop: 413 oversize bodies, 503 unreachable services, 504 silent ones."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from egov_gateway.testing import Backends, MiB, raw_request
from egov_gateway.upstreams import HttpUpstream


@pytest.fixture
def small_gateway(kind: str, backends: Backends, start_gateway: Callable[..., str]) -> str:
    """A gateway that takes bodies up to 1 MiB."""
    return start_gateway(backends.upstreams(kind), max_body_bytes=1 * MiB)


async def assert_problem(response: aiohttp.ClientResponse, status: int, code: str) -> dict[str, object]:
    assert response.status == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"]
    problem: dict[str, object] = await response.json()
    assert (problem["status"], problem["code"]) == (status, code)
    return problem


async def test_declared_oversize_body_is_refused_before_it_is_sent(small_gateway: str) -> None:
    # Headers only: the gateway must answer from Content-Length alone, without waiting for the body.
    request = (
        b"POST /api/v1/dossiers/upload HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n"
        b"X-Request-ID: big-one\r\nContent-Length: 1073741824\r\n\r\n"
    )
    status, headers, body = await raw_request(small_gateway, request)
    assert status == 413
    assert ("x-request-id", "big-one") in headers
    assert b'"request.too_large"' in body


async def test_chunked_oversize_body_is_refused_while_streaming(
    small_gateway: str, client: aiohttp.ClientSession
) -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * (512 * 1024)

    async with client.post(small_gateway + "/api/v1/dossiers/upload", data=body()) as response:
        await assert_problem(response, 413, "request.too_large")


async def test_body_at_the_limit_passes(small_gateway: str, client: aiohttp.ClientSession) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"y" * (512 * 1024)
        yield b"y" * (512 * 1024)

    async with client.post(small_gateway + "/api/v1/dossiers/upload", data=body()) as response:
        assert response.status == 200
        assert (await response.json())["size"] == 1 * MiB
    async with client.post(small_gateway + "/api/v1/dossiers/upload", data=b"z" * MiB) as response:
        assert (await response.json())["size"] == 1 * MiB


async def test_silent_upstream_is_a_504(gateway: str, client: aiohttp.ClientSession) -> None:
    began = time.monotonic()
    async with client.get(gateway + "/api/v1/dossiers/slow?seconds=3") as response:
        problem = await assert_problem(response, 504, "upstream.timeout")
    assert problem["service"] == "dossier"
    assert time.monotonic() - began < 2.5  # the 1 s timeout, not the 3 s the service would take
    async with client.get(gateway + "/api/v1/dossiers/slow?seconds=0.1") as response:
        assert response.status == 200  # a slow-but-in-time answer is fine


async def test_down_upstream_is_a_503(
    backends: Backends, start_gateway: Callable[..., str], client: aiohttp.ClientSession
) -> None:
    gateway = start_gateway({"identity": HttpUpstream("identity", backends.down_url)})
    for path in ("/oauth2/token", "/api/v1/identity/me"):
        async with client.post(gateway + path, data=b"grant_type=x") as response:
            problem = await assert_problem(response, 503, "upstream.unavailable")
            assert problem["service"] == "identity"


async def test_service_not_configured_is_a_503(gateway: str, client: aiohttp.ClientSession) -> None:
    async with client.get(gateway + "/api/v1/documents/1") as response:
        problem = await assert_problem(response, 503, "upstream.not_configured")
    assert problem["service"] == "document"


async def test_in_process_service_crash_before_answering_is_a_502(
    backends: Backends, start_gateway: Callable[..., str], client: aiohttp.ClientSession
) -> None:
    gateway = start_gateway(backends.upstreams("asgi"))
    async with client.get(gateway + "/api/v1/dossiers/fail") as response:
        await assert_problem(response, 502, "upstream.bad_response")
