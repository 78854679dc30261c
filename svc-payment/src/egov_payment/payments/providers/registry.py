"""The providers by name."""

from __future__ import annotations

from egov_payment.context import PaymentContext
from egov_payment.payments.providers.base import Provider
from egov_payment.payments.providers.vietqr import CashProvider, VietQrProvider
from egov_payment.payments.providers.vnpay import VnpayProvider

NAMES = ("vnpay", "vietqr", "cash")


def provider(context: PaymentContext, name: str) -> Provider:
    if name == "vnpay":
        return VnpayProvider(context)
    if name == "vietqr":
        return VietQrProvider(context.settings)
    if name == "cash":
        return CashProvider()
    raise KeyError(name)
