"""Signing access tokens: the one definition of their shape (RFC 9068), used by svc-identity and test issuers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from egov_shared.auth.tokens import ACCESS_TOKEN_TYPE, ALGORITHM, AUDIENCE, SubjectKind

ACCESS_TOKEN_LIFETIME_SECONDS = 600


def sign_access_token(
    key: RSAKey,
    *,
    issuer: str,
    subject: str,
    kind: SubjectKind,
    client_id: str,
    scopes: Iterable[str] = (),
    acr: str | None = None,
    name: str | None = None,
    agency: str | None = None,
    roles: Iterable[str] = (),
    lifetime_seconds: int = ACCESS_TOKEN_LIFETIME_SECONDS,
    now: int | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """An access token. It carries no personal data beyond the name (RFC 9068 §6): no ID number, phone or
    date of birth; services that need them ask svc-identity."""
    issued_at = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": AUDIENCE,
        "exp": issued_at + lifetime_seconds,
        "iat": issued_at,
        "nbf": issued_at,
        "jti": uuid.uuid4().hex,
        "client_id": client_id,
        "scope": " ".join(sorted(set(scopes))),
        "sub_type": kind,
    }
    if acr:
        claims["acr"] = acr
    if name:
        claims["name"] = name
    if kind == "official":
        claims["agency"] = agency
        claims["roles"] = sorted(set(roles))
    if extra:
        claims.update(extra)
    header = {"alg": ALGORITHM, "typ": ACCESS_TOKEN_TYPE, "kid": key.kid}
    return jwt.encode(header, claims, key, algorithms=[ALGORITHM])


def new_signing_key(kid: str | None = None) -> RSAKey:
    return RSAKey.generate_key(
        2048, parameters={"kid": kid or uuid.uuid4().hex, "alg": ALGORITHM, "use": "sig"}, private=True
    )


def public_jwk(key: RSAKey) -> dict[str, Any]:
    return {**key.as_dict(private=False), "alg": ALGORITHM, "use": "sig"}
