"""Rate limits per caller (429 with Retry-After) and the gateway's /metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from egov_gateway.app import create_gateway
from egov_gateway.asgi import ASGIApp
from egov_gateway.config import GatewaySettings
from egov_gateway.ratelimit import Rate, TokenBuckets
from egov_gateway.testing import Backends, IdentityBackend
from egov_gateway.upstreams import AsgiUpstream
from egov_shared.testing.tokens import TestIssuer

PROTECTED = "/api/v1/dossiers/echo"
PUBLIC = "/api/v1/procedures/echo"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(Rate(per_second=2.0, burst=3), clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0.0  # a bucket of its own
    clock.now += 0.25
    assert buckets.take("a") == pytest.approx(0.25)
    clock.now += 0.25
    assert buckets.take("a") == 0.0  # one token came back
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 60  # idle: full again, never more than the burst
    assert [buckets.take("a") for _ in range(4)][-2:] == [0.0, pytest.approx(0.5)]


def test_buckets_keep_bounded_memory() -> None:
    clock = Clock()
    buckets = TokenBuckets(Rate(per_second=1.0, burst=2), max_keys=100, clock=clock)
    for n in range(1000):
        buckets.take(f"busy-{n}")
    assert len(buckets) <= 100  # the cap holds even when every bucket is in use
    clock.now += 10  # all full again: as good as absent
    for n in range(10):
        buckets.take(f"new-{n}")
    assert len(buckets) < 100  # idle buckets are dropped as new callers come, not only at the cap


async def assert_limited(response: aiohttp.ClientResponse, interval: int) -> None:
    """429 with Retry-After in whole seconds: at most one token's interval (less as time passes)."""
    assert response.status == 429
    assert response.headers["content-type"] == "application/problem+json"
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit()
    assert interval - 3 <= int(retry_after) <= interval
    assert (await response.json())["code"] == "request.rate_limited"


@pytest.fixture
def limited_gateway(
    backends: Backends,
    serve: Callable[[ASGIApp], str],
    gateway_settings: Callable[..., GatewaySettings],
) -> Callable[..., tuple[str, TestIssuer]]:
    """A gateway that verifies tokens from a test issuer, with the given limits."""

    def start(**limits: Any) -> tuple[str, TestIssuer]:
        issuer = TestIssuer()
        upstreams = backends.upstreams("asgi")
        upstreams["identity"] = AsgiUpstream("identity", IdentityBackend(issuer.jwks()))
        return serve(create_gateway(gateway_settings(**limits), upstreams)), issuer

    return start


async def test_each_client_has_its_own_bucket(
    limited_gateway: Callable[..., tuple[str, TestIssuer]], client: aiohttp.ClientSession
) -> None:
    # 0.1 a second: nothing comes back during the test, and the wait is 10 s.
    gateway, issuer = limited_gateway(
        rate_limit_authenticated_per_second=0.1, rate_limit_authenticated_burst=3
    )
    first, second = issuer.citizen("citizen-1"), issuer.citizen("citizen-2")
    same_person_other_app = issuer.citizen("citizen-1", client_id="mobile-app")
    for _ in range(3):
        async with client.get(gateway + PROTECTED, headers={"Authorization": f"Bearer {first}"}) as response:
            assert response.status == 200
    async with client.get(gateway + PROTECTED, headers={"Authorization": f"Bearer {first}"}) as response:
        await assert_limited(response, 10)
    # A fresh token of the same caller is the same bucket.
    again = issuer.citizen("citizen-1")
    async with client.get(gateway + PROTECTED, headers={"Authorization": f"Bearer {again}"}) as response:
        await assert_limited(response, 10)
    for token in (second, same_person_other_app):
        async with client.get(gateway + PROTECTED, headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 200
    async with client.get(gateway + PUBLIC) as response:
        assert response.status == 200  # anonymous callers from this address are counted apart


async def test_anonymous_callers_are_limited_by_address_and_bad_tokens_count_there(
    limited_gateway: Callable[..., tuple[str, TestIssuer]], client: aiohttp.ClientSession
) -> None:
    gateway, issuer = limited_gateway(rate_limit_anonymous_per_second=0.1, rate_limit_anonymous_burst=3)
    async with client.get(gateway + PUBLIC) as response:
        assert response.status == 200
    async with client.get(gateway + PROTECTED) as response:
        assert response.status == 401  # refused callers are charged too
    async with client.get(gateway + PROTECTED, headers={"Authorization": "Bearer forged"}) as response:
        assert response.status == 401
    async with client.get(gateway + PUBLIC) as response:
        await assert_limited(response, 10)
    # Flooding bad tokens now meets the limit before anything else.
    async with client.get(gateway + PROTECTED, headers={"Authorization": "Bearer forged"}) as response:
        await assert_limited(response, 10)
    # A verified caller from the same address is not anonymous.
    token = issuer.citizen()
    async with client.get(gateway + PROTECTED, headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200


async def test_logins_have_a_stricter_bucket_per_address(
    limited_gateway: Callable[..., tuple[str, TestIssuer]], client: aiohttp.ClientSession
) -> None:
    gateway, _ = limited_gateway(rate_limit_credentials_per_second=0.05, rate_limit_credentials_burst=2)
    for path in ("/oauth2/token", "/oauth2/authorize"):
        async with client.post(gateway + path, data={"grant_type": "client_credentials"}) as response:
            assert response.status == 200
    async with client.post(gateway + "/oauth2/token", data={"grant_type": "password"}) as response:
        await assert_limited(response, 20)
    async with client.get(gateway + "/oauth2/authorize") as response:
        assert response.status == 200  # showing the login page is not a login attempt
    async with client.get(gateway + PUBLIC) as response:
        assert response.status == 200


async def test_limits_can_be_turned_off(
    limited_gateway: Callable[..., tuple[str, TestIssuer]], client: aiohttp.ClientSession
) -> None:
    gateway, _ = limited_gateway(
        rate_limits_enabled=False, rate_limit_anonymous_per_second=0.01, rate_limit_anonymous_burst=1
    )
    for _ in range(3):
        async with client.get(gateway + PUBLIC) as response:
            assert response.status == 200


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_metrics_count_requests_latency_auth_failures_and_limits(
    limited_gateway: Callable[..., tuple[str, TestIssuer]], client: aiohttp.ClientSession
) -> None:
    gateway, issuer = limited_gateway(rate_limit_anonymous_per_second=0.01, rate_limit_anonymous_burst=3)
    token = issuer.citizen()
    async with client.get(gateway + PROTECTED, headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200
    async with client.get(gateway + PROTECTED) as response:
        assert response.status == 401
    expired = issuer.citizen(now=1_000_000)
    async with client.get(gateway + PROTECTED, headers={"Authorization": f"Bearer {expired}"}) as response:
        assert response.status == 401
    async with client.get(gateway + PUBLIC) as response:
        assert response.status == 200
    async with client.get(gateway + PUBLIC) as response:
        assert response.status == 429
    async with client.get(gateway + "/metrics") as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/plain")
        found = samples(await response.text())
    assert found[("egov_gateway_requests_total", (("service", "dossier"), ("status", "200")))] == 2
    assert found[("egov_gateway_requests_total", (("service", "dossier"), ("status", "401")))] == 2
    assert found[("egov_gateway_requests_total", (("service", "dossier"), ("status", "429")))] == 1
    assert found[("egov_gateway_request_duration_seconds_count", (("service", "dossier"),))] == 5
    assert (
        found[("egov_gateway_request_duration_seconds_bucket", (("le", "+Inf"), ("service", "dossier")))] == 5
    )
    assert found[("egov_gateway_auth_failures_total", (("reason", "missing"),))] == 1
    assert found[("egov_gateway_auth_failures_total", (("reason", "token_expired"),))] == 1
    assert found[("egov_gateway_rate_limited_total", (("bucket", "anonymous"),))] == 1
