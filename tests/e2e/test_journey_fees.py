"""Journey 1: a dossier whose fee is due at submission. The citizen pays on the VNPay simulator, a signed receipt
is issued; the one-stop shop processes the dossier, the leader approves with a second factor, the result is
signed and returned. A second dossier, refused after payment, has its fee refunded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from frontend import CITIZEN, CLERK, COMMUNE, LEADER, SPECIALIST, Frontend, until

from egov_document.signing.samples import sample_decision_pdf
from egov_payment.vnpay.simulator import press
from egov_shared.testing.files import minimal_pdf

pytestmark = pytest.mark.postgres_only
EXTRACT = "2.000635.000.00.00.H27"  # a copy of a civil-status extract: 8,000 VND at submission


async def file_extract(app: Frontend) -> dict[str, Any]:
    dossier: dict[str, Any] = await app.call(
        "POST",
        "/api/v1/dossiers",
        CITIZEN,
        expect=201,
        json={
            "procedure_code": EXTRACT,
            "agency_code": COMMUNE,
            "components": [{"code": "to_khai", "file_ids": [await app.upload(CITIZEN, minimal_pdf())]}],
        },
    )
    return dossier


async def pay_with_vnpay(
    app: Frontend, gateway: httpx.AsyncClient, dossier: dict[str, Any]
) -> dict[str, Any]:
    """The citizen's phone: the invoice, the payment page of the simulator, "Thanh toán"."""

    async def invoice() -> dict[str, Any] | None:
        found = await app.call("GET", "/api/v1/invoices", CITIZEN, params={"dossier_id": dossier["id"]})
        return found["items"][0] if found["items"] else None

    bill = await until(invoice, what="the invoice of the dossier")
    assert bill["amount_vnd"] == 8000
    payment = await app.call(
        "POST",
        "/api/v1/payments",
        CITIZEN,
        expect=201,
        json={"invoice_id": bill["id"], "provider": "vnpay"},
        headers={"Idempotency-Key": f"pay-{bill['id']}"},
    )
    pressed = await press(gateway, payment["payment_url"])
    assert pressed.status_code == 302, pressed.text

    async def succeeded() -> dict[str, Any] | None:
        got: dict[str, Any] = await app.call("GET", f"/api/v1/payments/{payment['id']}", CITIZEN)
        return got if got["status"] == "succeeded" else None

    return dict(await until(succeeded, what="the IPN to confirm the payment"))


async def test_pay_then_process_then_a_refund(gateway: httpx.AsyncClient) -> None:
    app = Frontend(gateway)
    dossier = await file_extract(app)
    paid = await pay_with_vnpay(app, gateway, dossier)

    async def receipt_signed() -> dict[str, Any] | None:
        receipt: dict[str, Any] = await app.call("GET", f"/api/v1/receipts/{paid['receipt_id']}", CITIZEN)
        return receipt if receipt["signing_status"] == "signed" else None

    receipt = await until(receipt_signed, what="the receipt signed as the agency")
    assert receipt["amount_in_words"] == "Tám nghìn đồng"
    pdf = await gateway.get(f"/api/v1/receipts/{receipt['id']}/pdf", headers=await app.auth(CITIZEN))
    verified = await app.call(
        "POST", "/api/v1/documents/verify", files={"file": ("bl.pdf", pdf.content, "application/pdf")}
    )
    assert verified["valid"] is True

    # svc-dossier hears payment.fee_paid; reception then goes straight to 2 (or waits in 6 until it hears it).
    async def fee_recorded() -> bool:
        current = await app.call("GET", f"/api/v1/dossiers/{dossier['id']}", CITIZEN)
        return current["fee_paid_at"] is not None

    await until(fee_recorded, what="svc-dossier to record the payment")
    received = await app.act(CLERK, dossier["id"], "receive")
    assert received["status"] == 2
    await app.act(CLERK, dossier["id"], "assign", assignee_id="chuyenvien")
    result = await app.upload(
        LEADER, sample_decision_pdf(number="7/TLHT", subject="Bản sao trích lục hộ tịch")
    )
    done = await app.act(LEADER, dossier["id"], "approve_and_complete", result_file_id=result)
    assert done["timeliness"] in ("early", "on_time")
    await app.act(CLERK, dossier["id"], "return_result")
    # The statistics of the commune count it done in time, and paid online.
    now = dt.datetime.now(dt.UTC)
    period = {
        "from": (now - dt.timedelta(days=1)).isoformat(),
        "to": (now + dt.timedelta(days=1)).isoformat(),
    }
    figures = await app.call(
        "GET", "/api/v1/dossiers/statistics", CLERK, params={"agency_code": COMMUNE, **period}
    )
    assert figures["done"]["early"] + figures["done"]["on_time"] >= 1
    assert figures["paid_online_rate"] is not None
    steps = await app.call("GET", f"/api/v1/dossiers/{dossier['id']}/history", SPECIALIST)
    assert [s["action"] for s in steps] == [
        "submit",
        "fee_paid",
        "receive",
        "assign",
        "approve_and_complete",
        "return_result",
    ]

    # The second dossier: paid, then refused at reception: the fee goes back.
    second = await file_extract(app)
    await pay_with_vnpay(app, gateway, second)
    await until(
        lambda: _fee_recorded(app, second["id"]),
        what="svc-dossier to record the second payment",
    )
    refused = await app.act(CLERK, second["id"], "refuse", note="Hồ sơ không thuộc thẩm quyền của xã")
    assert refused["refund_required"] is True

    async def refunded() -> bool:
        steps = await app.call("GET", f"/api/v1/dossiers/{second['id']}/history", CITIZEN)
        return "refunded" in [s["action"] for s in steps]

    await until(refunded, timeout=90, what="payment.refunded in the dossier's history")
    invoices = await app.call("GET", "/api/v1/invoices", CITIZEN, params={"dossier_id": second["id"]})
    assert invoices["items"][0]["status"] == "refunded"


async def _fee_recorded(app: Frontend, dossier_id: str) -> bool:
    current = await app.call("GET", f"/api/v1/dossiers/{dossier_id}", CITIZEN)
    return current["fee_paid_at"] is not None
