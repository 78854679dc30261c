"""Forwarding through the gateway, over HTTP and in-process: what crosses the hop, what does not, and streaming."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from egov_gateway.testing import Backends, MiB, pattern, raw_request, wait_for


def header_values(echo: dict[str, Any], name: str) -> list[str]:
    return [value for key, value in echo["headers"] if key == name]


async def test_forwards_method_path_query_body_and_headers(
    gateway: str, client: aiohttp.ClientSession
) -> None:
    body = b'{"ten": "H\xe1\xbb\x93 s\xc6\xa1"}'
    async with client.put(
        gateway + "/api/v1/dossiers/a%2Fb/echo?status=new&q=h%E1%BB%93+s%C6%A1&q=2",
        data=body,
        headers={"Content-Type": "application/json", "X-Custom": "kept", "Authorization": "Bearer t"},
    ) as response:
        assert response.status == 200
        echo = await response.json()
        assert response.headers["x-upstream-kept"] == "yes"
    assert echo["service"] == "dossier"
    assert echo["method"] == "PUT"
    assert echo["raw_path"] == "/api/v1/dossiers/a%2Fb/echo"  # forwarded as sent, not decoded and re-encoded
    assert echo["query_string"] == "status=new&q=h%E1%BB%93+s%C6%A1&q=2"
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert header_values(echo, "content-type") == ["application/json"]
    assert header_values(echo, "x-custom") == ["kept"]
    assert header_values(echo, "authorization") == ["Bearer t"]
    assert header_values(echo, "content-length") == [str(len(body))]


async def test_head_and_delete_and_empty_post(gateway: str, client: aiohttp.ClientSession) -> None:
    async with client.delete(gateway + "/api/v1/dossiers/7/echo") as response:
        assert (await response.json())["method"] == "DELETE"
    async with client.post(gateway + "/api/v1/dossiers/7/echo") as response:
        echo = await response.json()
        assert (echo["method"], echo["body_len"]) == ("POST", 0)
    async with client.head(gateway + "/api/v1/dossiers/7/echo") as response:
        assert response.status == 200
        assert await response.read() == b""


async def test_hop_by_hop_headers_do_not_cross(gateway: str) -> None:
    request = (
        b"GET /api/v1/dossiers/echo HTTP/1.1\r\n"
        b"Host: portal.example\r\n"
        b"Connection: close, X-Hop\r\n"
        b"X-Hop: secret\r\n"
        b"Keep-Alive: timeout=5\r\n"
        b"TE: trailers\r\n"
        b"Upgrade: h2c\r\n"
        b"Proxy-Authorization: Basic eDp5\r\n"
        b"X-Forwarded-For: 203.0.113.9\r\n"
        b"X-Forwarded-Proto: https\r\n"
        b"X-End-To-End: kept\r\n"
        b"\r\n"
    )
    status, headers, body = await raw_request(gateway, request)
    assert status == 200
    echo = json.loads(body)
    sent = {name for name, _ in echo["headers"]}
    for dropped in ("x-hop", "keep-alive", "te", "upgrade", "proxy-authorization", "transfer-encoding"):
        assert dropped not in sent, dropped
    assert header_values(echo, "connection") in ([], ["keep-alive"])  # the upstream connection's own
    assert header_values(echo, "x-end-to-end") == ["kept"]
    # The gateway appends the peer it saw and states the scheme and host it was reached with.
    assert header_values(echo, "x-forwarded-for") == ["203.0.113.9, 127.0.0.1"]
    assert header_values(echo, "x-forwarded-proto") == ["http"]
    assert header_values(echo, "x-forwarded-host") == ["portal.example"]
    assert header_values(echo, "host") == ["portal.example"]

    # And on the way back: the upstream's hop-by-hop headers, request id and CORS answer stay behind.
    names = [name for name, _ in headers]
    assert "x-upstream-secret" not in names
    assert "keep-alive" not in names
    assert "access-control-allow-origin" not in names
    assert names.count("x-request-id") == 1
    assert dict(headers)["x-request-id"] != "upstream-made-this-up"
    assert dict(headers)["x-upstream-kept"] == "yes"


async def test_request_id_is_minted_forwarded_and_returned(
    gateway: str, client: aiohttp.ClientSession
) -> None:
    async with client.get(gateway + "/api/v1/dossiers/echo") as response:
        minted = response.headers["x-request-id"]
        echo = await response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", minted)
    assert header_values(echo, "x-request-id") == [minted]

    async with client.get(
        gateway + "/api/v1/dossiers/echo", headers={"X-Request-ID": "portal-42.a:b"}
    ) as response:
        assert response.headers.getall("x-request-id") == ["portal-42.a:b"]
        assert header_values(await response.json(), "x-request-id") == ["portal-42.a:b"]

    # An id that is not short and plain is not put into logs; the gateway mints its own.
    async with client.get(gateway + "/api/v1/dossiers/echo", headers={"X-Request-ID": "x" * 200}) as response:
        replaced = response.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", replaced)
        assert header_values(await response.json(), "x-request-id") == [replaced]


async def test_unknown_path_is_a_404_problem_with_request_id(
    gateway: str, client: aiohttp.ClientSession
) -> None:
    for path in ("/nowhere", "/api/v1/dossiersx", "/api/v2/dossiers", "/"):
        async with client.get(gateway + path, headers={"X-Request-ID": "rid-404"}) as response:
            assert response.status == 404, path
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["x-request-id"] == "rid-404"
            problem = await response.json()
            assert problem["status"] == 404
            assert problem["code"] == "route.not_found"


async def test_large_upload_streams_through_intact(
    gateway: str, backends: Backends, client: aiohttp.ClientSession
) -> None:
    size = 20 * MiB
    data = pattern(size)
    chunk = 512 * 1024

    async def body() -> AsyncIterator[bytes]:
        yield data[:chunk]
        # The service must see the first chunk while the rest is still with the client: no buffering.
        assert await wait_for(backends.dossier.first_chunk_seen, 10), "the gateway held the body back"
        for start in range(chunk, size, chunk):
            yield data[start : start + chunk]

    async with client.post(gateway + "/api/v1/dossiers/upload", data=body()) as response:
        assert response.status == 200
        result = await response.json()
    assert result["size"] == size
    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    assert result["chunks"] > 1


async def test_large_upload_with_content_length(gateway: str, client: aiohttp.ClientSession) -> None:
    data = pattern(20 * MiB + 7)
    async with client.post(gateway + "/api/v1/dossiers/upload", data=data) as response:
        assert response.status == 200
        result = await response.json()
    assert (result["size"], result["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())


async def test_large_download_streams_through_intact(
    gateway: str, backends: Backends, client: aiohttp.ClientSession
) -> None:
    size = 20 * MiB
    async with client.get(gateway + f"/api/v1/dossiers/download?size={size}") as response:
        assert response.status == 200
        # The first chunk arrives while the service still holds the rest back: the gateway does not buffer.
        first = await asyncio.wait_for(response.content.readexactly(1024), 5)
        backends.dossier.release_download.set()
        rest = await response.read()
    assert hashlib.sha256(first + rest).hexdigest() == hashlib.sha256(pattern(size)).hexdigest()
