"""Logging in as a frontend does, for tests and benchmarks that go through the gateway: the authorization code
flow with PKCE on svc-identity's login form, a TOTP second factor for the officials who need one, and client
credentials for partners."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from egov_shared.totp import totp_code

DEMO_PASSWORD = "Demo@12345"
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"
WEB_CLIENT = "demo-web"
REDIRECT_URI = "http://localhost:3000/callback"


def totp_now(secret: str = DEMO_TOTP_SECRET, at: float | None = None) -> str:
    return totp_code(secret, at)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def log_in(
    client: httpx.AsyncClient,
    username: str,
    password: str = DEMO_PASSWORD,
    *,
    otp: str | None = None,
    scope: str = "openid profile",
    acr_values: str | None = None,
) -> dict[str, Any]:
    """The demo web app's login through ``client`` (whose base URL is the gateway); the token response."""
    verifier, challenge = pkce()
    form = {
        "response_type": "code",
        "client_id": WEB_CLIENT,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "username": username,
        "password": password,
    }
    if acr_values:
        form["acr_values"] = acr_values
    if otp is not None:
        form["otp"] = otp
    redirect = await client.post("/oauth2/authorize", data=form)
    if redirect.status_code != 302:
        raise AssertionError(f"login of {username} refused: {redirect.status_code} {redirect.text[:300]}")
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    tokens = await client.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": WEB_CLIENT,
        },
    )
    if tokens.status_code != 200:
        raise AssertionError(f"token exchange for {username} failed: {tokens.text[:300]}")
    body: dict[str, Any] = tokens.json()
    return body


async def access_token(client: httpx.AsyncClient, username: str, *, second_factor: bool = False) -> str:
    """An access token for a demo account; ``second_factor`` for officials who hold signer, finance or admin."""
    tokens = await log_in(client, username, otp=totp_now() if second_factor else None)
    token: str = tokens["access_token"]
    return token


async def client_token(client: httpx.AsyncClient, client_id: str, secret: str, scope: str) -> str:
    response = await client.post(
        "/oauth2/token", data={"grant_type": "client_credentials", "scope": scope}, auth=(client_id, secret)
    )
    if response.status_code != 200:
        raise AssertionError(f"client credentials for {client_id} refused: {response.text[:300]}")
    token: str = response.json()["access_token"]
    return token
