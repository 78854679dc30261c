"""Open311 partners: keys are random secrets shown once; only their SHA-256 digest is stored."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_feedback.partners.models import Open311Partner
from egov_shared.crypto import random_token, token_digest
from egov_shared.uow import UnitOfWork


async def partner_by_key(session: AsyncSession, api_key: str) -> Open311Partner | None:
    partner: Open311Partner | None = await session.scalar(
        select(Open311Partner).where(
            Open311Partner.key_digest == token_digest(api_key), Open311Partner.active
        )
    )
    return partner


async def register_partner(
    uow: UnitOfWork, name: str, *, api_key: str | None = None, commit: bool = True
) -> tuple[Open311Partner, str]:
    """Add a partner; returns it with its key (given, for the demo key, or new). Idempotent per key."""
    key = api_key or random_token(24)
    existing = await uow.session.scalar(
        select(Open311Partner).where(Open311Partner.key_digest == token_digest(key))
    )
    if existing is not None:
        return existing, key
    partner = Open311Partner(name=name, key_digest=token_digest(key), active=True)
    uow.session.add(partner)
    await uow.session.flush()
    if commit:
        await uow.commit()
    return partner, key
