"""The token verifier refuses everything DESIGN §6 lists, and its cache never outlives a token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import pytest

from egov_shared.auth.issuing import new_signing_key, public_jwk, sign_access_token
from egov_shared.auth.jwks import JwksClient, StaticKeys
from egov_shared.auth.tokens import InvalidToken, TokenVerifier
from egov_shared.testing.tokens import TEST_ISSUER, TestIssuer


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], secret: bytes = b"") -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
    return f"{signing_input}.{b64(signature)}"


@pytest.fixture
def issuer() -> TestIssuer:
    return TestIssuer()


@pytest.fixture
def verifier(issuer: TestIssuer) -> TokenVerifier:
    return TokenVerifier(issuer.keys(), issuer=TEST_ISSUER)


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return result


async def test_a_good_citizen_token_gives_its_principal(issuer: TestIssuer, verifier: TokenVerifier) -> None:
    principal = await verifier.verify(issuer.citizen("c-1", level=2))
    assert principal.subject == "c-1"
    assert principal.kind == "citizen"
    assert principal.assurance_level == 2
    official = await verifier.verify(issuer.official(roles=["receiver"]))
    assert official.roles == {"receiver"}
    assert official.agency == "000.00.00.H27"


async def test_tokens_carry_no_personal_data_beyond_the_name(issuer: TestIssuer) -> None:
    claims = claims_of(issuer.citizen())
    assert set(claims) == {
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "client_id",
        "scope",
        "sub_type",
        "acr",
        "name",
    }


async def test_alg_none_is_refused(issuer: TestIssuer, verifier: TokenVerifier) -> None:
    claims = claims_of(issuer.citizen())
    with pytest.raises(InvalidToken, match="algorithm"):
        await verifier.verify(forge({"alg": "none", "typ": "at+jwt", "kid": issuer.key.kid}, claims))


async def test_hs256_signed_with_the_public_key_is_refused(
    issuer: TestIssuer, verifier: TokenVerifier
) -> None:
    claims = claims_of(issuer.citizen())
    public_pem = issuer.key.as_pem(private=False)
    token = forge({"alg": "HS256", "typ": "at+jwt", "kid": issuer.key.kid}, claims, secret=public_pem)
    with pytest.raises(InvalidToken, match="algorithm"):
        await verifier.verify(token)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"iss": "https://evil.example"}, "issuer"),
        ({"aud": "another-api"}, "audience"),
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"nbf": int(time.time()) + 600}, "not yet valid"),
        ({"iat": int(time.time()) + 600}, "not yet valid"),
    ],
)
async def test_wrong_claims_are_refused(
    issuer: TestIssuer, verifier: TokenVerifier, change: dict[str, Any], reason: str
) -> None:
    token = sign_access_token(
        issuer.key, issuer=TEST_ISSUER, subject="s", kind="citizen", client_id="demo-web", acr="vneid:1"
    )
    claims = {**claims_of(token), **change}
    tampered = sign_access_token(
        issuer.key, issuer=claims["iss"], subject="s", kind="citizen", client_id="demo-web", extra=claims
    )
    with pytest.raises(InvalidToken, match=reason):
        await verifier.verify(tampered)


async def test_wrong_typ_is_refused(issuer: TestIssuer, verifier: TokenVerifier) -> None:
    from joserfc import jwt

    claims = claims_of(issuer.citizen())
    id_token_like = jwt.encode({"alg": "RS256", "typ": "JWT", "kid": issuer.key.kid}, claims, issuer.key)
    with pytest.raises(InvalidToken, match="access token"):
        await verifier.verify(id_token_like)


async def test_unknown_kid_and_foreign_key_are_refused(verifier: TokenVerifier) -> None:
    stranger = TestIssuer()
    with pytest.raises(InvalidToken, match="unknown signing key"):
        await verifier.verify(stranger.citizen())


async def test_a_tampered_payload_breaks_the_signature(issuer: TestIssuer, verifier: TokenVerifier) -> None:
    header, payload, signature = issuer.citizen(level=1).split(".")
    claims = claims_of(f"{header}.{payload}.{signature}")
    claims["acr"] = "vneid:2"
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(InvalidToken, match="signature"):
        await verifier.verify(forged)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b", "a.b.c", "e30.e30.", "!!!.???.###"])
async def test_malformed_tokens_are_refused(verifier: TokenVerifier, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        await verifier.verify(garbage)


async def test_the_cache_never_outlives_exp(issuer: TestIssuer) -> None:
    now = [float(int(time.time()))]
    verifier = TokenVerifier(issuer.keys(), issuer=TEST_ISSUER, leeway_seconds=0, clock=lambda: now[0])
    token = sign_access_token(
        issuer.key,
        issuer=TEST_ISSUER,
        subject="s",
        kind="citizen",
        client_id="c",
        lifetime_seconds=60,
        now=int(now[0]),
    )
    await verifier.verify(token)
    await verifier.verify(token)  # cached
    now[0] += 61
    with pytest.raises(InvalidToken, match="expired"):
        await verifier.verify(token)


async def test_an_unknown_kid_triggers_one_rate_limited_refresh() -> None:
    old, new = new_signing_key("old"), new_signing_key("new")
    published: list[dict[str, Any]] = [public_jwk(old)]
    fetches = 0

    async def fetch() -> Mapping[str, Any]:
        nonlocal fetches
        fetches += 1
        return {"keys": list(published)}

    client = JwksClient(fetch, min_refresh_seconds=3600)
    verifier = TokenVerifier(client, issuer=TEST_ISSUER)
    await verifier.verify(
        sign_access_token(old, issuer=TEST_ISSUER, subject="s", kind="client", client_id="c")
    )
    assert fetches == 1
    published.append(public_jwk(new))
    with pytest.raises(InvalidToken, match="unknown signing key"):
        # Within the rate limit: no second fetch, so the new key is not known yet.
        await verifier.verify(
            sign_access_token(new, issuer=TEST_ISSUER, subject="s", kind="client", client_id="c")
        )
    assert fetches == 1
    client.min_refresh_seconds = 0
    await verifier.verify(
        sign_access_token(new, issuer=TEST_ISSUER, subject="t", kind="client", client_id="c")
    )
    assert fetches == 2


async def test_static_keys_ignore_private_and_foreign_entries() -> None:
    key = new_signing_key("k")
    keys = StaticKeys({"keys": [public_jwk(key), {"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]})
    assert await keys.get("k") is not None
    assert await keys.get("h") is None


async def test_concurrent_lookups_of_an_unknown_kid_fetch_once() -> None:
    import asyncio

    key = new_signing_key("fresh")
    fetches = 0

    async def fetch() -> Mapping[str, Any]:
        nonlocal fetches
        fetches += 1
        await asyncio.sleep(0.05)
        return {"keys": [public_jwk(key)]}

    client = JwksClient(fetch, min_refresh_seconds=0)
    found = await asyncio.gather(*(client.get("fresh") for _ in range(50)))
    assert all(k is not None for k in found)
    assert fetches == 1
