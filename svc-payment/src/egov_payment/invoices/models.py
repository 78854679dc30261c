"""The invoice table."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from egov_payment.db import Base
from egov_payment.invoices.rules import refundable
from egov_shared.db import UTCDateTime, utcnow


class InvoiceStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class Invoice(Base):
    """What a payer owes an agency. A dossier has at most one invoice per fee stage (the unique constraint
    makes a redelivered or republished dossier event harmless)."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("dossier_id", "stage"),
        # Statistics count invoices per agency and period; lists show a payer's newest first.
        Index("ix_invoices_agency_created", "agency_code", "created_at"),
        Index("ix_invoices_payer_created", "payer_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Short reference printed on the receipt and quoted by the payer (not the payment memo).
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    dossier_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    dossier_code: Mapped[str | None] = mapped_column(String(60))
    stage: Mapped[str | None] = mapped_column(String(12))
    agency_code: Mapped[str] = mapped_column(String(13))
    payer_id: Mapped[str | None] = mapped_column(String(64))
    payer_name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500))
    # [{kind: "phi"|"le_phi", name, amount_vnd}], amounts > 0.
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    # Given back (completed, or handed to the treasury); and asked of a provider, not yet answered. Both count
    # only refunds of the paying payment (an overpayment's refund is not the invoice's money).
    refunded_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_pending_vnd: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(20), default=InvoiceStatus.UNPAID.value)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    paid_payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    @property
    def refundable_vnd(self) -> int:
        """What a refund may still give back: the guard a finance officer sends with a refund."""
        return refundable(self.status, self.amount_vnd, self.refunded_vnd, self.refund_pending_vnd)
