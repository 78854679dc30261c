"""The enveloped XML signature: what it covers, and every way verification must fail."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from egov_document.exchange import (
    VN_TZ,
    Attachment,
    Code,
    DocumentType,
    EdxmlError,
    EdxmlMessage,
    Organization,
    PromulgationInfo,
    ResponseFor,
    SignatureInvalid,
    SignerInfo,
    StatusCode,
    StatusMessage,
    TraceHeader,
    Trust,
    sign,
    to_xml,
    verify,
)
from egov_document.exchange.devpki import Credentials, issue_signing_cert, make_ca

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
SUBJECT = "Quyết định về việc phê duyệt Kế hoạch cải cách hành chính năm 2026"


@pytest.fixture(scope="module")
def ca() -> Credentials:
    return make_ca("Nghe An Test CA")


@pytest.fixture(scope="module")
def signer(ca: Credentials) -> Credentials:
    return issue_signing_cert(ca, "UBND tinh Nghe An", organization="Ủy ban nhân dân tỉnh Nghệ An")


@pytest.fixture(scope="module")
def stranger() -> Credentials:
    return issue_signing_cert(
        make_ca("Some Other CA"), "UBND tinh Nghe An", organization="Ủy ban nhân dân tỉnh Nghệ An"
    )


def document() -> EdxmlMessage:
    return EdxmlMessage(
        sender=Organization(organ_id="000.00.00.H41", organ_name="Ủy ban nhân dân tỉnh Nghệ An"),
        recipients=(
            Organization(organ_id="000.00.00.H23", organ_name="Ủy ban nhân dân tỉnh Hà Tĩnh"),
            Organization(organ_id="000.00.00.H40", organ_name="Ủy ban nhân dân tỉnh Thanh Hóa"),
        ),
        code=Code(code_number="21", code_notation="QĐ-UBND"),
        promulgation=PromulgationInfo(place="Nghệ An", promulgation_date=date(2026, 3, 9)),
        document_type=DocumentType(type=1, type_name="Quyết định"),
        subject=SUBJECT,
        signer=SignerInfo(position="Chủ tịch", full_name="Nguyễn Đức Trung"),
        trace=(TraceHeader(organ_id="000.00.00.H41", timestamp=datetime(2026, 3, 9, 9, 0, tzinfo=VN_TZ)),),
        attachments=(
            Attachment(name="21-QD-UBND.pdf", content_type="application/pdf", content=PDF, content_id="a1"),
        ),
    )


@pytest.fixture(scope="module")
def signed(signer: Credentials) -> bytes:
    return sign(to_xml(document()), signer.key, signer.cert, chain=signer.chain)


def refused(xml: bytes, trust: Trust, code: str, *, at: datetime | None = None) -> SignatureInvalid:
    with pytest.raises(SignatureInvalid) as caught:
        verify(xml, trust, at=at)
    assert caught.value.code == code, caught.value.reason
    return caught.value


def test_sign_then_verify_against_the_ca(signed: bytes, ca: Credentials, signer: Credentials) -> None:
    verified = verify(signed, Trust(roots=(ca.cert,)))

    assert verified.message == document()
    assert verified.signer == signer.cert
    assert SUBJECT.encode() in verified.signed_xml
    assert b"<ds:Signature" not in verified.signed_xml  # the signed bytes are the document without it


def test_verify_against_a_pinned_certificate(signed: bytes, signer: Credentials) -> None:
    assert verify(signed, Trust(pinned=(signer.cert,))).message == document()


def test_signature_sits_in_digital_signature_and_covers_the_whole_document(signed: bytes) -> None:
    assert re.search(
        rb"<DigitalSignature><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">", signed
    )
    signed_info = re.search(rb"<ds:SignedInfo>.*</ds:SignedInfo>", signed, re.S)
    assert signed_info is not None
    info = signed_info.group()
    assert b'<ds:Reference URI="">' in info
    assert b'Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"' in info
    assert b'Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"' in info
    assert b'Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"' in info
    assert b'Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"' in info
    assert b"<ds:X509Certificate>" in signed


def test_tampered_subject_is_detected(signed: bytes, ca: Credentials) -> None:
    tampered = signed.replace(SUBJECT.encode(), SUBJECT.replace("2026", "2027").encode())
    assert tampered != signed

    refused(tampered, Trust(roots=(ca.cert,)), "edxml.signature_digest")


def test_one_changed_attachment_byte_is_detected(signed: bytes, ca: Credentials) -> None:
    original = base64.b64encode(PDF)
    changed = bytearray(PDF)
    changed[100] ^= 0x01
    tampered = signed.replace(original, base64.b64encode(bytes(changed)))
    assert tampered != signed

    refused(tampered, Trust(roots=(ca.cert,)), "edxml.signature_digest")


def test_an_added_recipient_is_detected(signed: bytes, ca: Credentials) -> None:
    extra = b"<To><OrganId>000.00.00.H99</OrganId><OrganName>K\xe1\xba\xbb gi\xe1\xba\xa3</OrganName></To>"
    tampered = signed.replace(b"<Code>", extra + b"<Code>", 1)

    refused(tampered, Trust(roots=(ca.cert,)), "edxml.signature_digest")


def test_signer_from_another_ca_is_not_trusted(stranger: Credentials, ca: Credentials) -> None:
    forged = sign(to_xml(document()), stranger.key, stranger.cert)

    error = refused(forged, Trust(roots=(ca.cert,)), "edxml.signer_untrusted")
    assert "UBND tinh Nghe An" in error.reason


def test_certificate_not_among_the_pinned_is_not_trusted(stranger: Credentials, signer: Credentials) -> None:
    forged = sign(to_xml(document()), stranger.key, stranger.cert)

    refused(forged, Trust(pinned=(signer.cert,)), "edxml.signer_untrusted")


def test_no_trust_configured_trusts_nobody(signed: bytes) -> None:
    refused(signed, Trust(), "edxml.signer_untrusted")


def test_trusted_certificate_with_someone_elses_key_fails(
    stranger: Credentials, signer: Credentials, ca: Credentials
) -> None:
    # The attacker shows the real signer's certificate but can only sign with their own key.
    forged = sign(to_xml(document()), stranger.key, signer.cert)

    refused(forged, Trust(roots=(ca.cert,)), "edxml.signature_invalid")


def test_expired_signer_is_not_trusted(signed: bytes, ca: Credentials) -> None:
    later = datetime.now(UTC) + timedelta(days=400)

    refused(signed, Trust(roots=(ca.cert,)), "edxml.signer_untrusted", at=later)


def test_expired_pinned_certificate_is_not_trusted(signed: bytes, signer: Credentials) -> None:
    later = datetime.now(UTC) + timedelta(days=400)

    refused(signed, Trust(pinned=(signer.cert,)), "edxml.signer_untrusted", at=later)


def test_unsigned_message_is_refused(ca: Credentials) -> None:
    error = refused(to_xml(document()), Trust(roots=(ca.cert,)), "edxml.signature_missing")
    assert "not signed" in error.reason


def test_a_second_signature_is_refused(signed: bytes, ca: Credentials) -> None:
    signature = re.search(rb"<ds:Signature .*</ds:Signature>", signed, re.S)
    assert signature is not None
    doubled = signed.replace(b"</edXMLBody>", signature.group() + b"</edXMLBody>")

    refused(doubled, Trust(roots=(ca.cert,)), "edxml.signature_invalid")


def test_signature_moved_out_of_digital_signature_is_refused(signed: bytes, ca: Credentials) -> None:
    signature = re.search(rb"<ds:Signature .*</ds:Signature>", signed, re.S)
    assert signature is not None
    moved = signed.replace(signature.group(), b"").replace(
        b"</edXMLBody>", signature.group() + b"</edXMLBody>"
    )

    refused(moved, Trust(roots=(ca.cert,)), "edxml.signature_invalid")


def test_signature_over_a_part_only_is_refused(signed: bytes, ca: Credentials) -> None:
    partial = signed.replace(b'<ds:Reference URI="">', b'<ds:Reference URI="#header">')

    error = refused(partial, Trust(roots=(ca.cert,)), "edxml.signature_invalid")
    assert "whole document" in error.reason


def test_garbage_is_an_edxml_error_not_a_signature_error(ca: Credentials) -> None:
    with pytest.raises(EdxmlError) as caught:
        verify(b"<not-edxml/>", Trust(roots=(ca.cert,)))
    assert not isinstance(caught.value, SignatureInvalid)
    assert caught.value.code == "edxml.wrong_root"


def test_signing_twice_is_refused(signed: bytes, signer: Credentials) -> None:
    with pytest.raises(EdxmlError) as caught:
        sign(signed, signer.key, signer.cert)
    assert caught.value.code == "edxml.already_signed"


def test_pem_keys_and_certificates_are_accepted(signer: Credentials, ca: Credentials) -> None:
    signed = sign(to_xml(document()), signer.key_pem(), signer.cert_pem())
    trust = Trust.from_pem(roots=ca.cert_pem())

    assert verify(signed, trust).message == document()


def test_chain_through_an_intermediate_ca(ca: Credentials) -> None:
    intermediate = make_ca("Nghe An Issuing CA", issuer=ca)
    signer = issue_signing_cert(intermediate, "UBND tinh Nghe An")
    assert signer.chain == (intermediate.cert,)
    signed = sign(to_xml(document()), signer.key, signer.cert, chain=signer.chain)

    assert signed.count(b"<ds:X509Certificate>") == 2
    assert verify(signed, Trust(roots=(ca.cert,))).signer == signer.cert
    # Without the intermediate in X509Data the chain cannot be built from the root alone.
    bare = sign(to_xml(document()), signer.key, signer.cert)
    refused(bare, Trust(roots=(ca.cert,)), "edxml.signer_untrusted")


def test_signed_status_message_round_trip(signer: Credentials, ca: Credentials) -> None:
    status = StatusMessage(
        response_for=ResponseFor.from_document_id(document().document_id),
        sender=Organization(organ_id="000.00.00.H23", organ_name="Ủy ban nhân dân tỉnh Hà Tĩnh"),
        status_code=StatusCode.REFUSED,
        description="Văn bản không thuộc thẩm quyền",
        timestamp=datetime(2026, 3, 9, 10, 0, tzinfo=VN_TZ),
    )
    signed = sign(to_xml(status), signer.key, signer.cert)

    assert verify(signed, Trust(roots=(ca.cert,))).message == status
    refused(
        signed.replace("thẩm quyền".encode(), "thẩm  quyền".encode()),
        Trust(roots=(ca.cert,)),
        "edxml.signature_digest",
    )
