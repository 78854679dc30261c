"""Parsing refuses every malformed or hostile message with a clear reason, and never expands entities."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from egov_document.exchange import (
    NAMESPACE,
    VN_TZ,
    Attachment,
    Code,
    DocumentType,
    EdxmlError,
    EdxmlMessage,
    Organization,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StatusCode,
    StatusMessage,
    TraceHeader,
    parse,
    parse_status,
    to_xml,
)


def document() -> EdxmlMessage:
    return EdxmlMessage(
        sender=Organization(organ_id="000.00.00.H41", organ_name="Ủy ban nhân dân tỉnh Nghệ An"),
        recipients=(Organization(organ_id="000.00.00.H23", organ_name="Ủy ban nhân dân tỉnh Hà Tĩnh"),),
        code=Code(code_number="15", code_notation="QĐ-UBND"),
        promulgation=PromulgationInfo(place="Nghệ An", promulgation_date=date(2026, 3, 9)),
        document_type=DocumentType(type=1, type_name="Quyết định"),
        subject="Quyết định về việc phê duyệt Đề án",
        signer=SignerInfo(position="Chủ tịch", full_name="Nguyễn Đức Trung"),
        trace=(TraceHeader(organ_id="000.00.00.H41", timestamp=datetime(2026, 3, 9, 9, 0, tzinfo=VN_TZ)),),
        attachments=(
            Attachment(
                name="qd.pdf", content_type="application/pdf", content=b"%PDF-1.4 test", content_id="qd-1"
            ),
        ),
    )


@pytest.fixture
def xml() -> bytes:
    return to_xml(document())


def refuse(xml: bytes, code: str, reason: str = "", **kwargs: int) -> EdxmlError:
    with pytest.raises(EdxmlError) as caught:
        parse(xml, **kwargs)
    assert caught.value.code == code, caught.value.reason
    assert re.search(reason, caught.value.reason), caught.value.reason
    return caught.value


def drop(xml: bytes, element: str) -> bytes:
    changed, count = re.subn(rf"\s*<{element}(\s[^>]*)?>.*?</{element}>".encode(), b"", xml, flags=re.S)
    assert count, f"{element} not in the message"
    return changed


def swap(xml: bytes, old: str, new: str) -> bytes:
    assert old.encode() in xml, old
    return xml.replace(old.encode(), new.encode())


def test_the_fixture_itself_parses(xml: bytes) -> None:
    assert parse(xml) == document()


@pytest.mark.parametrize("body", [b"", b"   ", b"not xml at all", b"<edXML><unclosed></edXML>", b"\x00\x01"])
def test_not_xml(body: bytes) -> None:
    refuse(body, "edxml.not_xml")


def test_wrong_namespace(xml: bytes) -> None:
    refuse(swap(xml, NAMESPACE, "http://www.go.vn/eDoc"), "edxml.wrong_root", "namespace")


def test_no_namespace() -> None:
    refuse(b"<edXML><edXMLEnvelope/></edXML>", "edxml.wrong_root", r"\(none\)")


def test_wrong_root() -> None:
    refuse(f'<EdXMLEnvelope xmlns="{NAMESPACE}"/>'.encode(), "edxml.wrong_root", "EdXMLEnvelope")


@pytest.mark.parametrize(
    ("element", "reason"),
    [
        ("From", "MessageHeader/From is missing"),
        ("To", "MessageHeader/To is missing"),
        ("Code", "MessageHeader/Code is missing"),
        ("PromulgationInfo", "PromulgationInfo is missing"),
        ("DocumentType", "DocumentType is missing"),
        ("Subject", "Subject is missing"),
        ("SignerInfo", "SignerInfo is missing"),
        ("DocumentId", "DocumentId is missing"),
        ("TraceHeaderList", "TraceHeaderList is missing"),
        ("TraceHeader", "TraceHeader is missing"),
        ("MessageHeader", "MessageHeader is missing"),
        ("CodeNumber", "Code/CodeNumber is missing"),
        ("OrganName", "From/OrganName is missing"),
    ],
)
def test_missing_header_parts(xml: bytes, element: str, reason: str) -> None:
    refuse(drop(xml, element), "edxml.missing", reason)


def test_empty_subject(xml: bytes) -> None:
    refuse(re.sub(rb"<Subject>.*?</Subject>", b"<Subject>  </Subject>", xml), "edxml.missing", "Subject")


def test_duplicated_subject(xml: bytes) -> None:
    twice = re.sub(rb"(<Subject>.*?</Subject>)", rb"\1\1", xml)
    refuse(twice, "edxml.invalid", "Subject appears 2 times")


@pytest.mark.parametrize(
    "bad_id",
    [
        "15/QĐ-UBND",
        "000.00.00.H41,09/03/2026,15/QĐ-UBND",
        "000.00.00.H41,2026/03/09,15",
        "",
    ],
)
def test_bad_document_id(xml: bytes, bad_id: str) -> None:
    code = "edxml.missing" if not bad_id else "edxml.document_id"
    refuse(swap(xml, "000.00.00.H41,2026/03/09,15/QĐ-UBND", bad_id), code, "DocumentId")


def test_document_id_must_match_the_header(xml: bytes) -> None:
    other = swap(xml, "000.00.00.H41,2026/03/09,15/QĐ-UBND", "000.00.00.H41,2026/03/10,15/QĐ-UBND")
    refuse(other, "edxml.document_id", "does not match")


def test_bad_document_id_in_response_for() -> None:
    answer = document().model_copy(
        update={
            "response_for": (
                ResponseFor(
                    organ_id="000.00.00.H23",
                    code="7/UBND-VP",
                    promulgation_date=date(2026, 1, 5),
                    document_id="000.00.00.H23,2026/01/05,7/UBND-VP",
                ),
            )
        }
    )
    xml = swap(to_xml(answer), "000.00.00.H23,2026/01/05,7/UBND-VP", "H23-7-UBND")
    refuse(xml, "edxml.document_id", "ResponseFor")


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("<PromulgationDate>2026/03/09", "<PromulgationDate>09/03/2026", "PromulgationDate"),
        ("<PromulgationDate>2026/03/09", "<PromulgationDate>2026-03-09", "PromulgationDate"),
        ("<PromulgationDate>2026/03/09", "<PromulgationDate>2026/02/30", "does not exist"),
        ("<Timestamp>2026/03/09 09:00:00", "<Timestamp>2026-03-09T09:00:00+07:00", "Timestamp"),
        ("<Timestamp>2026/03/09 09:00:00", "<Timestamp>2026/03/09 25:00:00", "Timestamp"),
    ],
)
def test_bad_dates(xml: bytes, old: str, new: str, where: str) -> None:
    refuse(swap(xml, old, new), "edxml.date", where)


def test_bad_due_date(xml: bytes) -> None:
    with_due = swap(xml, "</SignerInfo>", "</SignerInfo><DueDate>tomorrow</DueDate>")
    refuse(with_due, "edxml.date", "DueDate")


@pytest.mark.parametrize("payload", ["!!!not base64!!!", "JVBERi0xLjQgdGVzdA=", "JVBERi0x!LjQgdGVzdA=="])
def test_bad_base64(xml: bytes, payload: str) -> None:
    bad = re.sub(
        rb"<ContentTransferEncoded>.*?</ContentTransferEncoded>",
        f"<ContentTransferEncoded>{payload}</ContentTransferEncoded>".encode(),
        xml,
    )
    refuse(bad, "edxml.base64", "ContentTransferEncoded")


def test_base64_may_be_wrapped_over_lines(xml: bytes) -> None:
    wrapped = swap(xml, "JVBERi0xLjQgdGVzdA==", "JVBERi0x\n  LjQgdGVzdA==\n")
    assert parse(wrapped).attachments[0].content == b"%PDF-1.4 test"


def test_attachment_missing_from_manifest(xml: bytes) -> None:
    refuse(drop(xml, "edXMLManifest"), "edxml.attachment", "not listed in edXMLManifest")


def test_manifest_names_an_absent_attachment(xml: bytes) -> None:
    refuse(drop(xml, "AttachmentEncoded"), "edxml.attachment", "absent")


def test_manifest_and_attachment_disagree(xml: bytes) -> None:
    renamed = xml.replace(
        b"<AttachmentName>qd.pdf</AttachmentName>", b"<AttachmentName>x.pdf</AttachmentName>", 1
    )
    refuse(renamed, "edxml.attachment", "differs from the manifest")


def test_values_out_of_range(xml: bytes) -> None:
    refuse(
        swap(xml, "<Priority>0</Priority>", "<Priority>7</Priority>"), "edxml.invalid", "OtherInfo/Priority"
    )
    refuse(swap(xml, "<Type>1</Type>", "<Type>one</Type>"), "edxml.invalid", "not a whole number")
    refuse(
        swap(xml, "<BussinessDocType>0</BussinessDocType>", "<BussinessDocType>1</BussinessDocType>"),
        "edxml.invalid",
        "BussinessDocReason",
    )


def test_oversize_message_is_refused_before_parsing(xml: bytes) -> None:
    refuse(xml, "edxml.too_large", f"{len(xml)} bytes", max_bytes=len(xml) - 1)
    assert parse(xml, max_bytes=len(xml)) == document()


def test_other_encodings_are_refused(xml: bytes) -> None:
    latin = swap(xml, 'encoding="UTF-8"', 'encoding="ISO-8859-1"')
    refuse(latin, "edxml.encoding", "UTF-8")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader><MessageHeader>
<Subject>&lol9;</Subject></MessageHeader></edXMLHeader></edXMLEnvelope></edXML>
"""


def test_billion_laughs_is_refused() -> None:
    error = refuse(BILLION_LAUGHS, "edxml.doctype", "DOCTYPE")
    assert "lol" not in error.reason


def test_external_entity_is_refused(tmp_path: pytest.TempPathFactory) -> None:
    secret = b"SECRET-FROM-DISK"
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader>'
        b"<MessageHeader><Subject>&x;</Subject></MessageHeader></edXMLHeader></edXMLEnvelope></edXML>"
    )
    error = refuse(xxe, "edxml.doctype")
    assert secret not in error.reason.encode()


def test_parameter_entity_to_the_network_is_refused() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>'
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>'
    )
    refuse(xxe, "edxml.doctype")


def test_a_plain_doctype_is_refused_too(xml: bytes) -> None:
    with_doctype = swap(xml, "<edXML ", "<!DOCTYPE edXML>\n<edXML ")
    refuse(with_doctype, "edxml.doctype")


def test_a_document_is_not_a_status_and_back(xml: bytes) -> None:
    status = StatusMessage(
        response_for=ResponseFor.from_document_id(document().document_id),
        sender=Organization(organ_id="000.00.00.H23", organ_name="Ủy ban nhân dân tỉnh Hà Tĩnh"),
        status_code=StatusCode.ARRIVED,
        timestamp=datetime(2026, 3, 9, 10, 0, tzinfo=VN_TZ),
    )
    refuse(to_xml(status), "edxml.not_document")
    with pytest.raises(EdxmlError) as caught:
        parse_status(xml)
    assert caught.value.code == "edxml.not_status"


def test_status_with_unknown_code_or_no_reason() -> None:
    status = StatusMessage(
        response_for=ResponseFor.from_document_id(document().document_id),
        sender=Organization(organ_id="000.00.00.H23", organ_name="Ủy ban nhân dân tỉnh Hà Tĩnh"),
        status_code=StatusCode.ARRIVED,
        timestamp=datetime(2026, 3, 9, 10, 0, tzinfo=VN_TZ),
    )
    xml = to_xml(status)
    for code, reason in ((b"99", "Status/StatusCode"), (b"02", "reason")):
        with pytest.raises(EdxmlError) as caught:
            parse_status(
                xml.replace(b"<StatusCode>01</StatusCode>", b"<StatusCode>" + code + b"</StatusCode>")
            )
        assert caught.value.code == "edxml.invalid"
        assert reason in caught.value.reason


def test_unknown_vendor_elements_are_ignored(xml: bytes) -> None:
    extended = swap(
        xml, "<OrganId>000.00.00.H41</OrganId>", "<OrganId>000.00.00.H41</OrganId><Fax/><Vendor>x</Vendor>"
    )
    assert parse(extended) == document()
