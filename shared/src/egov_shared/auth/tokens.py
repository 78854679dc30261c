"""Verifying access tokens (RFC 9068 JWTs signed RS256 by svc-identity).

The gateway verifies every token at the edge and services verify it again with this same code, so a bypassed
gateway grants nothing. Rejected: ``alg`` other than RS256 (``none``, HS256 signed with the public key, ...),
a ``typ`` other than ``at+jwt``, wrong ``iss`` or ``aud``, expired or not yet valid, unknown ``kid``, malformed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal, Protocol

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from pydantic import BaseModel, ConfigDict

ALGORITHM = "RS256"
ACCESS_TOKEN_TYPE = "at+jwt"
AUDIENCE = "egov-api"
DEFAULT_LEEWAY_SECONDS = 30

SubjectKind = Literal["citizen", "official", "client"]


class InvalidToken(Exception):
    """The token cannot be trusted; ``str(exc)`` is safe to show (it never contains the token)."""


class Principal(BaseModel):
    """Who is calling, as the access token says."""

    model_config = ConfigDict(frozen=True)

    subject: str
    kind: SubjectKind
    client_id: str
    scopes: frozenset[str] = frozenset()
    acr: str | None = None
    name: str | None = None
    agency: str | None = None
    roles: frozenset[str] = frozenset()
    token_id: str
    expires_at: int
    # The login session (svc-identity's), for logout; absent on client-credentials tokens.
    session_id: str | None = None

    @property
    def assurance_level(self) -> int:
        return 2 if self.acr == "vneid:2" else 1

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class KeySource(Protocol):
    async def get(self, kid: str) -> RSAKey | None:
        """The public key with this id, or None; may refresh from the issuer once."""


def _b64json(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def read_header(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise InvalidToken("malformed token")
    try:
        return _b64json(parts[0])
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("malformed token header") from exc


class TokenVerifier:
    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str = AUDIENCE,
        leeway_seconds: int = DEFAULT_LEEWAY_SECONDS,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_seconds
        self._clock = clock
        self._cache: OrderedDict[bytes, Principal] = OrderedDict()
        self._cache_size = cache_size

    async def verify(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._cache.get(digest)
        now = self._clock()
        if cached is not None:
            if cached.expires_at > now - self.leeway:
                return cached
            del self._cache[digest]
        principal = await self._verify(token, now)
        if self._cache_size:
            self._cache[digest] = principal
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return principal

    async def _verify(self, token: str, now: float) -> Principal:
        header = read_header(token)
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("unsupported algorithm")
        typ = str(header.get("typ", "")).lower()
        if typ not in (ACCESS_TOKEN_TYPE, f"application/{ACCESS_TOKEN_TYPE}"):
            raise InvalidToken("not an access token")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("missing key id")
        key = await self.keys.get(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM]).claims
        except (JoseError, ValueError) as exc:
            raise InvalidToken("bad signature") from exc
        return self._principal(claims, now)

    def _principal(self, claims: dict[str, Any], now: float) -> Principal:
        if claims.get("iss") != self.issuer:
            raise InvalidToken("wrong issuer")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.audience not in audiences:
            raise InvalidToken("wrong audience")
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
        if not isinstance(exp, int) or exp <= now - self.leeway:
            raise InvalidToken("token expired")
        if not isinstance(iat, int) or iat > now + self.leeway:
            raise InvalidToken("token not yet valid")
        if nbf is not None and (not isinstance(nbf, int) or nbf > now + self.leeway):
            raise InvalidToken("token not yet valid")
        try:
            return Principal(
                subject=claims["sub"],
                kind=claims.get("sub_type", "client"),
                client_id=claims["client_id"],
                scopes=frozenset(str(claims.get("scope", "")).split()),
                acr=claims.get("acr"),
                name=claims.get("name"),
                agency=claims.get("agency"),
                roles=frozenset(claims.get("roles", [])),
                token_id=claims["jti"],
                expires_at=exp,
                session_id=claims.get("sid"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidToken("missing or malformed claims") from exc
