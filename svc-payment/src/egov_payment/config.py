"""Settings of svc-payment (environment variables ``EGOV_PAYMENT_*``, shared ones ``EGOV_*``).

The defaults are the embedded demo (DESIGN §9): the VNPay-compatible merchant ``EGOVDEMO`` paying through the
in-repo simulator mounted in this app, the demo treasury account for VietQR, and the demo client secret for
signing receipts through svc-document. Every one of them is refused with ``EGOV_ENV=production``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from egov_payment.vnpay.simulator import DEMO_HASH_SECRET, DEMO_TMN_CODE
from egov_shared.settings import ServiceSettings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

DEV_BANK_WEBHOOK_SECRET = "demo-bank-webhook-secret"
DEV_CLIENT_SECRET = "demo-svc-payment-secret"

# Public paths (behind the gateway) of the provider endpoints; the simulator lives under SANDBOX_PATH.
PROVIDERS_PATH = "/api/v1/payments/providers"
IPN_PATH = f"{PROVIDERS_PATH}/vnpay/ipn"
RETURN_PATH = f"{PROVIDERS_PATH}/vnpay/return"
SANDBOX_PATH = f"{PROVIDERS_PATH}/vnpay/sandbox"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EGOV_PAYMENT_", extra="ignore", populate_by_name=True)

    service_name: ClassVar[str] = "payment"
    dev_secrets: ClassVar[dict[str, str]] = {
        "vnpay_hash_secret": DEMO_HASH_SECRET,
        "vnpay_tmn_code": DEMO_TMN_CODE,
        "bank_webhook_secret": DEV_BANK_WEBHOOK_SECRET,
        "client_secret": DEV_CLIENT_SECRET,
    }

    # Where citizens' browsers reach us (payment return page, receipt verification links); default: issuer.
    public_url: str | None = None

    # VNPay 2.1.0. Without pay/api URLs the in-app simulator (SANDBOX_PATH) stands in for VNPay.
    vnpay_tmn_code: str = Field(default=DEMO_TMN_CODE, min_length=1, max_length=20)
    vnpay_hash_secret: SecretStr = SecretStr(DEMO_HASH_SECRET)
    vnpay_pay_url: str | None = None
    vnpay_api_url: str | None = None
    vnpay_simulator: bool = True
    vnpay_expire_minutes: int = Field(default=15, ge=5, le=24 * 60)

    # VietQR receiving account (the treasury's) and the shared secret of bank credit notifications.
    vietqr_bin: str = Field(default="970415", pattern=r"^\d{6}$")
    vietqr_account: str = Field(default="113366668888", pattern=r"^[0-9A-Za-z]{1,19}$")
    vietqr_account_name: str = "KHO BAC NHA NUOC TINH DEMO"
    bank_webhook_secret: SecretStr = SecretStr(DEV_BANK_WEBHOOK_SECRET)

    # svc-payment's own OAuth client (client credentials) for signing receipts through svc-document.
    client_id: str = "svc-payment"
    client_secret: SecretStr = SecretStr(DEV_CLIENT_SECRET)
    receipt_signing: bool = True
    receipt_signing_period_seconds: float = Field(default=30.0, gt=0)
    # Receipt form (mẫu số) and the tax codes of collecting agencies (code -> MST), printed on receipts.
    receipt_form_number: str = "01BLP0-001"
    agency_tax_codes: dict[str, str] = Field(default_factory=dict)

    invoice_due_days: int = Field(default=7, ge=1, le=365)
    reconcile_period_seconds: float = Field(default=300.0, gt=0)
    reconcile_after_minutes: int = Field(default=15, ge=1)
    refund_period_seconds: float = Field(default=30.0, gt=0)

    def _refuse_dev_defaults(self) -> None:
        super()._refuse_dev_defaults()
        if self.vnpay_simulator or not self.vnpay_pay_url or not self.vnpay_api_url:
            raise ValueError(
                "EGOV_ENV=production needs EGOV_PAYMENT_VNPAY_PAY_URL and EGOV_PAYMENT_VNPAY_API_URL "
                "and refuses EGOV_PAYMENT_VNPAY_SIMULATOR"
            )

    @property
    def browser_url(self) -> str:
        """The public base URL as a browser sees it."""
        return (self.public_url or self.issuer).rstrip("/")

    @property
    def pay_url(self) -> str:
        return self.vnpay_pay_url or f"{self.browser_url}{SANDBOX_PATH}/paymentv2/vpcpay.html"

    @property
    def api_transaction_url(self) -> str:
        return (
            self.vnpay_api_url or f"{self.api_url.rstrip('/')}{SANDBOX_PATH}/merchant_webapi/api/transaction"
        )

    @property
    def ipn_url(self) -> str:
        """Where the simulator sends IPNs: through the gateway, as VNPay would reach us."""
        return f"{self.api_url.rstrip('/')}{IPN_PATH}"
