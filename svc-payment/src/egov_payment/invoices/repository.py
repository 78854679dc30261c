"""SQL of invoices."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_payment.invoices.models import Invoice


async def lock(session: AsyncSession, invoice_id: uuid.UUID) -> Invoice | None:
    """The invoice, its row locked until the transaction ends (SQLite: the writer lock is held already)."""
    invoice: Invoice | None = await session.scalar(
        select(Invoice)
        .where(Invoice.id == invoice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return invoice


async def get(session: AsyncSession, invoice_id: uuid.UUID) -> Invoice | None:
    return await session.get(Invoice, invoice_id)


async def for_dossier_stage(session: AsyncSession, dossier_id: uuid.UUID, stage: str) -> Invoice | None:
    invoice: Invoice | None = await session.scalar(
        select(Invoice).where(Invoice.dossier_id == dossier_id, Invoice.stage == stage)
    )
    return invoice


async def lock_for_dossier(session: AsyncSession, dossier_id: uuid.UUID) -> list[Invoice]:
    rows = await session.scalars(
        select(Invoice)
        .where(Invoice.dossier_id == dossier_id)
        .order_by(Invoice.created_at)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(rows)


def listing(
    *,
    payer_id: str | None = None,
    dossier_id: uuid.UUID | None = None,
    agencies: Collection[str] | None = None,
    status: str | None = None,
    after: tuple[dt.datetime, uuid.UUID] | None = None,
) -> Select[Invoice]:
    """Newest first, keyed by (created_at, id) for the cursor."""
    query = select(Invoice).order_by(Invoice.created_at.desc(), Invoice.id.desc())
    if payer_id is not None:
        query = query.where(Invoice.payer_id == payer_id)
    if dossier_id is not None:
        query = query.where(Invoice.dossier_id == dossier_id)
    if agencies is not None:
        query = query.where(Invoice.agency_code.in_(agencies))
    if status is not None:
        query = query.where(Invoice.status == status)
    if after is not None:
        created, last_id = after
        query = query.where(
            or_(
                Invoice.created_at < created,
                and_(Invoice.created_at == created, Invoice.id < last_id),
            )
        )
    return query
