"""edXML documents and status messages: the model's rules and a lossless build -> parse round trip."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from egov_document.exchange import (
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
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusMessage,
    TraceHeader,
    format_document_id,
    parse,
    parse_any,
    parse_document_id,
    parse_status,
    to_xml,
)

SUBJECT = "Quyết định về việc phê duyệt Kế hoạch chuyển đổi số tỉnh Nghệ An năm 2026"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) + b"\n%%EOF\n"


def nghe_an() -> Organization:
    return Organization(
        organ_id="000.00.00.H41",
        organ_name="Ủy ban nhân dân tỉnh Nghệ An",
        organization_in_charge="Văn phòng UBND tỉnh",
        organ_add="Số 03, đường Trường Thi, Thành phố Vinh, Nghệ An",
        email="vanthu@nghean.gov.vn",
        telephone="0238 3840418",
        fax="0238 3843049",
        website="https://nghean.gov.vn",
    )


def full_document() -> EdxmlMessage:
    """A realistic decision, every optional part filled in, so the round trip has something to lose."""
    return EdxmlMessage(
        sender=nghe_an(),
        recipients=(
            Organization(organ_id="000.00.00.G12", organ_name="Bộ Nội vụ"),
            Organization(
                organ_id="000.00.00.H23", organ_name="Ủy ban nhân dân tỉnh Hà Tĩnh", email="ht@gov.vn"
            ),
        ),
        code=Code(code_number="15", code_notation="QĐ-UBND"),
        promulgation=PromulgationInfo(place="Nghệ An", promulgation_date=date(2026, 3, 9)),
        document_type=DocumentType(type=1, type_name="Quyết định", type_detail=2),
        subject=SUBJECT,
        content="Phê duyệt kế hoạch; giao Sở Khoa học và Công nghệ chủ trì.",
        signer=SignerInfo(competence="KT. Chủ tịch", position="Phó Chủ tịch", full_name="Lê Hồng Vinh"),
        due_date=date(2026, 3, 20),
        to_places=("Bộ Nội vụ", "UBND tỉnh Hà Tĩnh"),
        other_info=OtherInfo(
            priority=Priority.FLASH,
            page_amount=3,
            sphere_of_promulgation="Liên thông văn bản quốc gia",
            typer_notation="TVC",
            promulgation_amount=5,
            appendixes=("Phụ lục I: Danh mục nhiệm vụ", "Phụ lục II: Kinh phí"),
        ),
        response_for=(
            ResponseFor(
                organ_id="000.00.00.G12",
                code="120/BNV-CQĐP",
                promulgation_date=date(2026, 2, 1),
                document_id="000.00.00.G12,2026/02/01,120/BNV-CQĐP",
            ),
        ),
        steering_type=1,
        business=Business(
            doc_type=BusinessDocType.NEW,
            paper=1,
            staff_info=StaffInfo(
                department="Phòng Hành chính - Tổ chức", staff="Trần Thị Mai", mobile="0912000001"
            ),
        ),
        trace=(
            TraceHeader(organ_id="000.00.00.H41", timestamp=datetime(2026, 3, 9, 14, 30, 5, tzinfo=VN_TZ)),
        ),
        attachments=(
            Attachment(
                name="15-QD-UBND.pdf",
                content_type="application/pdf",
                content=PDF,
                description="Quyết định đã ký số",
            ),
        ),
    )


def test_round_trip_preserves_every_field() -> None:
    document = full_document()

    xml = to_xml(document)
    parsed = parse(xml)

    assert parsed == document
    assert parsed.model_dump() == document.model_dump()  # field by field, bytes included
    assert parsed.attachments[0].content == PDF
    assert parsed.other_info.priority is Priority.FLASH
    assert [r.organ_id for r in parsed.recipients] == ["000.00.00.G12", "000.00.00.H23"]


def test_xml_is_utf8_with_vietnamese_text_intact() -> None:
    xml = to_xml(full_document())

    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert f"<Subject>{SUBJECT}</Subject>".encode() in xml
    assert "<CodeNotation>QĐ-UBND</CodeNotation>".encode() in xml
    assert b"<Priority>3</Priority>" in xml
    assert b"<PromulgationDate>2026/03/09</PromulgationDate>" in xml
    assert b"<Timestamp>2026/03/09 14:30:05</Timestamp>" in xml
    assert b'xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"' in xml


def test_text_is_stored_and_written_as_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", SUBJECT)
    assert decomposed != SUBJECT

    document = full_document().model_copy(update={"subject": decomposed})
    document = EdxmlMessage.model_validate(document.model_dump())

    assert document.subject == SUBJECT
    assert SUBJECT.encode() in to_xml(document)


def test_document_id_follows_the_national_format() -> None:
    document = full_document()

    assert document.document_id == "000.00.00.H41,2026/03/09,15/QĐ-UBND"
    assert (
        format_document_id("000.00.04.G14", date(2012, 8, 6), "267", "VPCP-TTĐT")
        == "000.00.04.G14,2012/08/06,267/VPCP-TTĐT"
    )
    parts = parse_document_id("000.00.04.G14,2012/08/06,267/VPCP-TTĐT")
    assert (parts.organ_id, parts.promulgation_date, parts.code_number, parts.code_notation) == (
        "000.00.04.G14",
        date(2012, 8, 6),
        "267",
        "VPCP-TTĐT",
    )


@pytest.mark.parametrize(
    "bad",
    [
        "000.00.04.G14,2012/8/6,267/VPCP-TTĐT",  # date not zero padded
        "000.00.04.G14,06/08/2012,267/VPCP-TTĐT",  # day first
        "000.00.04.G14,2012/08/06,267",  # no notation
        "000.00.04.G14;2012/08/06;267/VPCP-TTĐT",  # wrong separator
        "000.00.04.G14,2012/02/30,267/VPCP-TTĐT",  # no such day
    ],
)
def test_malformed_document_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="DocumentId|date"):
        parse_document_id(bad)


def test_timestamps_are_kept_in_vietnam_time_to_the_second() -> None:
    trace = TraceHeader(organ_id="000.00.00.H41", timestamp=datetime(2026, 3, 9, 7, 30, 5, 999, tzinfo=UTC))

    assert trace.timestamp == datetime(2026, 3, 9, 14, 30, 5, tzinfo=VN_TZ)
    assert trace.timestamp.utcoffset() == VN_TZ.utcoffset(None)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError):
        TraceHeader(organ_id="000.00.00.H41", timestamp=datetime(2026, 3, 9, 14, 30))


def test_priority_is_0_to_4() -> None:
    assert OtherInfo(priority=4).priority is Priority.FLASH_SCHEDULED
    with pytest.raises(ValidationError):
        OtherInfo(priority=5)


@pytest.mark.parametrize(
    "doc_type", [BusinessDocType.REVOKE, BusinessDocType.UPDATE, BusinessDocType.REPLACE]
)
def test_revoke_update_replace_need_a_reason(doc_type: BusinessDocType) -> None:
    with pytest.raises(ValidationError, match="BussinessDocReason"):
        Business(doc_type=doc_type)
    assert Business(doc_type=doc_type, reason="Sai sót về thể thức").reason == "Sai sót về thể thức"


def test_a_revocation_round_trips_with_its_reason() -> None:
    revocation = full_document().model_copy(
        update={"business": Business(doc_type=BusinessDocType.REVOKE, reason="Ban hành nhầm đối tượng")}
    )

    parsed = parse(to_xml(revocation))

    assert parsed.business.doc_type is BusinessDocType.REVOKE
    assert parsed.business.reason == "Ban hành nhầm đối tượng"
    assert parsed.document_id == revocation.document_id


def test_field_limits_from_the_clerical_rules() -> None:
    with pytest.raises(ValidationError):
        Code(code_number="123456789012", code_notation="QĐ-UBND")  # number over 11 characters
    with pytest.raises(ValidationError):
        Code(code_number="15", code_notation="X" * 31)  # notation over 30 characters
    with pytest.raises(ValidationError):
        full_document().model_validate({**full_document().model_dump(), "subject": "a" * 501})
    with pytest.raises(ValidationError):
        Organization(organ_id="000.00.00.H41,x", organ_name="Comma would break the DocumentId")
    with pytest.raises(ValidationError):
        Organization(organ_id="000.00.00.H41", organ_name="Bell\x07")


def test_a_document_needs_recipients_and_a_trace() -> None:
    data = full_document().model_dump()
    with pytest.raises(ValidationError):
        EdxmlMessage.model_validate({**data, "recipients": []})
    with pytest.raises(ValidationError):
        EdxmlMessage.model_validate({**data, "trace": []})


def status(code: StatusCode, description: str | None) -> StatusMessage:
    return StatusMessage(
        response_for=ResponseFor.from_document_id("000.00.00.H41,2026/03/09,15/QĐ-UBND"),
        sender=Organization(organ_id="000.00.00.H23", organ_name="Ủy ban nhân dân tỉnh Hà Tĩnh"),
        status_code=code,
        description=description,
        timestamp=datetime(2026, 3, 9, 15, 0, 0, tzinfo=VN_TZ),
        staff_info=StaffInfo(
            department="Văn thư", staff="Nguyễn Thị Ngọc Trâm", email="vanthu@hatinh.gov.vn"
        ),
    )


def test_status_message_round_trip() -> None:
    message = status(StatusCode.RECEIVED, "Văn thư đã tiếp nhận, số đến 1024")

    xml = to_xml(message)
    parsed = parse_status(xml)

    assert parsed == message
    assert parsed.document_id == "000.00.00.H41,2026/03/09,15/QĐ-UBND"
    assert parsed.response_for.code == "15/QĐ-UBND"
    assert parse_any(xml) == message
    assert b"<StatusCode>03</StatusCode>" in xml
    assert b"<MessageHeader>" not in xml


def test_refusal_requires_a_reason() -> None:
    with pytest.raises(ValidationError, match="reason"):
        status(StatusCode.REFUSED, None)
    with pytest.raises(ValidationError, match="reason"):
        status(StatusCode.REFUSED, "   ")
    refused = status(StatusCode.REFUSED, "Không đúng thẩm quyền giải quyết")
    assert parse_status(to_xml(refused)).description == "Không đúng thẩm quyền giải quyết"


def test_every_status_code_round_trips() -> None:
    for code in StatusCode:
        assert parse_status(to_xml(status(code, "Mô tả"))).status_code is code
