"""The token-signing key ring: create, rotate, publish, sign (DESIGN §6).

A new key is published (state ``next``) before it signs; rotation makes it ``active`` and retires the old one,
which stays published until the tokens it signed have expired. Private keys are stored encrypted.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from joserfc.jwk import RSAKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from egov_identity.keys.models import SigningKey
from egov_shared.auth.issuing import new_signing_key, public_jwk
from egov_shared.auth.jwks import rsa_keys
from egov_shared.counters import next_in_series
from egov_shared.crypto import SecretBox
from egov_shared.db import utcnow

NEXT, ACTIVE, RETIRED = "next", "active", "retired"
_LOCK_SERIES = "signing-keys"


def _new_row(box: SecretBox, state: str, now: dt.datetime) -> SigningKey:
    key = new_signing_key(f"{now:%Y%m%d}-{uuid.uuid4().hex[:8]}")
    return SigningKey(
        kid=key.kid,
        state=state,
        private_key_encrypted=box.encrypt(key.as_pem(private=True)),
        public_jwk=public_jwk(key),
        created_at=now,
        activated_at=now if state == ACTIVE else None,
    )


async def _lock(session: AsyncSession) -> None:
    # Bumping a counter row locks it until commit: replicas starting or rotating together take turns.
    await next_in_series(session, _LOCK_SERIES)


async def ensure_keys(session: AsyncSession, box: SecretBox) -> None:
    """Make sure there is an active key and a next one (first start, or after a manual clean-up)."""
    await _lock(session)
    states = set((await session.scalars(select(SigningKey.state).where(SigningKey.state != RETIRED))).all())
    now = utcnow()
    if ACTIVE not in states:
        session.add(_new_row(box, ACTIVE, now))
    if NEXT not in states:
        session.add(_new_row(box, NEXT, now))


async def rotate(session: AsyncSession, box: SecretBox) -> str:
    """Start signing with the published next key, retire the active one, publish a new next key."""
    await _lock(session)
    now = utcnow()
    keys = (await session.scalars(select(SigningKey).where(SigningKey.state != RETIRED))).all()
    for key in keys:
        if key.state == ACTIVE:
            key.state, key.retired_at = RETIRED, now
    promoted = next((k for k in keys if k.state == NEXT), None)
    if promoted is None:
        promoted = _new_row(box, ACTIVE, now)
        session.add(promoted)
    promoted.state, promoted.activated_at = ACTIVE, now
    session.add(_new_row(box, NEXT, now))
    return promoted.kid


async def published_jwks(session: AsyncSession, *, grace: dt.timedelta) -> dict[str, Any]:
    cutoff = utcnow() - grace
    rows = (await session.scalars(select(SigningKey).order_by(SigningKey.created_at))).all()
    keys = [
        row.public_jwk for row in rows if row.state != RETIRED or (row.retired_at and row.retired_at > cutoff)
    ]
    return {"keys": keys}


async def active_signing_key(session: AsyncSession, box: SecretBox) -> RSAKey:
    row = await session.scalar(
        select(SigningKey).where(SigningKey.state == ACTIVE).order_by(SigningKey.activated_at.desc()).limit(1)
    )
    if row is None:
        raise RuntimeError("no active signing key: ensure_keys() has not run")
    return RSAKey.import_key(
        box.decrypt(row.private_key_encrypted), parameters={"kid": row.kid, "use": "sig"}
    )


class KeyRing:
    """svc-identity's view of its keys: the signing key (cached briefly, so a rotation reaches every replica
    within seconds) and, as a KeySource, the published keys its own endpoints verify tokens with."""

    CACHE_SECONDS = 30.0
    MIN_REFRESH_SECONDS = 5.0

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], box: SecretBox, *, grace: dt.timedelta
    ) -> None:
        self._sessionmaker = sessionmaker
        self._box = box
        self._grace = grace
        self._signing: tuple[float, RSAKey] | None = None
        self._published: dict[str, RSAKey] = {}
        self._published_at = float("-inf")

    async def signing_key(self) -> RSAKey:
        now = time.monotonic()
        if self._signing is None or now - self._signing[0] > self.CACHE_SECONDS:
            async with self._sessionmaker() as session:
                self._signing = (now, await active_signing_key(session, self._box))
        return self._signing[1]

    def forget(self) -> None:
        self._signing = None
        self._published_at = float("-inf")

    async def get(self, kid: str) -> RSAKey | None:
        if kid not in self._published and time.monotonic() - self._published_at > self.MIN_REFRESH_SECONDS:
            async with self._sessionmaker() as session:
                self._published = rsa_keys(await published_jwks(session, grace=self._grace))
            self._published_at = time.monotonic()
        return self._published.get(kid)
