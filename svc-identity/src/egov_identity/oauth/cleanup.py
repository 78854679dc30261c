"""Forgetting what has expired: codes, second-factor tickets, throttle windows, revoked-token entries, and refresh
tokens past their lifetime. Runs as a periodic job, once per period across replicas."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from egov_identity.config import Settings
from egov_identity.oauth.models import (
    AuthorizationCode,
    LoginThrottle,
    PendingSecondFactor,
    RefreshToken,
    RevokedAccessToken,
)
from egov_shared.db import utcnow

# Used or expired codes are kept a day: a late second use must still be recognised as a reuse.
CODE_MEMORY = dt.timedelta(days=1)


async def forget_expired(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    now = utcnow()
    window = dt.timedelta(seconds=settings.lockout_window_seconds)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            delete(AuthorizationCode).where(AuthorizationCode.expires_at < now - CODE_MEMORY)
        )
        await session.execute(delete(PendingSecondFactor).where(PendingSecondFactor.expires_at < now))
        await session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.window_started_at < now - window,
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
            )
        )
        await session.execute(delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < now))
        await session.execute(
            delete(RefreshToken).where(
                RefreshToken.expires_at < now - dt.timedelta(days=settings.retention_days)
            )
        )
