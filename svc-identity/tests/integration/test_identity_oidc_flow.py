"""The authorization-code flow with PKCE as a real client library drives it (Authlib), and OIDC discovery."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]
from identity_harness import (
    BASE_URL,
    CITIZEN_L2,
    PASSWORD,
    REDIRECT_URI,
    WEB_CLIENT,
    IdentityService,
    parse_page,
)
from joserfc import jwt
from joserfc.jwk import RSAKey

from egov_shared.auth.jwks import rsa_keys
from egov_shared.auth.tokens import read_header


def _claims(token: str) -> dict[str, Any]:
    """The payload as anyone holding the token can read it (no key needed)."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


async def test_authorization_code_flow_with_pkce_through_authlib(identity: IdentityService) -> None:
    nonce = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(64)
    async with AsyncOAuth2Client(
        client_id=WEB_CLIENT,
        redirect_uri=REDIRECT_URI,
        scope="openid profile",
        code_challenge_method="S256",
        transport=httpx.ASGITransport(app=identity.app),
        base_url=BASE_URL,
    ) as oauth:
        url, state = oauth.create_authorization_url(
            f"{BASE_URL}/oauth2/authorize", code_verifier=verifier, nonce=nonce
        )

        # Authlib attaches the token unless told not to; these requests are made before there is one.
        page = await oauth.request("GET", url, withhold_token=True)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<html lang="vi">' in page.text
        assert "Đăng nhập" in page.text
        form = parse_page(page.text)
        assert form.form_action == "/oauth2/authorize"
        assert {"username", "password"} <= form.inputs.keys()
        assert form.inputs["state"] == state
        assert form.inputs["nonce"] == nonce
        assert form.inputs["code_challenge_method"] == "S256"
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"

        answers = form.inputs | {"username": CITIZEN_L2, "password": PASSWORD, "otp": ""}
        submitted = await oauth.request("POST", form.form_action, data=answers, withhold_token=True)
        assert submitted.status_code == 302, submitted.text
        location = submitted.headers["location"]
        assert location.startswith(REDIRECT_URI + "?")
        assert f"state={state}" in location
        assert "code=" in location

        token = await oauth.fetch_token(
            f"{BASE_URL}/oauth2/token", authorization_response=location, code_verifier=verifier
        )
        assert token["token_type"] == "Bearer"
        assert {"access_token", "refresh_token", "id_token", "expires_in"} <= token.keys()
        assert set(token["scope"].split()) == {"openid", "profile"}

        # The access token: RFC 9068, verifiable with the published keys alone.
        access_token = token["access_token"]
        assert read_header(access_token)["typ"] == "at+jwt"
        principal = await (await identity.verifier()).verify(access_token)
        assert principal.kind == "citizen"
        assert principal.acr == "vneid:2"
        assert principal.client_id == WEB_CLIENT
        assert principal.name == "Nguyễn Văn An"
        assert principal.scopes == {"openid", "profile"}
        claims = _claims(access_token)
        assert claims["aud"] == "egov-api"
        assert claims["iss"] == identity.settings.issuer
        assert claims["sub"] == principal.subject
        assert claims["exp"] - claims["iat"] == identity.settings.access_token_lifetime_seconds
        # No personal data beyond the name (DESIGN §6, RFC 9068 §6).
        assert not {"id_number", "birthdate", "phone_number", "email", "gender"} & claims.keys()
        for secret_value in (CITIZEN_L2, "1999-05-12", "0912345678", "an.nguyen@example.vn"):
            assert secret_value not in json.dumps(claims, ensure_ascii=False)

        # The ID token: for this client, with the nonce it sent.
        id_token = token["id_token"]
        keys = rsa_keys(await identity.jwks())
        id_key: RSAKey = keys[read_header(id_token)["kid"]]
        id_claims = jwt.decode(id_token, id_key, algorithms=["RS256"]).claims
        assert id_claims["nonce"] == nonce
        assert id_claims["aud"] == WEB_CLIENT
        assert id_claims["iss"] == identity.settings.issuer
        assert id_claims["sub"] == principal.subject
        assert id_claims["acr"] == "vneid:2"
        assert id_claims["sid"] == principal.session_id

        # userinfo gives the personal data the token does not carry.
        userinfo = await oauth.get("/oauth2/userinfo")
        assert userinfo.status_code == 200
        assert userinfo.headers["cache-control"].startswith("no-store")
        info = userinfo.json()
        assert info["sub"] == principal.subject
        assert info["id_number"] == CITIZEN_L2
        assert info["birthdate"] == "1999-05-12"
        assert info["gender"] == "male"
        assert info["name"] == "Nguyễn Văn An"
        assert info["phone_number"] == "0912345678"
        assert info["acr"] == "vneid:2"

        me = await oauth.get("/api/v1/identity/me")
        assert me.status_code == 200
        account = me.json()
        assert account["id"] == principal.subject
        assert account["id_number_masked"] == "001******345"
        assert account["assurance_level"] == 2
        assert CITIZEN_L2 not in me.text


async def test_discovery_and_jwks_describe_an_oauth_2_1_provider(identity: IdentityService) -> None:
    # Public: discovery and keys. Not public: what needs a token.
    userinfo = await identity.client.get("/oauth2/userinfo")
    assert userinfo.status_code == 401
    assert userinfo.headers["www-authenticate"].startswith("Bearer")
    forged = await identity.client.get("/oauth2/userinfo", headers={"Authorization": "Bearer not.a.jwt"})
    assert forged.status_code == 401
    me = await identity.client.get("/api/v1/identity/me")
    assert me.status_code == 401
    assert me.headers["content-type"].startswith("application/problem+json")

    response = await identity.client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    document = response.json()
    issuer = identity.settings.issuer
    assert document["issuer"] == issuer
    for name, path in {
        "authorization_endpoint": "/oauth2/authorize",
        "token_endpoint": "/oauth2/token",
        "userinfo_endpoint": "/oauth2/userinfo",
        "jwks_uri": "/oauth2/jwks",
        "introspection_endpoint": "/oauth2/introspect",
        "revocation_endpoint": "/oauth2/revoke",
        "end_session_endpoint": "/oauth2/logout",
    }.items():
        assert document[name] == issuer + path
    assert document["response_types_supported"] == ["code"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert set(document["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
    }
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(document["acr_values_supported"]) == {"vneid:1", "vneid:2"}
    assert "openid" in document["scopes_supported"]

    jwks = await identity.jwks()
    assert len(jwks["keys"]) == 2  # the active key and the next one, published before it signs
    for key in jwks["keys"]:
        assert key["kty"] == "RSA"
        assert key["kid"]
        assert key["alg"] == "RS256"
        assert key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()  # public parts only
