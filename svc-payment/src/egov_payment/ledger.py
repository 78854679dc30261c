"""The append-only ledger: every state change of money (payments, invoices, refunds, receipts) is a row.

Rows are inserted in the same transaction as the change they record and never updated or deleted, so the
history can be replayed and audited, and a correction is a new entry, never an edit (payment.md).
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from egov_payment.db import Base
from egov_shared.db import UTCDateTime, utcnow


class Entry(StrEnum):
    INVOICE_CREATED = "invoice_created"
    INVOICE_CANCELLED = "invoice_cancelled"
    INVOICE_PAID = "invoice_paid"
    INVOICE_REFUNDED = "invoice_refunded"
    PAYMENT_CREATED = "payment_created"
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    OVERPAYMENT = "overpayment"
    REFUND_REQUESTED = "refund_requested"
    REFUND_COMPLETED = "refund_completed"
    REFUND_TREASURY = "refund_treasury"
    REFUND_FAILED = "refund_failed"
    RECEIPT_ISSUED = "receipt_issued"
    RECEIPT_CANCELLED = "receipt_cancelled"
    RECEIPT_SIGNED = "receipt_signed"
    CREDIT_UNMATCHED = "credit_unmatched"
    RECONCILIATION_MISMATCH = "reconciliation_mismatch"


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_kind_created", "kind", "created_at"),)

    # BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    receipt_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agency_code: Mapped[str | None] = mapped_column(String(13))
    provider: Mapped[str | None] = mapped_column(String(10))
    amount_vnd: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def record(
    session: AsyncSession,
    kind: Entry,
    *,
    invoice_id: uuid.UUID | None = None,
    payment_id: uuid.UUID | None = None,
    receipt_id: uuid.UUID | None = None,
    agency_code: str | None = None,
    provider: str | None = None,
    amount_vnd: int | None = None,
    **details: Any,
) -> LedgerEntry:
    """Append an entry to the caller's transaction."""
    entry = LedgerEntry(
        kind=kind.value,
        invoice_id=invoice_id,
        payment_id=payment_id,
        receipt_id=receipt_id,
        agency_code=agency_code,
        provider=provider,
        amount_vnd=amount_vnd,
        details={key: value for key, value in details.items() if value is not None},
    )
    session.add(entry)
    return entry


async def entries_of(
    session: AsyncSession, *, invoice_id: uuid.UUID | None = None, payment_id: uuid.UUID | None = None
) -> list[LedgerEntry]:
    query = select(LedgerEntry).order_by(LedgerEntry.id)
    if invoice_id is not None:
        query = query.where(LedgerEntry.invoice_id == invoice_id)
    if payment_id is not None:
        query = query.where(LedgerEntry.payment_id == payment_id)
    return list(await session.scalars(query))
