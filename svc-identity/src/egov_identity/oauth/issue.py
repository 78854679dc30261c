"""Minting what the token endpoint returns: access token, ID token, refresh token."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from egov_identity.config import Settings
from egov_identity.keys.service import KeyRing
from egov_identity.oauth.models import LoginSession, RefreshToken
from egov_identity.people.models import Citizen, Official
from egov_shared.auth.issuing import sign_access_token
from egov_shared.auth.tokens import ALGORITHM
from egov_shared.crypto import random_token, token_digest
from egov_shared.db import utcnow


@dataclass(frozen=True)
class Subject:
    """Whoever a token is about, with the few facts tokens may carry."""

    kind: str  # citizen | official
    id: uuid.UUID
    name: str
    acr: str
    agency: str | None = None
    roles: tuple[str, ...] = ()


def citizen_subject(citizen: Citizen) -> Subject:
    return Subject("citizen", citizen.id, citizen.full_name, f"vneid:{citizen.assurance_level}")


def official_subject(official: Official, *, acr: str) -> Subject:
    return Subject(
        "official", official.id, official.full_name, acr, official.agency_code, tuple(official.roles)
    )


async def load_subject(session: AsyncSession, kind: str, subject_id: uuid.UUID, acr: str) -> Subject | None:
    """The subject as it is now (roles and level may have changed since login); None if gone or disabled."""
    if kind == "citizen":
        citizen = await session.get(Citizen, subject_id)
        return citizen_subject(citizen) if citizen else None
    official = await session.get(Official, subject_id)
    if official is None or not official.active:
        return None
    return official_subject(official, acr=acr)


async def access_token_for(
    keys: KeyRing,
    settings: Settings,
    subject: Subject,
    *,
    client_id: str,
    scopes: list[str],
    session_id: uuid.UUID,
) -> str:
    return sign_access_token(
        await keys.signing_key(),
        issuer=settings.issuer,
        subject=str(subject.id),
        kind="citizen" if subject.kind == "citizen" else "official",
        client_id=client_id,
        scopes=scopes,
        acr=subject.acr,
        name=subject.name,
        agency=subject.agency,
        roles=subject.roles,
        lifetime_seconds=settings.access_token_lifetime_seconds,
        extra={"sid": str(session_id)},
    )


async def id_token_for(
    keys: KeyRing,
    settings: Settings,
    subject: Subject,
    *,
    client_id: str,
    session: LoginSession,
    nonce: str | None,
) -> str:
    key = await keys.signing_key()
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "sub": str(subject.id),
        "aud": client_id,
        "azp": client_id,
        "exp": now + settings.id_token_lifetime_seconds,
        "iat": now,
        "auth_time": int(session.created_at.timestamp()),
        "acr": subject.acr,
        "name": subject.name,
        "sid": str(session.id),
    }
    if nonce:
        claims["nonce"] = nonce
    return jwt.encode({"alg": ALGORITHM, "typ": "JWT", "kid": key.kid}, claims, key, algorithms=[ALGORITHM])


def new_refresh_token(
    session: AsyncSession,
    settings: Settings,
    *,
    client_id: str,
    scope: str,
    login_session_id: uuid.UUID | None,
    family_id: uuid.UUID | None = None,
    code_hash: str | None = None,
) -> str:
    token = random_token()
    session.add(
        RefreshToken(
            token_hash=token_digest(token),
            family_id=family_id or uuid.uuid4(),
            session_id=login_session_id,
            code_hash=code_hash,
            client_id=client_id,
            scope=scope,
            issued_at=utcnow(),
            expires_at=utcnow() + dt.timedelta(seconds=settings.refresh_token_lifetime_seconds),
        )
    )
    return token
