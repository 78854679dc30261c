"""``make run``'s embedded mode: one process, one port, every service behind the gateway, SQLite per service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from egov_gateway.config import GatewaySettings
from egov_gateway.embedded import create_embedded
from egov_gateway.routes import SERVICES
from egov_payment.vnpay.simulator import press
from egov_shared.testing.files import minimal_pdf
from egov_shared.testing.oidc import access_token
from egov_shared.testing.servers import free_port


@pytest.fixture
async def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    monkeypatch.setenv("EGOV_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("EGOV_DEMO_DATA", "1")
    for name in ("EGOV_AMQP_URL", *(f"EGOV_{s.upper()}_DATABASE_URL" for s in SERVICES)):
        monkeypatch.delenv(name, raising=False)
    port = free_port()
    # What egov-embedded's main() sets: the issuer, its keys and the peers' API are this server.
    monkeypatch.setenv("EGOV_ISSUER", f"http://localhost:{port}")
    monkeypatch.setenv("EGOV_JWKS_URL", f"http://127.0.0.1:{port}/oauth2/jwks")
    monkeypatch.setenv("EGOV_API_URL", f"http://127.0.0.1:{port}")
    app = create_embedded(GatewaySettings(port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(1200):  # up to 60 s
            if server.started:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the embedded server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_embedded_mode_serves_health_and_every_service_readiness(embedded: str, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=embedded) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert sorted(ready.json()["services"]) == sorted(SERVICES)
        for service in SERVICES:
            one = await client.get(f"/services/{service}/readyz")
            assert one.status_code == 200, one.text
            assert one.json()["checks"] == {"database": "ok", "broker": "ok"}
            assert one.headers["x-request-id"]
        spec = (await client.get("/openapi.json")).json()
        assert spec["openapi"].startswith("3.1")
        unknown = await client.get("/api/v1/no-such-thing")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
    for service in SERVICES:
        assert (tmp_path / f"{service}.db").exists()


async def test_a_citizen_submits_a_dossier_in_embedded_mode(embedded: str) -> None:
    """Services call each other through the one port: svc-dossier asks svc-identity and svc-document."""
    async with httpx.AsyncClient(base_url=embedded, timeout=30) as client:
        auth = {"Authorization": f"Bearer {await access_token(client, '001099012345')}"}
        file_ids = []
        for name in ("to-khai.pdf", "giay-chung-sinh.pdf"):
            content = minimal_pdf(name)
            uploaded = await client.post(
                "/api/v1/files", files={"file": (name, content, "application/pdf")}, headers=auth
            )
            assert uploaded.status_code == 201, uploaded.text
            file_ids.append(uploaded.json()["id"])
        body = {
            "procedure_code": "1.001193.000.00.00.H27",
            "agency_code": "000.10.00.H27",
            "components": [
                {"code": "to_khai", "file_ids": [file_ids[0]]},
                {"code": "giay_chung_sinh", "file_ids": [file_ids[1]]},
            ],
        }
        # Right after the first start svc-dossier may not have the agency tree from svc-identity's events yet.
        for _ in range(100):
            submitted = await client.post("/api/v1/dossiers", json=body, headers=auth)
            if submitted.json().get("code") != "dossier.agency_required":
                break
            await asyncio.sleep(0.1)
        assert submitted.status_code == 201, submitted.text
        assert submitted.json()["applicant"]["name"] == "Nguyễn Văn An"


async def test_a_fee_is_paid_offline_on_the_simulator_in_embedded_mode(embedded: str) -> None:
    """The whole cashless flow works without the internet: the payment URL points at the in-repo VNPay
    simulator, whose IPN comes back through the same port; svc-dossier then hears of the payment."""
    async with httpx.AsyncClient(base_url=embedded, timeout=30) as client:
        auth = {"Authorization": f"Bearer {await access_token(client, '001099012345')}"}
        content = minimal_pdf()
        uploaded = await client.post(
            "/api/v1/files", files={"file": ("to-khai.pdf", content, "application/pdf")}, headers=auth
        )
        body = {
            "procedure_code": "2.000635.000.00.00.H27",  # 8,000 VND due at submission
            "agency_code": "000.10.00.H27",
            "components": [{"code": "to_khai", "file_ids": [uploaded.json()["id"]]}],
        }
        for _ in range(100):
            submitted = await client.post("/api/v1/dossiers", json=body, headers=auth)
            if submitted.json().get("code") != "dossier.agency_required":
                break
            await asyncio.sleep(0.1)
        assert submitted.status_code == 201, submitted.text
        dossier_id = submitted.json()["id"]
        invoice = None
        for _ in range(200):
            found = await client.get("/api/v1/invoices", params={"dossier_id": dossier_id}, headers=auth)
            if found.status_code == 200 and found.json()["items"]:
                invoice = found.json()["items"][0]
                break
            await asyncio.sleep(0.1)
        assert invoice is not None, "no invoice for the dossier"
        payment = await client.post(
            "/api/v1/payments", json={"invoice_id": invoice["id"], "provider": "vnpay"}, headers=auth
        )
        assert payment.status_code == 201, payment.text
        pressed = await press(client, payment.json()["payment_url"])
        assert pressed.status_code == 302, pressed.text
        paid = None
        for _ in range(200):
            dossier = (await client.get(f"/api/v1/dossiers/{dossier_id}", headers=auth)).json()
            if dossier["fee_paid_at"]:
                paid = dossier
                break
            await asyncio.sleep(0.1)
        assert paid is not None, "svc-dossier never heard of the payment"
