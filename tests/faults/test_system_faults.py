"""The whole system under faults, on a private PostgreSQL and a private RabbitMQ this test starts (never the
machine's shared servers): the broker stopped cleanly and killed, a service killed, PostgreSQL restarted, each in
the middle of a flow. Then we count: every dossier accepted has exactly one invoice, every payment exactly one
receipt, one payment.fee_paid and one fee_paid step in the dossier's log, and nothing waits in an outbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

from egov_payment.vnpay.simulator import press
from egov_shared.testing.cluster import Cluster, running_cluster
from egov_shared.testing.files import minimal_pdf
from egov_shared.testing.oidc import access_token
from egov_shared.testing.servers import PrivatePostgres, PrivateRabbitMQ, private_postgres, private_rabbitmq

pytestmark = pytest.mark.postgres_only

CITIZEN = "001099012345"
EXTRACT = "2.000635.000.00.00.H27"  # 8,000 VND due at submission
COMMUNE = "000.10.00.H27"
SETTLE_SECONDS = 120


@dataclass
class World:
    postgres: PrivatePostgres
    rabbitmq: PrivateRabbitMQ
    cluster: Cluster
    client: httpx.AsyncClient
    auth: dict[str, str]
    accepted: list[str] = field(default_factory=list)  # dossiers answered 201
    paid: list[str] = field(default_factory=list)  # invoices paid through the simulator

    async def submit(self) -> str | None:
        upload = await self.client.post(
            "/api/v1/files", files={"file": ("tk.pdf", minimal_pdf(), "application/pdf")}, headers=self.auth
        )
        if upload.status_code != 201:
            return None
        body = {
            "procedure_code": EXTRACT,
            "agency_code": COMMUNE,
            "components": [{"code": "to_khai", "file_ids": [upload.json()["id"]]}],
        }
        response = await self.client.post("/api/v1/dossiers", json=body, headers=self.auth)
        if response.status_code != 201:
            return None
        dossier_id: str = response.json()["id"]
        self.accepted.append(dossier_id)
        return dossier_id

    async def submit_many(self, count: int, *, during: Any = None, after: int = 3) -> None:
        """``count`` submissions, a few at a time; ``during`` (a fault) strikes after ``after`` of them."""
        for index in range(count):
            if during is not None and index == after:
                await during()
            await self.submit()

    async def rows(self, service: str, query: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.cluster.dsn(service))
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()

    async def settled(self) -> None:
        """Every accepted dossier has its invoice, every payment its receipt and its step, no outbox waits."""
        deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
        while True:
            problems = await self.problems()
            if not problems:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("not settled: " + "; ".join(problems))
            await asyncio.sleep(0.5)

    async def problems(self) -> list[str]:
        found: list[str] = []
        invoices = await self.rows(
            "payment", "SELECT dossier_id::text AS d, count(*) AS n FROM invoices GROUP BY 1"
        )
        per_dossier = {r["d"]: r["n"] for r in invoices}
        missing = [d for d in self.accepted if d not in per_dossier]
        if missing:
            found.append(f"{len(missing)} dossiers without an invoice")
        twice = [d for d, n in per_dossier.items() if n != 1]
        assert not twice, f"dossiers with more than one invoice: {twice}"
        unsent = 0
        for service in ("dossier", "payment", "document", "identity"):
            unsent += (await self.rows(service, "SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL"))[0][
                "n"
            ]
        if unsent:
            found.append(f"{unsent} events wait in outboxes")
        if self.paid:
            receipts = await self.rows(
                "payment",
                "SELECT p.invoice_id::text AS i, count(r.id) AS n FROM payments p "
                "LEFT JOIN receipts r ON r.payment_id = p.id WHERE p.status = 'succeeded' GROUP BY 1",
            )
            per_invoice = {r["i"]: r["n"] for r in receipts}
            assert all(n == 1 for n in per_invoice.values()), f"receipts per invoice: {per_invoice}"
            if len(per_invoice) < len(self.paid):
                found.append(f"{len(self.paid) - len(per_invoice)} payments not confirmed")
            steps = await self.rows(
                "dossier",
                "SELECT dossier_id::text AS d, count(*) AS n FROM dossier_history WHERE action = 'fee_paid' GROUP BY 1",
            )
            assert all(r["n"] == 1 for r in steps), f"fee_paid applied twice: {[tuple(r) for r in steps]}"
            if len(steps) < len(self.paid):
                found.append(f"{len(self.paid) - len(steps)} payments not yet in the dossiers' logs")
            events = await self.rows(
                "payment", "SELECT count(*) AS n FROM outbox WHERE event_type = 'payment.fee_paid'"
            )
            assert events[0]["n"] <= len(self.paid), "payment.fee_paid published more than once for a payment"
        return found

    async def pay(self, dossier_id: str) -> None:
        """The citizen pays the dossier's invoice on the VNPay simulator (its IPN comes back through the gateway)."""
        found = await self.client.get(
            "/api/v1/invoices", params={"dossier_id": dossier_id}, headers=self.auth
        )
        invoice = found.json()["items"][0]
        payment = await self.client.post(
            "/api/v1/payments", json={"invoice_id": invoice["id"], "provider": "vnpay"}, headers=self.auth
        )
        assert payment.status_code == 201, payment.text
        pressed = await press(self.client, payment.json()["payment_url"])
        assert pressed.status_code == 302, pressed.text
        self.paid.append(invoice["id"])


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    async with (
        private_postgres() as postgres,
        private_rabbitmq() as rabbitmq,
        running_cluster(postgres.url, rabbitmq.url) as cluster,
        httpx.AsyncClient(base_url=cluster.url, timeout=60) as client,
    ):
        auth = {"Authorization": f"Bearer {await access_token(client, CITIZEN)}"}
        yield World(postgres, rabbitmq, cluster, client, auth)


async def test_1_the_broker_stopped_cleanly_mid_journey(world: World) -> None:
    await world.submit_many(3)
    await world.settled()
    await world.submit_many(8, during=world.rabbitmq.stop)
    # Submissions kept working: their events wait in the outboxes.
    assert len(world.accepted) == 11
    await world.rabbitmq.start()
    await world.settled()


async def test_2_the_broker_killed_mid_journey_while_payments_confirm(world: World) -> None:
    await world.rabbitmq.kill()
    # Payments confirmed while the broker is dead: payment.fee_paid waits in svc-payment's outbox.
    for dossier_id in world.accepted[:4]:
        await world.pay(dossier_id)
    assert len(world.paid) == 4  # the module's tests run in order on one worker, on one world
    await world.submit_many(4)
    await world.rabbitmq.start()
    await world.settled()


async def test_3_a_service_killed_mid_flow(world: World) -> None:
    async def kill_payment() -> None:
        await world.cluster.kill("payment")

    await world.submit_many(8, during=kill_payment, after=2)
    await world.cluster.restart("payment")
    for dossier_id in world.accepted[4:6]:
        await world.pay(dossier_id)
    await world.settled()


async def test_4_postgresql_restarted(world: World) -> None:
    await world.submit_many(2)
    await world.postgres.stop("fast")
    failed_before = len(world.accepted)
    await world.submit()  # answered with an error while the database is down, nothing half-written
    assert len(world.accepted) == failed_before
    await world.postgres.start()
    await world.submit_many(4)
    assert len(world.accepted) == failed_before + 4
    await world.settled()
