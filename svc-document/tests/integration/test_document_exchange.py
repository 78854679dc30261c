"""Exchange between agencies end to end: inside the deployment, and with a fake partner province over edXML."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from document_harness import (
    COMMUNE,
    JUSTICE,
    PROVINCE,
    DocumentService,
    document_service,
    pdf_bytes,
    seed_agencies,
)

from egov_document.delivery.service import deliver_pending
from egov_document.exchange import (
    BusinessDocType,
    Code,
    DocumentType,
    EdxmlMessage,
    Organization,
    PromulgationInfo,
    SignerInfo,
    TraceHeader,
    Trust,
    vn_now,
)
from egov_document.exchange.devpki import issue_signing_cert, make_ca
from egov_document.exchange.model import Attachment, Business
from egov_document.exchange.partner import FakePartner
from egov_document.signatures.pki_store import trust_roots
from egov_shared.agencies import agency_exists
from egov_shared.testing.backends import BusConfig
from egov_shared.testing.waiting import eventually

PARTNER_CODE = "000.00.00.H56"
ROLES = ["document_clerk", "processor", "approver", "signer"]


async def agencies_ready(documents: DocumentService) -> None:
    await seed_agencies(documents)

    async def seeded() -> bool:
        async with documents.runtime.sessionmaker() as session:
            return await agency_exists(session, COMMUNE)

    await eventually(seeded, what="the agency tree")


async def act(
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


async def issue(documents: DocumentService, clerk: str, recipients: list[dict[str, str]]) -> dict[str, Any]:
    attachment = (await documents.upload(clerk, pdf_bytes("cong van"), filename="cong-van.pdf")).json()["id"]
    body: dict[str, Any] = (
        await documents.client.post(
            "/api/v1/documents",
            json={
                "direction": "outgoing",
                "agency_code": PROVINCE,
                "doc_type": "CV",
                "symbol": "UBND-VP",
                "excerpt": "Về việc triển khai dịch vụ công trực tuyến toàn trình",
                "recipients": recipients,
                "signer_name": "Hoàng Văn Dũng",
                "signer_position": "Phó Chủ tịch",
                "file_ids": [attachment],
            },
            headers=documents.auth(clerk),
        )
    ).json()
    for action in ("submit", "approve", "sign", "issue"):
        body = await act(documents, clerk, body, action)
    return body


async def dispatches(documents: DocumentService, token: str, document_id: str) -> list[dict[str, Any]]:
    response = await documents.client.get(
        "/api/v1/exchange/dispatches", params={"document_id": document_id}, headers=documents.auth(token)
    )
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


async def test_an_exchange_between_two_agencies_inside_the_deployment(documents: DocumentService) -> None:
    await agencies_ready(documents)
    clerk = documents.issuer.official("province-clerk", agency=PROVINCE, roles=ROLES)
    sent = await act(
        documents, clerk, await issue(documents, clerk, [{"code": JUSTICE, "name": "Sở Tư pháp"}]), "send"
    )
    [row] = await dispatches(documents, clerk, sent["id"])
    assert (row["channel"], row["state"], row["status_code"]) == ("internal", "delivered", "03")

    justice = documents.issuer.official("justice-clerk", agency=JUSTICE, roles=ROLES)
    register = await documents.client.get(
        "/api/v1/documents",
        params={"agency_code": JUSTICE, "direction": "incoming"},
        headers=documents.auth(justice),
    )
    [incoming] = register.json()["items"]
    assert incoming["arrival_number"] == 1
    assert incoming["number_and_symbol"] == "01/UBND-VP"
    attachment = incoming["file_ids"][0]
    assert (
        await documents.client.get(f"/api/v1/files/{attachment}/content", headers=documents.auth(justice))
    ).status_code == 200

    incoming = await act(documents, justice, incoming, "assign", assignee_id="specialist")
    assert (await dispatches(documents, clerk, sent["id"]))[0]["status_code"] == "04"
    incoming = await act(documents, justice, incoming, "start")
    incoming = await act(documents, justice, incoming, "complete")
    assert (await dispatches(documents, clerk, sent["id"]))[0]["status_code"] == "06"


@pytest.fixture
async def with_partner(
    database_url: str, bus_config: BusConfig
) -> AsyncIterator[tuple[DocumentService, FakePartner]]:
    partner_ca = make_ca("Partner H56 CA")
    partner_signing = issue_signing_cert(partner_ca, "UBND tỉnh Thanh Hóa (demo)")
    settings = {
        "partners": {PARTNER_CODE: {"url": "http://partner.test", "token": "token-for-partner"}},
        "partner_trust_pem": partner_ca.cert_pem().decode(),
    }
    async with document_service(database_url, bus_config, **settings) as documents:
        await agencies_ready(documents)
        async with documents.runtime.sessionmaker() as session:
            our_roots = tuple(await trust_roots(session))
        partner = FakePartner(
            organ=Organization(organ_id=PARTNER_CODE, organ_name="UBND tỉnh Thanh Hóa"),
            signing=partner_signing,
            trust=Trust(roots=our_roots),
            token="token-for-partner",
            peer=httpx.ASGITransport(app=documents.app),
            peer_token=documents.issuer.client("partner-h56", scopes=["documents.exchange"]),
        )
        yield documents, partner


def partner_document(
    partner: FakePartner, *, business: Business | None = None, to: str = PROVINCE
) -> EdxmlMessage:
    return EdxmlMessage(
        sender=partner.organ,
        recipients=(Organization(organ_id=to, organ_name="UBND tỉnh Bắc Ninh"),),
        code=Code(code_number="267", code_notation="UBND-VP"),
        promulgation=PromulgationInfo(place="Thanh Hóa", promulgation_date=dt.date(2026, 11, 20)),
        document_type=DocumentType(type=1, type_name="Công văn"),
        subject="Về việc phối hợp liên thông văn bản điện tử",
        signer=SignerInfo(position="Chủ tịch", full_name="Nguyễn Văn Thanh"),
        trace=(TraceHeader(organ_id=PARTNER_CODE, timestamp=vn_now()),),
        attachments=(
            Attachment(name="cong-van-267.pdf", content_type="application/pdf", content=pdf_bytes("267")),
        ),
        business=business or Business(),
    )


async def test_an_exchange_with_a_partner_province_over_edxml(
    with_partner: tuple[DocumentService, FakePartner],
) -> None:
    documents, partner = with_partner
    clerk = documents.issuer.official("province-clerk", agency=PROVINCE, roles=ROLES)
    sent = await act(
        documents,
        clerk,
        await issue(documents, clerk, [{"code": PARTNER_CODE, "name": "UBND tỉnh Thanh Hóa"}]),
        "send",
    )
    [row] = await dispatches(documents, clerk, sent["id"])
    assert (row["channel"], row["state"]) == ("edxml", "pending")

    delivered = await deliver_pending(
        documents.runtime, documents.app.state.documents, transport=httpx.ASGITransport(app=partner.app)
    )
    assert delivered == 1
    [message] = partner.documents
    assert message.code.code_notation == "UBND-VP"
    assert message.attachments[0].content == pdf_bytes("cong van")
    assert partner.tokens_seen[-1] == "token-for-partner"
    [row] = await dispatches(documents, clerk, sent["id"])
    assert (row["state"], row["status_code"]) == ("delivered", "01")

    # The partner reports its handling back through our HTTP binding.
    for code in ("03", "05", "06"):
        status, _ = await partner.send_status(message.document_id, code)
        assert status == 202
    assert (await dispatches(documents, clerk, sent["id"]))[0]["status_code"] == "06"


async def test_a_partner_sends_us_a_document_and_gets_our_acknowledgement(
    with_partner: tuple[DocumentService, FakePartner],
) -> None:
    documents, partner = with_partner
    status, body = await partner.send_document(partner_document(partner))
    assert status == 202, body
    again, body_again = await partner.send_document(
        partner_document(partner)
    )  # delivered twice: one document
    assert again == 202
    assert body_again["document_id"] == body["document_id"]
    clerk = documents.issuer.official("province-clerk", agency=PROVINCE, roles=ROLES)
    register = (
        await documents.client.get(
            "/api/v1/documents",
            params={"agency_code": PROVINCE, "direction": "incoming"},
            headers=documents.auth(clerk),
        )
    ).json()["items"]
    assert [(d["number_and_symbol"], d["issuer_name"]) for d in register] == [
        ("267/UBND-VP", "UBND tỉnh Thanh Hóa")
    ]

    await deliver_pending(
        documents.runtime, documents.app.state.documents, transport=httpx.ASGITransport(app=partner.app)
    )
    assert [s.status_code.value for s in partner.statuses] == ["03"]

    # Assigning it tells the partner too.
    await act(documents, clerk, register[0], "assign", assignee_id="specialist")
    await deliver_pending(
        documents.runtime, documents.app.state.documents, transport=httpx.ASGITransport(app=partner.app)
    )
    assert [s.status_code.value for s in partner.statuses] == ["03", "04"]

    revoke = partner_document(
        partner, business=Business(doc_type=BusinessDocType.REVOKE, reason="Ban hành nhầm")
    )
    assert (await partner.send_document(revoke))[0] == 202
    document = (
        await documents.client.get(f"/api/v1/documents/{register[0]['id']}", headers=documents.auth(clerk))
    ).json()
    assert document["status"] == "revoked"
    await deliver_pending(
        documents.runtime, documents.app.state.documents, transport=httpx.ASGITransport(app=partner.app)
    )
    assert partner.statuses[-1].status_code.value == "13"


async def test_bad_messages_are_refused_with_status_02(
    with_partner: tuple[DocumentService, FakePartner],
) -> None:
    documents, partner = with_partner
    stranger = FakePartner(
        organ=partner.organ,
        signing=issue_signing_cert(make_ca("Someone else"), "Impostor"),
        trust=partner.trust,
        peer=partner.peer,
        peer_token=partner.peer_token,
    )
    status, body = await stranger.send_document(partner_document(stranger))
    assert status == 422
    assert (body["edxml_status"], body["code"]) == ("02", "exchange.bad_signature")

    status, body = await partner.send_document(partner_document(partner, to="000.00.99.H99"))
    assert status == 422
    assert (body["edxml_status"], body["code"]) == ("02", "exchange.unknown_recipient")

    unsigned = b'<?xml version="1.0"?><edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>'
    status, body = await partner.send_raw(unsigned)
    assert status == 422
    assert body["edxml_status"] == "02"

    no_scope = documents.issuer.client("other-app", scopes=["open311"])
    status, _ = await partner.send_raw(unsigned, token=no_scope)
    assert status == 403
    response = await documents.client.post(
        "/api/v1/exchange/edxml", content=unsigned, headers={"content-type": "application/xml"}
    )
    assert response.status_code == 401


async def test_the_sender_revokes_a_sent_document_everywhere(
    with_partner: tuple[DocumentService, FakePartner],
) -> None:
    documents, partner = with_partner
    clerk = documents.issuer.official("province-clerk", agency=PROVINCE, roles=ROLES)
    recipients = [
        {"code": JUSTICE, "name": "Sở Tư pháp"},
        {"code": PARTNER_CODE, "name": "UBND tỉnh Thanh Hóa"},
    ]
    sent = await act(documents, clerk, await issue(documents, clerk, recipients), "send")
    transport = httpx.ASGITransport(app=partner.app)
    await deliver_pending(documents.runtime, documents.app.state.documents, transport=transport)

    refused = await documents.client.post(
        f"/api/v1/documents/{sent['id']}/revoke",
        headers={**documents.auth(clerk), "If-Match": f'"{sent["version"]}"'},
    )
    assert refused.status_code == 422  # a reason is required
    revoked = await act(documents, clerk, sent, "revoke", note="Ban hành nhầm đối tượng")
    assert (revoked["status"], revoked["allowed_actions"]) == ("revoked", [])

    justice = documents.issuer.official("justice-clerk", agency=JUSTICE, roles=ROLES)
    register = await documents.client.get(
        "/api/v1/documents",
        params={"agency_code": JUSTICE, "direction": "incoming"},
        headers=documents.auth(justice),
    )
    assert [d["status"] for d in register.json()["items"]] == ["revoked"]

    await deliver_pending(documents.runtime, documents.app.state.documents, transport=transport)
    [first, revocation] = partner.documents
    assert revocation.document_id == first.document_id
    assert revocation.business.doc_type is BusinessDocType.REVOKE
    assert revocation.business.reason == "Ban hành nhầm đối tượng"
    statuses = {d["recipient_code"]: d["status_code"] for d in await dispatches(documents, clerk, sent["id"])}
    assert statuses[JUSTICE] == "13"


async def test_the_sender_sends_an_update_to_every_recipient(
    with_partner: tuple[DocumentService, FakePartner],
) -> None:
    documents, partner = with_partner
    clerk = documents.issuer.official("province-clerk", agency=PROVINCE, roles=ROLES)
    recipients = [
        {"code": JUSTICE, "name": "Sở Tư pháp"},
        {"code": PARTNER_CODE, "name": "UBND tỉnh Thanh Hóa"},
    ]
    draft = (
        await documents.client.post(
            "/api/v1/documents",
            json={
                "direction": "outgoing",
                "agency_code": PROVINCE,
                "doc_type": "CV",
                "symbol": "UBND-VP",
                "excerpt": "Bản nháp",
                "recipients": recipients,
            },
            headers=documents.auth(clerk),
        )
    ).json()
    not_issued = await documents.client.post(
        f"/api/v1/documents/{draft['id']}/amendments",
        json={"kind": "update", "reason": "Sửa lỗi chính tả", "excerpt": "x"},
        headers={**documents.auth(clerk), "If-Match": '"1"'},
    )
    assert not_issued.status_code == 409, not_issued.text

    sent = await act(documents, clerk, await issue(documents, clerk, recipients), "send")
    transport = httpx.ASGITransport(app=partner.app)
    await deliver_pending(documents.runtime, documents.app.state.documents, transport=transport)
    amended = await documents.client.post(
        f"/api/v1/documents/{sent['id']}/amendments",
        json={
            "kind": "update",
            "reason": "Sửa trích yếu",
            "excerpt": "Về việc triển khai dịch vụ công (sửa đổi)",
        },
        headers={**documents.auth(clerk), "If-Match": f'"{sent["version"]}"'},
    )
    assert amended.status_code == 200, amended.text

    justice = documents.issuer.official("justice-clerk", agency=JUSTICE, roles=ROLES)
    [copy] = (
        await documents.client.get(
            "/api/v1/documents",
            params={"agency_code": JUSTICE, "direction": "incoming"},
            headers=documents.auth(justice),
        )
    ).json()["items"]
    assert copy["excerpt"] == "Về việc triển khai dịch vụ công (sửa đổi)"

    await deliver_pending(documents.runtime, documents.app.state.documents, transport=transport)
    [_, update] = partner.documents
    assert update.business.doc_type is BusinessDocType.UPDATE
    assert update.subject == "Về việc triển khai dịch vụ công (sửa đổi)"
    statuses = {d["recipient_code"]: d["status_code"] for d in await dispatches(documents, clerk, sent["id"])}
    assert statuses[JUSTICE] == "15"
