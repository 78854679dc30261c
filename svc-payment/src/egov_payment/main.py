"""svc-payment: invoices (fee obligations), payments through providers, the ledger and electronic receipts."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI

from egov_payment.config import MIGRATIONS_DIR, PROVIDERS_PATH, SANDBOX_PATH, Settings
from egov_payment.consumers import consumers
from egov_payment.context import PaymentContext
from egov_payment.invoices.router import router as invoices_router
from egov_payment.payments.providers_router import router as providers_router
from egov_payment.payments.refunds import send_requested
from egov_payment.payments.router import router as payments_router
from egov_payment.receipts.router import router as receipts_router
from egov_payment.receipts.signing import sign_pending
from egov_payment.reconciliation import reconcile_pending
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.http.app import create_service_app
from egov_shared.jobs import PeriodicJob
from egov_shared.runtime import ServiceRuntime


def create_app(settings: Settings | None = None, *, broker: InMemoryBroker | None = None) -> FastAPI:
    settings = settings or Settings()
    context = PaymentContext.build(settings)

    def jobs(runtime: ServiceRuntime) -> list[PeriodicJob]:
        async def reconcile() -> None:
            await reconcile_pending(runtime, context)

        async def refunds() -> None:
            await send_requested(runtime, context)

        async def sign() -> None:
            if settings.receipt_signing:
                await sign_pending(runtime, context)

        return [
            PeriodicJob(
                "reconcile-vnpay", dt.timedelta(seconds=settings.reconcile_period_seconds), reconcile
            ),
            PeriodicJob("refunds", dt.timedelta(seconds=settings.refund_period_seconds), refunds),
            PeriodicJob("sign-receipts", dt.timedelta(seconds=settings.receipt_signing_period_seconds), sign),
        ]

    app = create_service_app(
        settings,
        title="svc-payment",
        description=__doc__ or "",
        migrations_dir=MIGRATIONS_DIR,
        # Static paths before parameterised ones: /payments/statistics is not a payment id.
        routers=[providers_router, invoices_router, payments_router, receipts_router],
        consumers=consumers(context),
        jobs=jobs,
        broker=broker,
        # VNPay's IPN answers in VNPay's form ({"RspCode": "97"} for a query that does not verify), NUL or not.
        protocol_paths=(f"{PROVIDERS_PATH}/vnpay/ipn",),
    )
    if context.simulator is not None:
        # VNPay's stand-in, a public path behind the gateway: the embedded demo pays offline.
        app.mount(SANDBOX_PATH, context.simulator)
    app.state.payment = context
    return app
