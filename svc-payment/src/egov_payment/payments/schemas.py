"""Request and response bodies of ``/api/v1/payments``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from egov_payment.config import PROVIDERS_PATH, Settings
from egov_payment.invoices.schemas import AmountVnd, InvoiceRead
from egov_payment.payments.models import Payment


class PaymentCreate(BaseModel):
    invoice_id: uuid.UUID
    provider: Literal["vnpay", "vietqr", "cash"] = Field(
        description="vnpay: a payment URL; vietqr: a transfer QR; cash: recorded by finance at the desk"
    )
    bank_code: Literal["VNPAYQR", "VNBANK", "INTCARD"] | None = Field(
        default=None, description="VNPay: skip its method choice"
    )
    return_url: str | None = Field(
        default=None,
        max_length=500,
        pattern=r"^https?://[^\s]+$",
        description="VNPay sends the browser back here (default: our status page)",
    )
    amount_vnd: AmountVnd | None = Field(
        default=None, description="Optional guard: must equal the invoice's amount"
    )


class VietQrRead(BaseModel):
    payload: str
    png_url: str
    svg_url: str
    bank_bin: str
    account: str
    account_name: str
    memo: str
    amount_vnd: int


class PaymentRead(BaseModel):
    id: uuid.UUID
    reference: str
    invoice_id: uuid.UUID
    provider: str
    amount_vnd: int
    status: str
    overpayment: bool
    refunded_vnd: int
    payment_url: str | None = None
    vietqr: VietQrRead | None = None
    expires_at: dt.datetime | None = None
    succeeded_at: dt.datetime | None = None
    failure_reason: str | None = None
    receipt_id: uuid.UUID | None = None
    created_at: dt.datetime


def payment_read(payment: Payment, settings: Settings, *, receipt_id: uuid.UUID | None = None) -> PaymentRead:
    vietqr = None
    if payment.qr_payload:
        base = f"{settings.browser_url}{PROVIDERS_PATH}/vietqr/{payment.id}"
        vietqr = VietQrRead(
            payload=payment.qr_payload,
            png_url=f"{base}/qr.png",
            svg_url=f"{base}/qr.svg",
            bank_bin=settings.vietqr_bin,
            account=settings.vietqr_account,
            account_name=settings.vietqr_account_name,
            memo=payment.reference,
            amount_vnd=payment.amount_vnd,
        )
    return PaymentRead(
        id=payment.id,
        reference=payment.reference,
        invoice_id=payment.invoice_id,
        provider=payment.provider,
        amount_vnd=payment.amount_vnd,
        status=payment.status,
        overpayment=payment.overpayment,
        refunded_vnd=payment.refunded_vnd,
        payment_url=payment.payment_url,
        vietqr=vietqr,
        expires_at=payment.expires_at,
        succeeded_at=payment.succeeded_at,
        failure_reason=payment.failure_reason,
        receipt_id=receipt_id,
        created_at=payment.created_at,
    )


class RefundCreate(BaseModel):
    """A finance officer gives back part or all of what was paid for an invoice."""

    amount_vnd: AmountVnd = Field(description="Integer VND to give back, at most refundable_vnd")
    reason: str = Field(min_length=3, max_length=500, description="Why (kept in the ledger)")
    refundable_vnd: StrictInt = Field(
        ge=0,
        le=10**13,
        description="The invoice's refundable_vnd as the officer saw it: if it changed since, 412",
    )


class RefundRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    invoice_id: uuid.UUID
    payment_id: uuid.UUID
    provider: str
    amount_vnd: int
    reason: str = Field(description="Stable code: finance_decision, dossier_*, overpayment")
    note: str | None = Field(description="The finance officer's reason")
    requested_by: str | None
    status: str = Field(
        description="requested (VNPay: sent by the refunds job), completed, treasury (paid back by the "
        "treasury), failed (finance must act)"
    )
    created_at: dt.datetime
    completed_at: dt.datetime | None


class RefundCreated(RefundRead):
    """The refund and the invoice after it (its new ``refundable_vnd`` is the next refund's guard)."""

    invoice: InvoiceRead


class BankCreditIn(BaseModel):
    """A credit to the receiving account, as the bank notifies it (and as a statement line carries it)."""

    transaction_id: str = Field(min_length=1, max_length=100)
    account: str = Field(min_length=1, max_length=40)
    amount: StrictInt = Field(gt=0, le=10**13, description="Integer VND")
    memo: str = Field(max_length=500)
    credited_at: AwareDatetime


class BankCreditResult(BaseModel):
    transaction_id: str
    status: str
    reason: str | None = None
    payment_id: uuid.UUID | None = None
    duplicate: bool = False


class StatementResult(BaseModel):
    rows: int
    matched: int
    unmatched: int
    duplicates: int


class ProviderReport(BaseModel):
    provider: str
    date: dt.date
    succeeded_count: int
    succeeded_vnd: int
    failed_count: int
    pending_count: int
    overpayments: int
    refunds_count: int
    refunds_vnd: int
    mismatches: list[dict[str, object]]


class AgencyStatistics(BaseModel):
    agency_code: str
    invoices: int
    invoiced_vnd: int
    paid: int
    paid_vnd: int
    paid_cashless: int
    paid_cashless_vnd: int
    cashless_share: float | None = Field(description="Percent of paid invoices paid cashless (2 decimals)")
    cashless_amount_share: float | None


class StatisticsRead(BaseModel):
    agency_code: str
    from_date: dt.date
    to_date: dt.date
    totals: AgencyStatistics
    agencies: list[AgencyStatistics]
