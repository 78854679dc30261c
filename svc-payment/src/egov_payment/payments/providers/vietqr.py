"""VietQR bank transfer: a dynamic EMVCo payload whose memo is the payment reference; the bank's credit
notification (or a statement import) completes it. Refunds are paid back by the treasury, by hand."""

from __future__ import annotations

import datetime as dt

from egov_payment.config import Settings
from egov_payment.invoices.models import Invoice
from egov_payment.payments.models import Payment, RefundStatus
from egov_payment.payments.providers.base import Checkout, QueryOutcome, RefundOutcome
from egov_payment.vietqr import build_payload


class VietQrProvider:
    name = "vietqr"
    method_label = "Chuyển khoản (VietQR)"
    settles_immediately = False

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def checkout(
        self, payment: Payment, invoice: Invoice, *, ip_addr: str, return_url: str, now: dt.datetime
    ) -> Checkout:
        payload = build_payload(
            bin=self.settings.vietqr_bin,
            account=self.settings.vietqr_account,
            amount_vnd=payment.amount_vnd,
            memo=payment.reference,
        )
        return Checkout(qr_payload=payload)

    async def refund(
        self, payment: Payment, amount_vnd: int, *, reason: str, now: dt.datetime
    ) -> RefundOutcome:
        return RefundOutcome(RefundStatus.TREASURY, "Kho bạc chuyển trả lại vào tài khoản đã chuyển khoản.")

    async def query(self, payment: Payment, *, now: dt.datetime) -> QueryOutcome:
        # Banks are not asked one transfer at a time; the statement import reconciles transfers.
        return QueryOutcome(answered=False)


class CashProvider:
    """Cash at the one-stop desk, recorded by a finance officer: paid the moment it is recorded."""

    name = "cash"
    method_label = "Tiền mặt"
    settles_immediately = True

    def checkout(
        self, payment: Payment, invoice: Invoice, *, ip_addr: str, return_url: str, now: dt.datetime
    ) -> Checkout:
        return Checkout()

    async def refund(
        self, payment: Payment, amount_vnd: int, *, reason: str, now: dt.datetime
    ) -> RefundOutcome:
        return RefundOutcome(RefundStatus.TREASURY, "Hoàn trả tiền mặt tại bộ phận một cửa.")

    async def query(self, payment: Payment, *, now: dt.datetime) -> QueryOutcome:
        return QueryOutcome(answered=False)
