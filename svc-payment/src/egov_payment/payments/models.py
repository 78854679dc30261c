"""Payments, bank credits and refunds."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from egov_payment.db import Base
from egov_shared.db import UTCDateTime, utcnow


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Payment(Base):
    """One attempt to pay an invoice through one provider. ``reference`` is VNPay's ``vnp_TxnRef`` and the
    VietQR memo, so the provider's notification finds it."""

    __tablename__ = "payments"
    __table_args__ = (
        # Statistics and daily reports: successes per agency (or provider) and period.
        Index("ix_payments_agency_status_succeeded", "agency_code", "status", "succeeded_at"),
        Index("ix_payments_provider_status_created", "provider", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), index=True)
    agency_code: Mapped[str] = mapped_column(String(13))
    provider: Mapped[str] = mapped_column(String(10))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default=PaymentStatus.PENDING.value)
    # A success on an invoice that was already paid (or no longer due): money to give back.
    overpayment: Mapped[bool] = mapped_column(Boolean, default=False)
    refunded_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    payer_id: Mapped[str | None] = mapped_column(String(64))
    payer_name: Mapped[str | None] = mapped_column(String(200))
    bank_code: Mapped[str | None] = mapped_column(String(20))
    return_url: Mapped[str | None] = mapped_column(String(500))
    payment_url: Mapped[str | None] = mapped_column(Text)
    qr_payload: Mapped[str | None] = mapped_column(String(512))
    # VNPay's vnp_CreateDate of the request (querydr and refund name the transaction by it).
    provider_created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    provider_transaction_no: Mapped[str | None] = mapped_column(String(40))
    provider_response_code: Mapped[str | None] = mapped_column(String(4))
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    succeeded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CreditStatus(StrEnum):
    MATCHED = "matched"
    UNMATCHED = "unmatched"


class BankCredit(Base):
    """A credit to the receiving account, from the bank's notification or a statement import. The bank's
    ``transaction_id`` is unique: a replay finds the row and changes nothing."""

    __tablename__ = "bank_credits"
    __table_args__ = (Index("ix_bank_credits_status_credited", "status", "credited_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    transaction_id: Mapped[str] = mapped_column(String(100), unique=True)
    account: Mapped[str] = mapped_column(String(40))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(String(500))
    credited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    # Why a credit matched nothing: no_reference, unknown_reference, amount_mismatch, wrong_account.
    reason: Mapped[str | None] = mapped_column(String(40))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id"))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RefundStatus(StrEnum):
    REQUESTED = "requested"  # to send to the provider (VNPay refund API)
    COMPLETED = "completed"  # the provider accepted it
    TREASURY = "treasury"  # to be paid back by the treasury (bank transfer, cash)
    FAILED = "failed"  # the provider refused; finance must act


class Refund(Base):
    """Money to give back for one payment: a refused or withdrawn dossier, an overpayment, or a finance
    officer's decision (partial refunds allowed, so a payment may have several)."""

    __tablename__ = "refunds"
    __table_args__ = (Index("ix_refunds_status_created", "status", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Several per payment (partial refunds); automatic ones are once per payment and reason.
    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"), index=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), index=True)
    provider: Mapped[str] = mapped_column(String(10))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    # A stable code (payment.refunded's reason): dossier_*, overpayment, finance.
    reason: Mapped[str] = mapped_column(String(300))
    # The finance officer's own words, and who asked (None: decided by svc-payment from an event).
    note: Mapped[str | None] = mapped_column(String(500))
    requested_by: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_reply: Mapped[dict[str, str] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
