"""The one interface every payment provider implements, and what its calls answer.

A provider starts a payment (a signed URL to send the browser to, or a QR payload to show), refunds one, and,
when it can be asked, says what became of one (reconciliation). Notifications (VNPay's IPN, the bank's credit)
arrive at their own endpoints and end in the same use case, ``payments.service.apply_success``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from egov_payment.invoices.models import Invoice
from egov_payment.payments.models import Payment, RefundStatus


@dataclass(frozen=True)
class Checkout:
    """What the payer is given to pay with."""

    payment_url: str | None = None
    qr_payload: str | None = None
    provider_created_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class RefundOutcome:
    status: RefundStatus
    message: str
    reply: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QueryOutcome:
    """The provider's view of a payment. ``answered`` is false when the provider could not be asked."""

    answered: bool
    paid: bool = False
    # The payment will never succeed (cancelled, failed, expired at the provider).
    failed: bool = False
    # The provider has no such transaction (the payer never reached its page).
    unknown: bool = False
    amount_vnd: int | None = None
    transaction_no: str = ""
    paid_at: dt.datetime | None = None
    code: str = ""
    description: str = ""


class Provider(Protocol):
    name: str
    # How the receipt names the method (hình thức thanh toán).
    method_label: str
    # Paid as soon as it is recorded (cash at the counter): no notification will come.
    settles_immediately: bool

    def checkout(
        self, payment: Payment, invoice: Invoice, *, ip_addr: str, return_url: str, now: dt.datetime
    ) -> Checkout: ...

    async def refund(
        self, payment: Payment, amount_vnd: int, *, reason: str, now: dt.datetime
    ) -> RefundOutcome: ...

    async def query(self, payment: Payment, *, now: dt.datetime) -> QueryOutcome: ...
