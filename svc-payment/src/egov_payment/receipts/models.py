"""The receipt table."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from egov_payment.db import Base
from egov_shared.db import UTCDateTime, utcnow


class ReceiptStatus(StrEnum):
    ISSUED = "issued"
    CANCELLED = "cancelled"


class SigningStatus(StrEnum):
    PENDING = "pending"
    SIGNED = "signed"


class Receipt(Base):
    """One electronic receipt. Its content is fixed at issue; the only later changes are the signature
    (stored once) and a cancellation, which a replacement receipt references."""

    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("series", "number"),
        Index("ix_receipts_signing", "signing_status", "issued_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # The numbering series (agency and year) and the number in it: gap-free (egov_shared.counters).
    series: Mapped[str] = mapped_column(String(40))
    number: Mapped[int] = mapped_column(Integer)
    form_number: Mapped[str] = mapped_column(String(20))
    symbol: Mapped[str] = mapped_column(String(20))
    receipt_number: Mapped[str] = mapped_column(String(60), unique=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), index=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"), index=True)
    agency_code: Mapped[str] = mapped_column(String(13))
    agency_name: Mapped[str] = mapped_column(String(300))
    tax_code: Mapped[str | None] = mapped_column(String(20))
    payer_id: Mapped[str | None] = mapped_column(String(64))
    payer_name: Mapped[str] = mapped_column(String(200))
    dossier_code: Mapped[str | None] = mapped_column(String(60))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    amount_in_words: Mapped[str] = mapped_column(String(300))
    method: Mapped[str] = mapped_column(String(60))
    provider: Mapped[str] = mapped_column(String(10))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The secret in the public verification link (printed as a QR code on the receipt).
    verification_code: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default=ReceiptStatus.ISSUED.value)
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("receipts.id"))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    signing_status: Mapped[str] = mapped_column(String(10), default=SigningStatus.PENDING.value)
    signing_attempts: Mapped[int] = mapped_column(Integer, default=0)
    signing_error: Mapped[str | None] = mapped_column(String(300))
    # One signer at a time across replicas: a claim that expires if the signer dies.
    signing_claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signed_file_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    signed_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
