"""Running svc-payment on the backend under test, with a test token issuer.

The in-app VNPay simulator reaches the IPN, and the service reaches the simulator's merchant API, through the
context's switchable transport, pointed here at the app itself (in-process); ``EGOV_API_URL`` is a name that
resolves nowhere, so nothing can leave the process. Receipts are not signed here (no svc-document): the
province test signs them for real.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
from sqlalchemy import select

from egov_payment.config import Settings
from egov_payment.context import PaymentContext
from egov_payment.main import create_app
from egov_payment.payments.bank import signature
from egov_payment.vnpay.simulator import IpnDelivery, Outcome, VnpaySimulator
from egov_shared import tables
from egov_shared.agencies import agency_exists
from egov_shared.contracts.dossier import DossierStatusChanged, DossierSubmitted, FeeLine
from egov_shared.contracts.identity import AgencyUpserted
from egov_shared.testing.backends import BusConfig
from egov_shared.testing.services import ServiceUnderTest, service_under_test
from egov_shared.testing.waiting import eventually

PROVINCE = "000.00.00.H27"
JUSTICE = "000.00.10.H27"
WARD = "000.11.00.H27"
OTHER_PROVINCE = "000.00.00.H56"
AGENCIES = [
    (PROVINCE, "UBND tỉnh Demo", "province", None),
    (JUSTICE, "Sở Tư pháp", "department", PROVINCE),
    (WARD, "UBND phường Quế Võ", "ward", PROVINCE),
    (OTHER_PROVINCE, "UBND tỉnh khác", "province", None),
]
FEES = [
    FeeLine(kind="le_phi", name="Lệ phí cấp giấy chứng nhận", amount_vnd=100_000),
    FeeLine(kind="phi", name="Phí thẩm định", amount_vnd=50_000),
]
API = "http://payment.test"
WEBHOOK_SECRET = "demo-bank-webhook-secret"


class PaymentService(ServiceUnderTest):
    @property
    def context(self) -> PaymentContext:
        context: PaymentContext = self.app.state.payment
        return context

    @property
    def simulator(self) -> VnpaySimulator:
        assert self.context.simulator is not None
        return self.context.simulator

    def route(self, refuse: Callable[[httpx.Request], bool] | None = None) -> None:
        """Point provider traffic at the app itself; requests ``refuse`` picks fail as if unreachable."""
        app_transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        if refuse is None:
            self.context.transport.target = app_transport
            return
        refused = refuse

        class Routing(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                if refused(request):
                    raise httpx.ConnectError("refused by the test", request=request)
                return await app_transport.handle_async_request(request)

        self.context.transport.target = Routing()

    async def seed_agencies(self) -> None:
        for code, name, kind, parent in AGENCIES:
            await self.deliver(AgencyUpserted(code=code, name=name, kind=kind, parent_code=parent))

        async def seeded() -> bool:
            async with self.runtime.read_sessionmaker() as session:
                return all([await agency_exists(session, code) for code, *_ in AGENCIES])

        await eventually(seeded, what="agencies replicated")

    def citizen(self, subject: str = "citizen-1", name: str = "Nguyễn Văn An") -> dict[str, str]:
        return self.auth(self.issuer.citizen(subject, name=name))

    def official(self, *roles: str, agency: str = PROVINCE, subject: str = "official-1") -> dict[str, str]:
        return self.auth(self.issuer.official(subject, agency=agency, roles=roles))

    def finance(self, agency: str = PROVINCE) -> dict[str, str]:
        return self.official("finance", agency=agency, subject="ketoan")

    def submitted(
        self,
        *,
        applicant: str = "citizen-1",
        fees: list[FeeLine] | None = None,
        agency: str = JUSTICE,
        dossier_id: uuid.UUID | None = None,
    ) -> DossierSubmitted:
        dossier_id = dossier_id or uuid.uuid4()
        return DossierSubmitted(
            dossier_id=dossier_id,
            code=f"{agency}-261110-{dossier_id.hex[:4].upper()}",
            procedure_code="1.000001.000.00.00.H27",
            agency_code=agency,
            applicant_id=applicant,
            channel=2,
            fees=FEES if fees is None else fees,
            submitted_at=dt.datetime.now(dt.UTC),
        )

    def status_changed(
        self,
        dossier: DossierSubmitted,
        to_status: int,
        *,
        fees: list[FeeLine] | None = None,
        refund: bool = False,
    ) -> DossierStatusChanged:
        return DossierStatusChanged(
            dossier_id=dossier.dossier_id,
            code=dossier.code,
            agency_code=dossier.agency_code,
            applicant_id=dossier.applicant_id,
            action={3: "refuse", 6: "request_fees", 7: "withdraw", 8: "stop"}.get(to_status, "move"),
            from_status=2 if to_status != 6 else 4,
            to_status=to_status,
            fees=fees or [],
            refund_required=refund,
            changed_at=dt.datetime.now(dt.UTC),
        )

    async def invoices_of(self, dossier_id: uuid.UUID, headers: dict[str, str]) -> list[dict[str, Any]]:
        response = await self.client.get(
            "/api/v1/invoices", params={"dossier_id": str(dossier_id)}, headers=headers
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def invoice_for(self, dossier: DossierSubmitted, count: int = 1) -> dict[str, Any]:
        """Deliver a submitted dossier and wait for its invoice."""
        await self.deliver(dossier)
        headers = self.citizen(dossier.applicant_id)

        async def billed() -> bool:
            return len(await self.invoices_of(dossier.dossier_id, headers)) >= count

        await eventually(billed, what="the dossier's invoice")
        return (await self.invoices_of(dossier.dossier_id, headers))[0]

    async def pay(
        self, invoice_id: str, provider: str = "vnpay", headers: dict[str, str] | None = None, **extra: Any
    ) -> httpx.Response:
        return await self.client.post(
            "/api/v1/payments",
            json={"invoice_id": invoice_id, "provider": provider, **extra},
            headers=headers or self.citizen(),
        )

    async def settle(self, payment: dict[str, Any], outcome: Outcome = "success") -> IpnDelivery:
        """The citizen pays (or cancels) on the simulator's page; VNPay then notifies us."""
        return await self.simulator.simulate_payment(outcome=outcome, payment_url=payment["payment_url"])

    async def credit(self, body: dict[str, Any], *, secret: str = WEBHOOK_SECRET) -> httpx.Response:
        raw = json.dumps(body).encode()
        return await self.client.post(
            "/api/v1/payments/providers/bank/credits",
            content=raw,
            headers={"Content-Type": "application/json", "X-Signature": signature(secret, raw)},
        )

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        """The events this service published (its outbox), oldest first."""
        async with self.runtime.read_sessionmaker() as session:
            rows = await session.scalars(
                select(tables.outbox.c.envelope)
                .where(tables.outbox.c.event_type == event_type)
                .order_by(tables.outbox.c.id)
            )
            return [json.loads(row)["data"] for row in rows]

    async def count(self, table: Any, *where: Any) -> int:
        from sqlalchemy import func

        async with self.runtime.read_sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def payment_service(
    database_url: str, bus_config: BusConfig, **overrides: Any
) -> AbstractAsyncContextManager[PaymentService]:
    return service_under_test(
        create_app,
        Settings,
        database_url,
        bus_config,
        harness=PaymentService,
        **{"api_url": API, "receipt_signing": False, **overrides},
    )
