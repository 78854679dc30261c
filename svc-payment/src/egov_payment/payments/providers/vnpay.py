"""VNPay 2.1.0: the signed payment URL, querydr for reconciliation and the refund API.

The protocol itself (signatures, fields, codes) is ``egov_payment.vnpay``; this adapter adds our settings,
the clock and HTTP. IPNs arrive at ``payments.providers_router`` and end in ``payments.service``.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

import httpx

from egov_payment.context import PaymentContext
from egov_payment.invoices.models import Invoice
from egov_payment.payments.models import Payment, RefundStatus
from egov_payment.payments.providers.base import Checkout, QueryOutcome, RefundOutcome
from egov_payment.vnpay import api
from egov_payment.vnpay.protocol import describe_status, payment_url

log = logging.getLogger(__name__)

# What the merchant API is told as our address (VNPay wants one; the server's own).
SERVER_IP = "127.0.0.1"
# Refund answers after which asking again cannot help.
_FINAL_REFUND_CODES = frozenset({"02", "03", "91", "95"})


def _request_id() -> str:
    return secrets.token_hex(16)


class VnpayProvider:
    name = "vnpay"
    method_label = "Thanh toán trực tuyến qua VNPAY"
    settles_immediately = False

    def __init__(self, context: PaymentContext) -> None:
        self.context = context
        self.settings = context.settings

    def checkout(
        self, payment: Payment, invoice: Invoice, *, ip_addr: str, return_url: str, now: dt.datetime
    ) -> Checkout:
        expires = now + dt.timedelta(minutes=self.settings.vnpay_expire_minutes)
        subject = invoice.dossier_code or invoice.reference
        url = payment_url(
            self.settings.pay_url,
            tmn_code=self.settings.vnpay_tmn_code,
            secret=self.context.secret,
            txn_ref=payment.reference,
            amount_vnd=payment.amount_vnd,
            order_info=f"Thanh toan phi le phi {subject} ma {payment.reference}",
            return_url=return_url,
            ip_addr=ip_addr,
            create_date=now,
            expire_date=expires,
            order_type="billpayment",
            bank_code=payment.bank_code,
        )
        return Checkout(payment_url=url, provider_created_at=now, expires_at=expires)

    async def _call(self, body: dict[str, str]) -> dict[str, Any] | None:
        try:
            async with self.context.http() as client:
                response = await client.post(self.settings.api_transaction_url, json=body)
            reply = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("VNPay merchant API unreachable", extra={"error": repr(exc)})
            return None
        return reply if isinstance(reply, dict) else None

    async def query(self, payment: Payment, *, now: dt.datetime) -> QueryOutcome:
        if payment.provider_created_at is None:
            return QueryOutcome(answered=False)
        body = api.querydr_request(
            tmn_code=self.settings.vnpay_tmn_code,
            secret=self.context.secret,
            request_id=_request_id(),
            txn_ref=payment.reference,
            transaction_date=payment.provider_created_at,
            create_date=now,
            ip_addr=SERVER_IP,
            order_info=f"Truy van giao dich {payment.reference}",
        )
        reply = await self._call(body)
        if reply is None:
            return QueryOutcome(answered=False)
        result = api.parse_querydr_response(reply, self.context.secret)
        if not result.signature_valid:
            return QueryOutcome(answered=False, code="97", description="Chữ ký trả lời không hợp lệ")
        if result.response_code == api.ApiResponseCode.NOT_FOUND:
            return QueryOutcome(answered=True, unknown=True, code=result.response_code)
        if not result.ok:
            return QueryOutcome(answered=False, code=result.response_code, description=result.message)
        status = result.transaction_status
        return QueryOutcome(
            answered=True,
            paid=result.paid,
            failed=not result.paid and status not in ("01", ""),
            amount_vnd=result.amount_vnd,
            transaction_no=result.transaction_no,
            paid_at=result.pay_date,
            code=status,
            description=describe_status(status),
        )

    async def refund(
        self, payment: Payment, amount_vnd: int, *, reason: str, now: dt.datetime
    ) -> RefundOutcome:
        if payment.provider_created_at is None:
            return RefundOutcome(RefundStatus.FAILED, "Giao dịch chưa từng được gửi sang VNPAY.")
        remaining = payment.amount_vnd - payment.refunded_vnd
        body = api.refund_request(
            tmn_code=self.settings.vnpay_tmn_code,
            secret=self.context.secret,
            request_id=_request_id(),
            txn_ref=payment.reference,
            amount_vnd=amount_vnd,
            transaction_type=(
                api.TransactionType.FULL_REFUND
                if amount_vnd == remaining
                else api.TransactionType.PARTIAL_REFUND
            ),
            transaction_date=payment.provider_created_at,
            create_by=self.settings.client_id,
            create_date=now,
            ip_addr=SERVER_IP,
            order_info=f"Hoan tien {payment.reference} {reason}",
            transaction_no=payment.provider_transaction_no or "",
        )
        reply = await self._call(body)
        if reply is None:
            return RefundOutcome(RefundStatus.REQUESTED, "VNPAY chưa trả lời; sẽ thử lại.")
        result = api.parse_refund_response(reply, self.context.secret)
        kept = {key: str(value) for key, value in reply.items() if key != "vnp_SecureHash"}
        if result.ok:
            return RefundOutcome(RefundStatus.COMPLETED, result.message or "Refund success", kept)
        if result.signature_valid and result.response_code in _FINAL_REFUND_CODES:
            return RefundOutcome(RefundStatus.FAILED, result.message, kept)
        return RefundOutcome(RefundStatus.REQUESTED, result.message or "Chưa hoàn được; sẽ thử lại.", kept)
