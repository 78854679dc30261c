"""End to end through a gateway with the real svc-identity and svc-document: a demo citizen pays on the
simulator's page, VNPay's IPN comes back through the gateway, and the receipt is signed as the agency by
svc-document with svc-payment's own client-credentials token; its public checks say the signature holds."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from egov_gateway.province import Province, province
from egov_payment.context import PaymentContext
from egov_payment.vnpay.simulator import press
from egov_shared.agencies import agency_exists
from egov_shared.contracts.dossier import DossierSubmitted, FeeLine
from egov_shared.events import new_event
from egov_shared.testing.backends import BusConfig
from egov_shared.testing.waiting import eventually

JUSTICE = "000.00.10.H27"


@pytest.fixture
async def world(backend: str, bus_config: BusConfig) -> AsyncIterator[Province]:
    overrides = {"payment": {"api_url": "http://gateway.test"}}
    async with province(
        backend, bus_config, ("identity", "document", "payment"), overrides=overrides
    ) as world:
        context: PaymentContext = world.apps["payment"].state.payment
        context.transport.target = httpx.ASGITransport(app=world.gateway)
        yield world


def _subject(token: str) -> str:
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


async def test_a_paid_receipt_is_signed_by_svc_document(world: Province) -> None:
    payment_runtime = world.runtime("payment")
    context: PaymentContext = world.apps["payment"].state.payment

    async def agencies_known() -> bool:
        async with payment_runtime.read_sessionmaker() as session:
            return await agency_exists(session, JUSTICE)

    await eventually(agencies_known, what="the agency tree replicated to svc-payment")
    citizen = await world.citizen_token("001099012345")
    dossier_id = uuid.uuid4()
    submitted = DossierSubmitted(
        dossier_id=dossier_id,
        code=f"{JUSTICE}-261110-0001",
        procedure_code="1.001234.000.00.00.H27",
        agency_code=JUSTICE,
        applicant_id=_subject(citizen),
        channel=2,
        fees=[FeeLine(kind="le_phi", name="Lệ phí cấp bản sao", amount_vnd=105_000)],
        submitted_at=dt.datetime.now(dt.UTC),
    )
    await payment_runtime.bus.publish(new_event(submitted, source="svc-dossier"))
    auth = world.auth(citizen)

    async def billed() -> bool:
        found = await world.client.get(
            "/api/v1/invoices", params={"dossier_id": str(dossier_id)}, headers=auth
        )
        return found.status_code == 200 and bool(found.json()["items"])

    await eventually(billed, what="the invoice")
    invoice = (await world.client.get("/api/v1/invoices", params={"mine": "true"}, headers=auth)).json()[
        "items"
    ][0]
    created = await world.client.post(
        "/api/v1/payments", json={"invoice_id": invoice["id"], "provider": "vnpay"}, headers=auth
    )
    assert created.status_code == 201, created.text
    payment = created.json()

    # The citizen's browser: the simulator's page behind the gateway, then "Thanh toán".
    pressed = await press(world.client, payment["payment_url"].replace("http://localhost:8000", ""))
    assert pressed.status_code == 302
    assert context.simulator is not None
    assert [attempt.rsp_code for attempt in context.simulator.ipn_log] == ["00"]

    got = (await world.client.get(f"/api/v1/payments/{payment['id']}", headers=auth)).json()
    assert got["status"] == "succeeded"
    receipt_path = f"/api/v1/receipts/{got['receipt_id']}"

    async def signed() -> bool:
        await context.drain()
        receipt = (await world.client.get(receipt_path, headers=auth)).json()
        return bool(receipt["signing_status"] == "signed")

    await eventually(signed, what="the receipt signed by svc-document")
    receipt = (await world.client.get(receipt_path, headers=auth)).json()
    assert receipt["amount_in_words"] == "Một trăm linh năm nghìn đồng"
    assert receipt["agency_name"] == "Sở Tư pháp"
    pdf = await world.client.get(f"{receipt_path}/pdf", headers=auth)
    assert pdf.status_code == 200
    assert pdf.headers["x-receipt-signed"] == "true"

    verified = await world.client.post(
        "/api/v1/documents/verify", files={"file": ("bien-lai.pdf", pdf.content, "application/pdf")}
    )
    assert verified.status_code == 200, verified.text
    report = verified.json()
    assert report["valid"] is True, report
    assert len(report["signatures"]) == 1

    async with payment_runtime.read_sessionmaker() as session:
        from egov_payment.receipts.models import Receipt

        row = await session.get(Receipt, uuid.UUID(receipt["id"]))
        assert row is not None
        code = row.verification_code
    public = await world.client.get(f"/api/v1/receipts/verify/{receipt['id']}", params={"code": code})
    assert public.status_code == 200, public.text
    assert public.json()["signature_valid"] is True
    assert public.json()["receipt_number"] == receipt["receipt_number"]
