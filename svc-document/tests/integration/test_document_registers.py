"""Official documents through HTTP on both backends: workflow, numbering, arrival numbers, duplicates, access."""

from __future__ import annotations

import asyncio
from typing import Any

from document_harness import COMMUNE, JUSTICE, PROVINCE, DocumentService, seed_agencies
from sqlalchemy import select

from egov_shared import tables
from egov_shared.agencies import agency_exists
from egov_shared.testing.waiting import eventually

CLERK_ROLES = ["document_clerk", "processor", "approver", "signer"]


async def ready(documents: DocumentService) -> str:
    await seed_agencies(documents)

    async def seeded() -> bool:
        async with documents.runtime.sessionmaker() as session:
            return await agency_exists(session, COMMUNE)

    await eventually(seeded, what="the agency tree")
    return documents.issuer.official("clerk", agency=PROVINCE, roles=CLERK_ROLES, name="Văn thư")


def draft(**extra: Any) -> dict[str, Any]:
    return {
        "direction": "outgoing",
        "agency_code": PROVINCE,
        "doc_type": "QD",
        "symbol": "QĐ-UBND",
        "excerpt": "Quyết định về việc phê duyệt kế hoạch cải cách hành chính năm 2027",
        "urgency": 3,
        "recipients": [{"code": JUSTICE, "name": "Sở Tư pháp"}],
        "signer_name": "Hoàng Văn Dũng",
        "signer_position": "Phó Chủ tịch",
        **extra,
    }


async def step(
    documents: DocumentService, token: str, body: dict[str, Any], action: str, **extra: Any
) -> dict[str, Any]:
    response = await documents.client.post(
        f"/api/v1/documents/{body['id']}/{action}",
        json=extra or None,
        headers={**documents.auth(token), "If-Match": f'"{body["version"]}"'},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_an_outgoing_document_goes_from_draft_to_sent_and_is_numbered_on_issue(
    documents: DocumentService,
) -> None:
    clerk = await ready(documents)
    created = await documents.client.post("/api/v1/documents", json=draft(), headers=documents.auth(clerk))
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["status"], body["number"], body["allowed_actions"]) == ("draft", None, ["submit"])
    for action in ("submit", "approve", "sign", "issue"):
        body = await step(documents, clerk, body, action, note=f"bước {action}")
    assert body["number_and_symbol"] == "01/QĐ-UBND"
    assert body["issued_date"] is not None
    body = await step(documents, clerk, body, "send")
    assert body["status"] == "sent"

    trace = (
        await documents.client.get(f"/api/v1/documents/{body['id']}/trace", headers=documents.auth(clerk))
    ).json()
    assert [(t["action"], t["to_status"]) for t in trace] == [
        ("create", "draft"),
        ("submit", "review"),
        ("approve", "approved"),
        ("sign", "signed"),
        ("issue", "issued"),
        ("send", "sent"),
    ]
    async with documents.runtime.sessionmaker() as session:
        types = list(await session.scalars(select(tables.outbox.c.event_type)))
    assert types.count("document.issued") == 1


async def test_wrong_steps_are_refused_clearly(documents: DocumentService) -> None:
    clerk = await ready(documents)
    body = (
        await documents.client.post("/api/v1/documents", json=draft(), headers=documents.auth(clerk))
    ).json()
    url = f"/api/v1/documents/{body['id']}"
    illegal = await documents.client.post(
        f"{url}/issue", headers={**documents.auth(clerk), "If-Match": '"1"'}
    )
    assert illegal.status_code == 409
    assert illegal.json()["allowed_actions"] == ["submit"]
    assert (await documents.client.post(f"{url}/submit", headers=documents.auth(clerk))).status_code == 428
    assert (
        await documents.client.post(f"{url}/submit", headers={**documents.auth(clerk), "If-Match": '"7"'})
    ).status_code == 412
    no_role = documents.issuer.official("reader", agency=PROVINCE, roles=["receiver"])
    refused = await documents.client.post(
        f"{url}/submit", headers={**documents.auth(no_role), "If-Match": '"1"'}
    )
    assert refused.status_code == 403
    elsewhere = documents.issuer.official("commune-clerk", agency=COMMUNE, roles=CLERK_ROLES)
    assert (await documents.client.get(url, headers=documents.auth(elsewhere))).status_code == 404
    citizen = documents.issuer.citizen()
    assert (await documents.client.get(url, headers=documents.auth(citizen))).status_code == 403


async def test_numbers_have_no_gaps_under_concurrency(documents: DocumentService) -> None:
    clerk = await ready(documents)
    signed = []
    for _ in range(12):
        body = (
            await documents.client.post("/api/v1/documents", json=draft(), headers=documents.auth(clerk))
        ).json()
        for action in ("submit", "approve", "sign"):
            body = await step(documents, clerk, body, action)
        signed.append(body)
    issued = await asyncio.gather(*(step(documents, clerk, body, "issue") for body in signed))
    assert sorted(d["number"] for d in issued) == list(range(1, 13))


async def test_incoming_documents_get_continuous_arrival_numbers_and_a_duplicate_warning(
    documents: DocumentService,
) -> None:
    clerk = await ready(documents)
    incoming = {
        "direction": "incoming",
        "agency_code": PROVINCE,
        "doc_type": "CV",
        "symbol": "BTP-VP",
        "number": 267,
        "issuer_code": "000.00.04.G14",
        "issuer_name": "Bộ Tư pháp",
        "issued_date": "2026-11-20",
        "excerpt": "Về việc triển khai hồ sơ điện tử",
    }
    first = await documents.client.post("/api/v1/documents", json=incoming, headers=documents.auth(clerk))
    second = await documents.client.post(
        "/api/v1/documents", json={**incoming, "number": 268}, headers=documents.auth(clerk)
    )
    again = await documents.client.post("/api/v1/documents", json=incoming, headers=documents.auth(clerk))
    assert [r.json()["arrival_number"] for r in (first, second, again)] == [1, 2, 3]
    assert first.json()["warnings"] == []
    assert again.json()["warnings"] == ["duplicate"]
    body = await step(documents, clerk, first.json(), "assign", assignee_id="specialist-1")
    assert body["assignee_id"] == "specialist-1"
    missing = {k: v for k, v in incoming.items() if k != "number"}
    refused = await documents.client.post("/api/v1/documents", json=missing, headers=documents.auth(clerk))
    assert refused.status_code == 422
    async with documents.runtime.sessionmaker() as session:
        types = list(await session.scalars(select(tables.outbox.c.event_type)))
    assert types.count("document.received") == 3


async def test_a_completed_dossier_files_its_result_in_the_register(documents: DocumentService) -> None:
    import uuid

    from document_harness import now, pdf_bytes

    from egov_shared.contracts.dossier import DossierCompleted

    clerk = await ready(documents)
    result = (await documents.upload(clerk, pdf_bytes("giay phep"))).json()["id"]
    completed = DossierCompleted(
        dossier_id=uuid.uuid4(),
        code=f"{PROVINCE}-261122-0007",
        agency_code=PROVINCE,
        applicant_id="citizen-9",
        result_file_ids=[uuid.UUID(result)],
        completed_at=now(),
        result_symbol="GP-UBND",
        result_excerpt="Giấy phép xây dựng nhà ở riêng lẻ",
    )
    event = await documents.deliver(completed)
    await documents.runtime.bus.publish(event)  # the same event delivered twice is filed once

    async def filed() -> bool:
        page = await documents.client.get(
            "/api/v1/documents",
            params={"agency_code": PROVINCE, "direction": "outgoing"},
            headers=documents.auth(clerk),
        )
        return bool(page.json()["items"])

    await eventually(filed, what="the result in the register")
    import asyncio

    await asyncio.sleep(0.5)
    items = (
        await documents.client.get(
            "/api/v1/documents",
            params={"agency_code": PROVINCE, "direction": "outgoing"},
            headers=documents.auth(clerk),
        )
    ).json()["items"]
    assert len(items) == 1
    assert items[0]["number_and_symbol"] == "01/GP-UBND"
    assert items[0]["status"] == "issued"
