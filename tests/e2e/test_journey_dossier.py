"""Journey 1 without money: a citizen files a free dossier, the one-stop shop processes it, the leader (with a
second factor) approves and the result is signed as the agency; the citizen downloads and verifies it; the
statistics count it."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from frontend import CITIZEN, CLERK, COMMUNE, LEADER, SPECIALIST, Frontend, until

from egov_document.signing.samples import sample_decision_pdf
from egov_shared.testing.files import minimal_pdf

pytestmark = pytest.mark.postgres_only


async def test_a_free_dossier_from_the_phone_to_the_verified_result(gateway: httpx.AsyncClient) -> None:
    app = Frontend(gateway)
    found = await app.call("GET", "/api/v1/procedures", params={"q": "khai sinh"})
    birth = next(p for p in found["items"] if p["name"] == "Đăng ký khai sinh")
    components = [
        {"code": c["code"], "file_ids": [await app.upload(CITIZEN, minimal_pdf())]}
        for c in birth["components"]
        if c["mandatory"]
    ]
    dossier = await app.call(
        "POST",
        "/api/v1/dossiers",
        CITIZEN,
        expect=201,
        json={"procedure_code": birth["code"], "agency_code": COMMUNE, "components": components},
        headers={"Idempotency-Key": "e2e-birth-1"},
    )
    assert dossier["applicant"]["name"] == "Nguyễn Văn An"

    await app.act(CLERK, dossier["id"], "receive")
    await app.act(CLERK, dossier["id"], "assign", assignee_id="chuyenvien", assignee_name="Chuyên viên")
    # The specialist sees it in the agency queue.
    queue = await app.call(
        "GET", "/api/v1/dossiers", SPECIALIST, params={"status": 4, "agency_code": COMMUNE}
    )
    assert dossier["id"] in [d["id"] for d in queue["items"]]

    result = await app.upload(LEADER, sample_decision_pdf(number="1/TLKS", subject="Trích lục khai sinh"))
    done = await app.act(
        LEADER, dossier["id"], "approve_and_complete", result_file_id=result, result_symbol="1/TLKS"
    )
    assert done["status"] == 9
    [signed] = done["result_file_ids"]
    returned = await app.act(CLERK, dossier["id"], "return_result")
    assert returned["status"] == 10

    # The citizen downloads the signed result (readable once svc-document has the dossier.completed event)...
    async def download() -> httpx.Response | None:
        response = await gateway.get(f"/api/v1/files/{signed}/content", headers=await app.auth(CITIZEN))
        return response if response.status_code == 200 else None

    content = (await until(download, what="the signed result")).content
    # ...and verifies it (public).
    report = await app.call(
        "POST", "/api/v1/documents/verify", files={"file": ("ket-qua.pdf", content, "application/pdf")}
    )
    assert report["valid"] is True
    assert report["signatures"][0]["agency_code"] == COMMUNE

    now = dt.datetime.now(dt.UTC)
    figures = await app.call(
        "GET",
        "/api/v1/dossiers/statistics",
        CLERK,
        params={
            "agency_code": COMMUNE,
            "from": (now - dt.timedelta(days=1)).isoformat(),
            "to": (now + dt.timedelta(days=1)).isoformat(),
        },
    )
    assert figures["done"]["early"] + figures["done"]["on_time"] >= 1
    assert figures["received"]["online"] >= 1
