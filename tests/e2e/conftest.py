"""End-to-end journeys: every service its own process on its own PostgreSQL database, RabbitMQ between them, the
gateway in front; the tests talk to the gateway only, as a frontend would. PostgreSQL + RabbitMQ only.

A fake partner province (svc-document's ``FakePartner``, speaking edXML over our HTTP binding) runs in this
process on a port of its own; svc-document is configured with it as a partner before the cluster starts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from cryptography import x509
from frontend import PARTNER_CODE

from egov_document.exchange import Organization, Trust
from egov_document.exchange.devpki import Credentials, issue_signing_cert, make_ca
from egov_document.exchange.partner import FakePartner
from egov_shared.testing.backends import amqp_url, postgres_admin_url
from egov_shared.testing.cluster import Cluster, running_cluster
from egov_shared.testing.servers import free_port

PARTNER_TOKEN = "token-for-partner-h56"


@dataclass
class PartnerProvince:
    port: int
    ca: Credentials
    signing: Credentials
    fake: FakePartner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def partner_province() -> PartnerProvince:
    ca = make_ca("Partner H56 CA")
    return PartnerProvince(
        port=free_port(), ca=ca, signing=issue_signing_cert(ca, "UBND tỉnh Thanh Hóa (demo)")
    )


@pytest.fixture(scope="session")
async def cluster(partner_province: PartnerProvince) -> AsyncIterator[Cluster]:
    admin, amqp = postgres_admin_url(), amqp_url()
    if admin is None or amqp is None:
        pytest.skip(
            "end-to-end journeys run on PostgreSQL + RabbitMQ (EGOV_TEST_POSTGRES_URL, EGOV_TEST_AMQP_URL)"
        )
    overrides = {
        # Jobs that wait for a provider or a peer retry every few seconds here, not every half minute.
        "payment": {
            "EGOV_PAYMENT_REFUND_PERIOD_SECONDS": "2",
            "EGOV_PAYMENT_RECEIPT_SIGNING_PERIOD_SECONDS": "2",
        },
        "document": {
            "EGOV_DOCUMENT_PARTNERS": json.dumps(
                {PARTNER_CODE: {"url": partner_province.url, "token": PARTNER_TOKEN}}
            ),
            "EGOV_DOCUMENT_PARTNER_TRUST_PEM": partner_province.ca.cert_pem().decode(),
            "EGOV_DOCUMENT_DELIVERY_PERIOD_SECONDS": "1",
        },
    }
    async with running_cluster(admin, amqp, overrides=overrides) as running:
        yield running


@pytest.fixture
async def gateway(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cluster.url, timeout=60) as client:
        yield client


@pytest.fixture
async def partner(
    cluster: Cluster, partner_province: PartnerProvince, gateway: httpx.AsyncClient
) -> AsyncIterator[FakePartner]:
    """The partner province's system, serving our edXML binding; it trusts our PKI's roots and sends to us with
    the demo partner client's token."""
    from egov_shared.testing.oidc import client_token

    roots = await _our_roots(cluster)
    fake = FakePartner(
        organ=Organization(organ_id=PARTNER_CODE, organ_name="UBND tỉnh Thanh Hóa"),
        signing=partner_province.signing,
        trust=Trust(roots=roots),
        token=PARTNER_TOKEN,
        peer=cluster.url,
        peer_token=await client_token(gateway, "demo-partner", "demo-partner-secret", "documents.exchange"),
    )
    server = uvicorn.Server(
        uvicorn.Config(
            fake.app, host="127.0.0.1", port=partner_province.port, log_config=None, lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(400):  # up to 20 s
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield fake
    finally:
        server.should_exit = True
        await task


async def _our_roots(cluster: Cluster) -> tuple[x509.Certificate, ...]:
    """Our PKI's root certificates, as a partner would have received them when the exchange was set up."""
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from egov_document.signatures.pki_store import trust_roots

    engine = create_async_engine(cluster.database_url("document"))
    try:
        async with async_sessionmaker(engine)() as session:
            return tuple(await trust_roots(session))
    finally:
        await engine.dispose()
