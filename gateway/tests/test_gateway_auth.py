"""The token check at the edge (DESIGN §6): every refusal, what passes and how, public routes, the issuer's keys.

The gateway here runs with its default authenticator, fetching the JWKS from a stand-in identity service
(``IdentityBackend``) through the same upstream interface, in-process and over HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from joserfc import jwt

from egov_gateway.app import create_gateway
from egov_gateway.asgi import ASGIApp
from egov_gateway.config import GatewaySettings
from egov_gateway.testing import Backends, IdentityBackend
from egov_gateway.upstreams import AsgiUpstream, HttpUpstream, Upstream
from egov_shared.auth.issuing import sign_access_token
from egov_shared.testing.tokens import TestIssuer

PROTECTED = "/api/v1/dossiers/echo"
PUBLIC = "/api/v1/procedures/echo"
Serve = Callable[[ASGIApp], str]


async def assert_problem(response: aiohttp.ClientResponse, status: int, code: str) -> None:
    assert response.status == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = await response.json()
    assert (problem["status"], problem["code"]) == (status, code)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: dict[str, Any]) -> str:
    return b64(json.dumps(value).encode())


def good_claims(issuer: TestIssuer, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": issuer.issuer,
        "sub": "citizen-1",
        "aud": "egov-api",
        "exp": now + 600,
        "iat": now,
        "nbf": now,
        "jti": uuid.uuid4().hex,
        "client_id": "demo-web",
        "scope": "openid",
        "sub_type": "citizen",
    }
    claims.update(changes)
    return claims


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64json(header)}.{b64json(claims)}."


def alg_none(issuer: TestIssuer) -> str:
    return unsigned({"alg": "none", "typ": "at+jwt", "kid": issuer.key.kid}, good_claims(issuer))


def hs256_with_public_key(issuer: TestIssuer) -> str:
    # Algorithm confusion: an HMAC keyed with the public key, which anyone can fetch from the JWKS.
    header = {"alg": "HS256", "typ": "at+jwt", "kid": issuer.key.kid}
    signing_input = f"{b64json(header)}.{b64json(good_claims(issuer))}"
    secret = issuer.key.as_pem(private=False)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def signed(issuer: TestIssuer, claims: dict[str, Any], typ: str = "at+jwt") -> str:
    header = {"alg": "RS256", "typ": typ, "kid": issuer.key.kid}
    return jwt.encode(header, claims, issuer.key, algorithms=["RS256"])


def other_issuers_key(issuer: TestIssuer) -> str:
    stranger = TestIssuer(issuer.issuer)  # same name, a key the real issuer never published
    return stranger.citizen()


def tampered(issuer: TestIssuer) -> str:
    header, _, signature = issuer.citizen().split(".")
    return f"{header}.{b64json(good_claims(issuer, sub='someone-else'))}.{signature}"


FORGERIES: dict[str, tuple[Callable[[TestIssuer], str], str]] = {
    "alg none": (alg_none, "unsupported algorithm"),
    "HS256 keyed with the public key": (hs256_with_public_key, "unsupported algorithm"),
    "wrong issuer": (lambda i: signed(i, good_claims(i, iss="https://evil.example")), "wrong issuer"),
    "wrong audience": (lambda i: signed(i, good_claims(i, aud="other-api")), "wrong audience"),
    "wrong typ": (lambda i: signed(i, good_claims(i), typ="JWT"), "not an access token"),
    "id token typ missing": (
        lambda i: jwt.encode({"alg": "RS256", "kid": i.key.kid}, good_claims(i), i.key, algorithms=["RS256"]),
        "not an access token",
    ),
    "expired": (
        lambda i: i.citizen(now=int(time.time()) - 3600, lifetime_seconds=600),
        "token expired",
    ),
    "not yet valid (nbf)": (
        lambda i: signed(i, good_claims(i, nbf=int(time.time()) + 3600)),
        "token not yet valid",
    ),
    "issued in the future": (lambda i: i.citizen(now=int(time.time()) + 3600), "token not yet valid"),
    "unknown kid": (other_issuers_key, "unknown signing key"),
    "signature of other claims": (tampered, "bad signature"),
    "malformed: not a JWT": (lambda i: "not-a-token", "malformed token"),
    "malformed: header not JSON": (lambda i: b64(b"not json") + ".e30.c2ln", "malformed token header"),
}


@pytest.fixture(scope="module")
def issuer() -> TestIssuer:
    return TestIssuer()


def identity_upstream(kind: str, identity: IdentityBackend, serve: Serve) -> Upstream:
    if kind == "http":
        return HttpUpstream("identity", serve(identity))
    return AsgiUpstream("identity", identity)


@pytest.fixture
def start_with_tokens(
    backends: Backends, serve: Serve, gateway_settings: Callable[..., GatewaySettings]
) -> Callable[..., str]:
    """``start_with_tokens(kind, identity, **settings)``: a gateway with its default authenticator, the
    issuer's keys coming from ``identity`` (None: no identity service)."""

    def start(kind: str, identity: IdentityBackend | None, **overrides: Any) -> str:
        upstreams = backends.upstreams(kind)
        if identity is not None:
            upstreams["identity"] = identity_upstream(kind, identity, serve)
        return serve(create_gateway(gateway_settings(**overrides), upstreams))

    return start


@pytest.fixture
def identity(issuer: TestIssuer) -> IdentityBackend:
    return IdentityBackend(issuer.jwks())


@pytest.fixture
def gateway(kind: str, identity: IdentityBackend, start_with_tokens: Callable[..., str]) -> str:
    return start_with_tokens(kind, identity)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_good_token_reaches_the_service_as_it_was_sent(
    gateway: str, issuer: TestIssuer, client: aiohttp.ClientSession
) -> None:
    token = issuer.official(roles=["receiver"])
    for _ in range(2):  # verified, then from the cache
        async with client.get(gateway + PROTECTED, headers=bearer(token)) as response:
            assert response.status == 200
            echoed = await response.json()
        headers = echoed["headers"]
        assert ["authorization", f"Bearer {token}"] in headers
        # No identity headers of the gateway's own: the service trusts the token only.
        assert not [name for name, _ in headers if name.startswith("x-egov")]


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_a_bad_token_is_refused_with_401(
    forgery: str, gateway: str, issuer: TestIssuer, client: aiohttp.ClientSession
) -> None:
    make, description = FORGERIES[forgery]
    async with client.get(gateway + PROTECTED, headers=bearer(make(issuer))) as response:
        await assert_problem(response, 401, "auth.invalid_token")
        assert response.headers["www-authenticate"] == (
            f'Bearer error="invalid_token", error_description="{description}"'
        )


async def test_a_missing_token_on_a_protected_route_gets_the_plain_challenge(
    gateway: str, client: aiohttp.ClientSession
) -> None:
    # RFC 6750 §3.1: no credentials, no error code. Another scheme is not a bearer token either.
    for headers in ({}, {"Authorization": "Basic ZGVtbzpzZWNyZXQ="}):
        async with client.get(gateway + PROTECTED, headers=headers) as response:
            await assert_problem(response, 401, "auth.unauthenticated")
            assert response.headers["www-authenticate"] == 'Bearer realm="egov"'
    # A browser app may read the challenge (to tell an expired token from a missing one).
    async with client.get(gateway + PROTECTED, headers={"Origin": "https://portal.example"}) as response:
        assert response.status == 401
        assert "WWW-Authenticate" in response.headers["access-control-expose-headers"]
    async with client.get(gateway + PROTECTED, headers={"Authorization": "Bearer  "}) as response:
        await assert_problem(response, 401, "auth.invalid_token")
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_request"'


async def test_public_routes_need_no_token_but_verify_one_that_is_sent(
    gateway: str, issuer: TestIssuer, client: aiohttp.ClientSession
) -> None:
    async with client.get(gateway + PUBLIC) as response:
        assert response.status == 200
    async with client.get(gateway + PUBLIC, headers=bearer(issuer.citizen())) as response:
        assert response.status == 200
    expired = issuer.citizen(now=int(time.time()) - 3600)
    async with client.get(gateway + PUBLIC, headers=bearer(expired)) as response:
        await assert_problem(response, 401, "auth.invalid_token")
    async with client.get(gateway + PUBLIC, headers=bearer(alg_none(issuer))) as response:
        await assert_problem(response, 401, "auth.invalid_token")
    # A partner's client secret at the token endpoint is identity's to check, not a bearer token.
    basic = {"Authorization": "Basic ZGVtby1wYXJ0bmVyOnNlY3JldA=="}
    async with client.post(gateway + "/oauth2/token", headers=basic, data={"a": "b"}) as response:
        assert response.status == 200
        assert (await response.json())["service"] == "identity"
    async with client.post(gateway + "/api/v1/identity/citizens", json={}) as response:
        assert response.status == 200  # self-registration
    async with client.post(gateway + "/api/v1/identity/citizens/search", json={}) as response:
        await assert_problem(response, 401, "auth.unauthenticated")
    async with client.get(gateway + "/api/v1/identity/agencies") as response:
        assert response.status == 200
    async with client.post(gateway + "/api/v1/identity/agencies", json={}) as response:
        await assert_problem(response, 401, "auth.unauthenticated")


async def test_until_the_keys_are_fetched_tokens_get_503_then_the_background_retry_fetches_them(
    kind: str, issuer: TestIssuer, start_with_tokens: Callable[..., str], client: aiohttp.ClientSession
) -> None:
    identity = IdentityBackend(issuer.jwks(), available=False)  # identity is still starting
    gateway = start_with_tokens(kind, identity, jwks_retry_seconds=0.2)
    token = issuer.citizen()
    async with client.get(gateway + PROTECTED, headers=bearer(token)) as response:
        await assert_problem(response, 503, "auth.keys_unavailable")
        assert response.headers["retry-after"] == "1"
    # What needs no key is still decided: a forged algorithm, a missing token, a public route.
    async with client.get(gateway + PROTECTED, headers=bearer(alg_none(issuer))) as response:
        await assert_problem(response, 401, "auth.invalid_token")
    async with client.get(gateway + PROTECTED) as response:
        await assert_problem(response, 401, "auth.unauthenticated")
    async with client.get(gateway + PUBLIC) as response:
        assert response.status == 200

    identity.available = True
    deadline = time.monotonic() + 10
    while True:
        async with client.get(gateway + PROTECTED, headers=bearer(token)) as response:
            if response.status == 200:
                break
            assert response.status == 503
        assert time.monotonic() < deadline, "the keys were never fetched"
        await asyncio.sleep(0.1)
    assert identity.fetches >= 2


async def test_without_an_identity_service_tokens_get_503(
    issuer: TestIssuer, start_with_tokens: Callable[..., str], client: aiohttp.ClientSession
) -> None:
    gateway = start_with_tokens("asgi", None)
    async with client.get(gateway + PROTECTED, headers=bearer(issuer.citizen())) as response:
        await assert_problem(response, 503, "auth.keys_unavailable")


async def test_unknown_kids_refresh_the_keys_at_most_once_per_interval(
    issuer: TestIssuer, start_with_tokens: Callable[..., str], client: aiohttp.ClientSession
) -> None:
    interval = 2.0
    # A slow JWKS answer lets requests pile up behind a refresh, as they would under load.
    identity = IdentityBackend(issuer.jwks(), delay_seconds=0.05)
    gateway = start_with_tokens(
        "asgi", identity, jwks_min_refresh_seconds=interval, rate_limits_enabled=False
    )
    assert identity.fetches == 1  # at start

    async def flood(count: int = 100) -> None:
        async def one() -> None:
            header = {"alg": "RS256", "typ": "at+jwt", "kid": uuid.uuid4().hex}
            token = unsigned(header, good_claims(issuer)) + "c2ln"
            async with client.get(gateway + PROTECTED, headers=bearer(token)) as response:
                assert response.status == 401
                assert "unknown signing key" in response.headers["www-authenticate"]

        await asyncio.gather(*(one() for _ in range(count)))

    await flood()
    assert identity.fetches == 1  # the start's fetch is recent enough
    await asyncio.sleep(interval + 0.1)
    await flood()
    assert identity.fetches == 2  # one refresh for all of them
    await flood()
    assert identity.fetches == 2

    # A key published meanwhile (a rotation the background refresh has not seen) is found by that refresh.
    newcomer = TestIssuer(issuer.issuer)
    identity.jwks = {"keys": [*issuer.jwks()["keys"], *newcomer.jwks()["keys"]]}
    await asyncio.sleep(interval + 0.1)
    async with client.get(gateway + PROTECTED, headers=bearer(newcomer.client())) as response:
        assert response.status == 200
    assert identity.fetches == 3


async def test_the_same_issuer_name_with_an_extra_kid_claim_is_not_trusted(
    gateway: str, issuer: TestIssuer, client: aiohttp.ClientSession
) -> None:
    # A token may not bring its own key (jwk / jku / x5u headers): only the published keys count.
    stranger = TestIssuer(issuer.issuer)
    header = {"alg": "RS256", "typ": "at+jwt", "kid": issuer.key.kid, "jwk": stranger.jwks()["keys"][0]}
    token = jwt.encode(header, good_claims(issuer), stranger.key, algorithms=["RS256"])
    async with client.get(gateway + PROTECTED, headers=bearer(token)) as response:
        await assert_problem(response, 401, "auth.invalid_token")
        assert "bad signature" in response.headers["www-authenticate"]
    # And the genuine article still passes.
    token = sign_access_token(issuer.key, issuer=issuer.issuer, subject="c", kind="client", client_id="c")
    async with client.get(gateway + PROTECTED, headers=bearer(token)) as response:
        assert response.status == 200
