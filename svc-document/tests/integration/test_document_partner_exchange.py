"""The fake partner province over our HTTP binding, through httpx.ASGITransport.

Two fakes talk to each other here: Nghệ An (the sender, standing in for our service) and Hà Tĩnh (the
partner). What one sends, the other must accept or refuse exactly as our binding says.
"""

from __future__ import annotations

from datetime import date, datetime

import httpx
import pytest

from egov_document.exchange import (
    EDXML_PATH,
    VN_TZ,
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentType,
    EdxmlMessage,
    Organization,
    OtherInfo,
    Priority,
    PromulgationInfo,
    SignerInfo,
    StaffInfo,
    StatusCode,
    TraceHeader,
    Trust,
    post_edxml,
    sign,
    to_xml,
)
from egov_document.exchange.devpki import Credentials, issue_signing_cert, make_ca
from egov_document.exchange.partner import FakePartner

NGHE_AN = Organization(organ_id="000.00.00.H41", organ_name="Ủy ban nhân dân tỉnh Nghệ An")
HA_TINH = Organization(organ_id="000.00.00.H23", organ_name="Ủy ban nhân dân tỉnh Hà Tĩnh")
PARTNER_TOKEN = "token-issued-to-nghe-an"
SUBJECT = "Quyết định về việc phê duyệt phương án phòng chống lụt bão liên tỉnh"


@pytest.fixture(scope="module")
def ca() -> Credentials:
    return make_ca("Test Government CA")


@pytest.fixture(scope="module")
def nghe_an_keys(ca: Credentials) -> Credentials:
    return issue_signing_cert(ca, "UBND tinh Nghe An")


@pytest.fixture(scope="module")
def ha_tinh_keys(ca: Credentials) -> Credentials:
    return issue_signing_cert(ca, "UBND tinh Ha Tinh")


@pytest.fixture
def ha_tinh(ca: Credentials, ha_tinh_keys: Credentials) -> FakePartner:
    return FakePartner(
        organ=HA_TINH, signing=ha_tinh_keys, trust=Trust(roots=(ca.cert,)), token=PARTNER_TOKEN
    )


@pytest.fixture
def nghe_an(ca: Credentials, nghe_an_keys: Credentials, ha_tinh: FakePartner) -> FakePartner:
    """The sending side: sends to Hà Tĩnh and accepts whatever token Hà Tĩnh presents."""
    nghe_an = FakePartner(
        organ=NGHE_AN,
        signing=nghe_an_keys,
        trust=Trust(roots=(ca.cert,)),
        peer=httpx.ASGITransport(app=ha_tinh.app),
        peer_token=PARTNER_TOKEN,
    )
    ha_tinh.peer = httpx.ASGITransport(app=nghe_an.app)
    ha_tinh.peer_token = "token-issued-to-ha-tinh"
    return nghe_an


def decision(number: str = "42", business: Business | None = None) -> EdxmlMessage:
    return EdxmlMessage(
        sender=NGHE_AN,
        recipients=(HA_TINH, Organization(organ_id="000.00.00.G12", organ_name="Bộ Nội vụ")),
        code=Code(code_number=number, code_notation="QĐ-UBND"),
        promulgation=PromulgationInfo(place="Nghệ An", promulgation_date=date(2026, 9, 1)),
        document_type=DocumentType(type=1, type_name="Quyết định"),
        subject=SUBJECT,
        signer=SignerInfo(
            competence="TM. Ủy ban nhân dân", position="Chủ tịch", full_name="Nguyễn Đức Trung"
        ),
        other_info=OtherInfo(priority=Priority.FLASH, page_amount=4),
        business=business or Business(),
        trace=(TraceHeader(organ_id=NGHE_AN.organ_id, timestamp=datetime(2026, 9, 1, 8, 0, tzinfo=VN_TZ)),),
        attachments=(
            Attachment(
                name="42-QD-UBND.pdf",
                content_type="application/pdf",
                content=b"%PDF-1.7\n\x00\xff" * 64,
                content_id="qd-42",
            ),
        ),
    )


async def test_partner_accepts_a_signed_document(nghe_an: FakePartner, ha_tinh: FakePartner) -> None:
    status, body = await nghe_an.send_document(decision())

    assert status == 202
    assert body == {"document_id": "000.00.00.H41,2026/09/01,42/QĐ-UBND"}
    assert ha_tinh.documents == [decision()]
    received = ha_tinh.received[0]
    assert received.token == PARTNER_TOKEN
    assert received.signer == nghe_an.signing.cert
    assert received.xml == nghe_an.sent[0][0]  # byte for byte what was sent


async def test_the_wire_format_is_our_binding(ha_tinh: FakePartner, nghe_an_keys: Credentials) -> None:
    signed = sign(to_xml(decision()), nghe_an_keys.key, nghe_an_keys.cert)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ha_tinh.app), base_url="http://ha-tinh"
    ) as client:
        response = await client.post(
            "/api/v1/exchange/edxml",
            content=signed,
            headers={"Content-Type": "application/xml", "Authorization": f"Bearer {PARTNER_TOKEN}"},
        )

    assert response.status_code == 202
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"document_id": decision().document_id}


async def test_partner_refuses_a_tampered_signature(ha_tinh: FakePartner, nghe_an_keys: Credentials) -> None:
    signed = sign(to_xml(decision()), nghe_an_keys.key, nghe_an_keys.cert)
    tampered = signed.replace("phòng chống lụt bão".encode(), "phòng chống hạn hán".encode())

    status, body = await post_edxml(httpx.ASGITransport(app=ha_tinh.app), tampered, PARTNER_TOKEN)

    assert status == 422
    assert body["code"] == "edxml.signature_digest"
    assert body["status"] == 422
    assert body["type"] == "urn:egov:problem:edxml.signature_digest"
    assert ha_tinh.received == []


async def test_partner_refuses_an_unsigned_document(ha_tinh: FakePartner) -> None:
    transport = httpx.ASGITransport(app=ha_tinh.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ha-tinh") as client:
        response = await client.post(
            EDXML_PATH,
            content=to_xml(decision()),
            headers={"Content-Type": "application/xml", "Authorization": f"Bearer {PARTNER_TOKEN}"},
        )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "edxml.signature_missing"
    assert ha_tinh.received == []


async def test_partner_refuses_a_signer_it_does_not_trust(ha_tinh: FakePartner) -> None:
    impostor = issue_signing_cert(make_ca("Self-made CA"), "UBND tinh Nghe An")
    forged = sign(to_xml(decision()), impostor.key, impostor.cert)

    status, body = await post_edxml(httpx.ASGITransport(app=ha_tinh.app), forged, PARTNER_TOKEN)

    assert (status, body["code"]) == (422, "edxml.signer_untrusted")
    assert ha_tinh.received == []


async def test_partner_refuses_a_document_not_addressed_to_it(
    ha_tinh: FakePartner, nghe_an_keys: Credentials
) -> None:
    elsewhere = decision().model_copy(
        update={"recipients": (Organization(organ_id="000.00.00.H40", organ_name="UBND tỉnh Thanh Hóa"),)}
    )
    signed = sign(to_xml(elsewhere), nghe_an_keys.key, nghe_an_keys.cert)

    status, body = await post_edxml(httpx.ASGITransport(app=ha_tinh.app), signed, PARTNER_TOKEN)

    assert (status, body["code"]) == (422, "edxml.not_addressed")
    assert ha_tinh.received == []


async def test_partner_wants_the_bearer_token(ha_tinh: FakePartner, nghe_an_keys: Credentials) -> None:
    signed = sign(to_xml(decision()), nghe_an_keys.key, nghe_an_keys.cert)
    transport = httpx.ASGITransport(app=ha_tinh.app)

    status, body = await post_edxml(transport, signed, "someone-elses-token")
    assert (status, body["code"]) == (401, "auth.invalid_token")

    async with httpx.AsyncClient(transport=transport, base_url="http://ha-tinh") as client:
        response = await client.post(EDXML_PATH, content=signed, headers={"Content-Type": "application/xml"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert ha_tinh.received == []


async def test_partner_without_a_configured_token_accepts_any_and_records_it(
    ca: Credentials, ha_tinh_keys: Credentials, nghe_an_keys: Credentials
) -> None:
    open_partner = FakePartner(organ=HA_TINH, signing=ha_tinh_keys, trust=Trust(roots=(ca.cert,)))
    signed = sign(to_xml(decision()), nghe_an_keys.key, nghe_an_keys.cert)

    status, _ = await post_edxml(httpx.ASGITransport(app=open_partner.app), signed, "whatever-token")

    assert status == 202
    assert open_partner.received[0].token == "whatever-token"


async def test_partner_wants_application_xml(ha_tinh: FakePartner, nghe_an_keys: Credentials) -> None:
    signed = sign(to_xml(decision()), nghe_an_keys.key, nghe_an_keys.cert)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ha_tinh.app), base_url="http://h"
    ) as client:
        response = await client.post(
            EDXML_PATH,
            content=signed,
            headers={"Content-Type": "text/plain", "Authorization": f"Bearer {PARTNER_TOKEN}"},
        )

    assert response.status_code == 415
    assert ha_tinh.received == []


async def test_partner_refuses_an_oversize_body(
    ca: Credentials, ha_tinh_keys: Credentials, nghe_an_keys: Credentials
) -> None:
    small = FakePartner(
        organ=HA_TINH,
        signing=ha_tinh_keys,
        trust=Trust(roots=(ca.cert,)),
        token=PARTNER_TOKEN,
        max_bytes=4096,
    )
    signed = sign(to_xml(decision()), nghe_an_keys.key, nghe_an_keys.cert)
    assert len(signed) > 4096

    status, body = await post_edxml(httpx.ASGITransport(app=small.app), signed, PARTNER_TOKEN)

    assert (status, body["code"]) == (413, "edxml.too_large")
    assert small.received == []


async def test_partner_refuses_an_entity_bomb(ha_tinh: FakePartner) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&b;</edXML>'
    )
    status, body = await post_edxml(httpx.ASGITransport(app=ha_tinh.app), bomb, PARTNER_TOKEN)

    assert (status, body["code"]) == (422, "edxml.doctype")


async def test_a_repeated_delivery_is_accepted_once(nghe_an: FakePartner, ha_tinh: FakePartner) -> None:
    first = await nghe_an.send_document(decision())
    again = await nghe_an.send_document(decision())
    revocation = await nghe_an.send_document(
        decision(business=Business(doc_type=BusinessDocType.REVOKE, reason="Ban hành nhầm"))
    )

    assert first == again == revocation == (202, {"document_id": decision().document_id})
    assert [d.business.doc_type for d in ha_tinh.documents] == [BusinessDocType.NEW, BusinessDocType.REVOKE]


async def test_status_messages_flow_back_to_the_sender(nghe_an: FakePartner, ha_tinh: FakePartner) -> None:
    await nghe_an.send_document(decision())
    document_id = ha_tinh.documents[0].document_id

    arrived = await ha_tinh.send_status(document_id, StatusCode.ARRIVED)
    received = await ha_tinh.send_status(
        document_id,
        "03",
        "Văn thư đã vào sổ, số đến 1024",
        staff=StaffInfo(department="Văn thư", staff="Nguyễn Thị Ngọc Trâm"),
    )

    assert arrived == received == (202, {"document_id": document_id})
    reports = nghe_an.statuses
    assert [s.status_code for s in reports] == [StatusCode.ARRIVED, StatusCode.RECEIVED]
    assert reports[0].description == "Đã đến"
    assert reports[1].description == "Văn thư đã vào sổ, số đến 1024"
    assert reports[1].staff_info == StaffInfo(department="Văn thư", staff="Nguyễn Thị Ngọc Trâm")
    for report in reports:
        assert report.sender == HA_TINH
        assert report.response_for.document_id == document_id
        assert report.response_for.organ_id == NGHE_AN.organ_id
        assert report.response_for.code == "42/QĐ-UBND"
        assert report.response_for.promulgation_date == date(2026, 9, 1)
    assert nghe_an.received[0].signer == ha_tinh.signing.cert
    assert nghe_an.received[0].token == "token-issued-to-ha-tinh"


async def test_a_refusal_status_carries_its_reason(nghe_an: FakePartner, ha_tinh: FakePartner) -> None:
    await nghe_an.send_document(decision())

    status, _ = await ha_tinh.send_status(decision().document_id, StatusCode.REFUSED, "Không đúng thẩm quyền")

    assert status == 202
    assert nghe_an.statuses[0].status_code is StatusCode.REFUSED
    assert nghe_an.statuses[0].description == "Không đúng thẩm quyền"
    with pytest.raises(ValueError, match="reason"):
        await ha_tinh.send_status(decision().document_id, StatusCode.REFUSED)


async def test_status_about_someone_elses_document_is_refused(
    nghe_an: FakePartner, ha_tinh: FakePartner
) -> None:
    status, body = await ha_tinh.send_status("000.00.00.H40,2026/09/01,7/UBND-VP", StatusCode.RECEIVED)

    assert (status, body["code"]) == (422, "edxml.not_addressed")
    assert nghe_an.received == []


async def test_post_edxml_reuses_a_client_the_caller_owns(
    ha_tinh: FakePartner, nghe_an_keys: Credentials
) -> None:
    signed = sign(to_xml(decision()), nghe_an_keys.key, nghe_an_keys.cert)
    transport = httpx.ASGITransport(app=ha_tinh.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ha-tinh") as client:
        first = await post_edxml(client, signed, PARTNER_TOKEN, request_id="req-1")
        assert not client.is_closed
        second = await post_edxml(client, b"<oops", PARTNER_TOKEN)

    assert first == (202, {"document_id": decision().document_id})
    assert second[0] == 422
    assert second[1]["code"] == "edxml.not_xml"
    assert len(ha_tinh.received) == 1
