"""validate_pdf on any upload: a good signature, tampering (bytes flipped, truncation, content added in a later
revision), a foreign CA, an expired certificate, and files that are not signed PDFs at all. It never raises."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from reportlab.pdfgen import canvas

from egov_document.signing import DevelopmentCA, SigningIdentity, sign_pdf, validate_pdf
from egov_document.signing.samples import sample_decision_pdf

AGENCY_CODE = "000.00.00.H56"
AGENCY = "Ủy ban nhân dân tỉnh Thanh Hóa"
FEE_LINE = b"Fee: 100000 VND"


@pytest.fixture(scope="module")
def ca() -> DevelopmentCA:
    return DevelopmentCA.create()


@pytest.fixture(scope="module")
def agency(ca: DevelopmentCA) -> SigningIdentity:
    return ca.issue_agency(agency_code=AGENCY_CODE, agency_name=AGENCY)


def _receipt_pdf() -> bytes:
    """An uncompressed page whose text can be found in the file's bytes."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=(595, 842), pageCompression=0)
    page.setFont("Helvetica", 12)
    page.drawString(72, 760, FEE_LINE.decode())
    page.showPage()
    page.save()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def signed_receipt(agency: SigningIdentity) -> bytes:
    signed = sign_pdf(_receipt_pdf(), agency, field_name="agency", reason="Xác nhận")
    assert signed.count(FEE_LINE) == 1
    return signed


def test_a_good_signature_is_reported_valid_with_signer_and_time(
    ca: DevelopmentCA, agency: SigningIdentity
) -> None:
    signed_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    signed = sign_pdf(sample_decision_pdf(), agency, field_name="agency", signing_time=signed_at)
    report = validate_pdf(signed, [ca.certificate])
    assert report.valid, report.reasons
    assert report.reasons == []
    assert report.revocation == "not checked"
    [signature] = report.signatures
    assert signature.valid
    assert signature.signer == AGENCY
    assert signature.organization == AGENCY
    assert signature.agency_code == AGENCY_CODE
    assert signature.signing_time == signed_at
    assert signature.signing_time_source == "claimed by the signer"
    assert signature.profile == "PAdES B-B"
    assert signature.intact
    assert signature.trusted
    assert signature.coverage == "whole file"
    assert signature.certificate_valid_at_signing_time is True
    assert signature.revocation == "not checked"
    as_json = json.loads(json.dumps(report.as_dict()))
    assert as_json["signatures"][0]["signing_time"] == (signed_at + timedelta(hours=7)).strftime(
        "%Y-%m-%dT%H:%M:%S+07:00"
    )


def test_a_byte_changed_inside_the_signed_range_is_detected(ca: DevelopmentCA, signed_receipt: bytes) -> None:
    tampered = signed_receipt.replace(FEE_LINE, b"Fee: 900000 VND")
    assert len(tampered) == len(signed_receipt)
    report = validate_pdf(tampered, [ca.certificate])
    assert not report.valid
    [signature] = report.signatures
    assert not signature.intact
    assert any("altered" in reason for reason in report.reasons)


@pytest.mark.parametrize("keep", [0.5, 0.95, 0.1])
def test_a_truncated_file_is_reported_not_raised(
    ca: DevelopmentCA, signed_receipt: bytes, keep: float
) -> None:
    report = validate_pdf(signed_receipt[: int(len(signed_receipt) * keep)], [ca.certificate])
    assert not report.valid
    assert report.reasons


def test_page_content_added_in_a_later_revision_is_reported_as_modified_after_signing(
    ca: DevelopmentCA, signed_receipt: bytes
) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_receipt))
    overlay = generic.StreamObject(stream_data=b"BT /F1 24 Tf 300 760 Td (PAID) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(overlay))  # type: ignore[no-untyped-call]
    output = io.BytesIO()
    writer.write(output)  # type: ignore[no-untyped-call]
    modified = output.getvalue()
    assert modified.startswith(signed_receipt)  # an honest incremental update: the signed bytes are untouched

    report = validate_pdf(modified, [ca.certificate])
    assert not report.valid
    [signature] = report.signatures
    assert signature.intact  # the signed revision itself is fine...
    assert signature.modified_after_signing  # ...but the page changed after it
    assert signature.coverage == "up to its revision"
    assert any("modified after signing" in reason for reason in report.reasons)


def test_a_later_signature_alone_keeps_the_first_valid(
    ca: DevelopmentCA, agency: SigningIdentity, signed_receipt: bytes
) -> None:
    twice = sign_pdf(signed_receipt, agency, field_name="second")
    report = validate_pdf(twice, [ca.certificate])
    assert report.valid, report.reasons
    assert [s.coverage for s in report.signatures] == ["up to its revision", "whole file"]


def test_a_certificate_from_another_ca_is_not_trusted(ca: DevelopmentCA) -> None:
    stranger_ca = DevelopmentCA.create(common_name="Stranger Root CA", key_type="ec-p256")
    stranger = stranger_ca.issue_agency(agency_code=AGENCY_CODE, agency_name="Kẻ lạ", key_type="ec-p256")
    signed = sign_pdf(sample_decision_pdf(), stranger, field_name="agency")
    report = validate_pdf(signed, [ca.certificate])
    assert not report.valid
    [signature] = report.signatures
    assert signature.intact
    assert not signature.trusted
    assert "Stranger Root CA" in signature.trust
    assert any("not trusted" in reason and "Stranger Root CA" in reason for reason in report.reasons)
    # The same file is valid for whoever trusts that CA.
    assert validate_pdf(signed, [stranger_ca.certificate]).valid


def test_no_trust_roots_means_nothing_is_trusted(signed_receipt: bytes) -> None:
    report = validate_pdf(signed_receipt, [])
    assert not report.valid
    assert not report.signatures[0].trusted


def test_a_certificate_expired_since_signing_needs_a_time_proof(ca: DevelopmentCA) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=400)
    old = ca.issue_agency(
        agency_code=AGENCY_CODE,
        agency_name=AGENCY,
        key_type="ec-p256",
        valid_for=timedelta(days=30),
        now=long_ago,
    )
    signed_at = long_ago + timedelta(days=10)
    signed = sign_pdf(sample_decision_pdf(), old, field_name="agency", signing_time=signed_at)

    report = validate_pdf(signed, [ca.certificate])
    assert not report.valid
    [signature] = report.signatures
    assert signature.intact
    assert signature.certificate_valid_at_signing_time is True
    assert "expired" in signature.trust
    # The service may vouch for the time it recorded itself when it signed.
    assert validate_pdf(signed, [ca.certificate], at=signed_at).valid


@pytest.mark.parametrize(
    "data", [b"", b"hello world", b"\x89PNG\r\n\x1a\n\x00\x00", b"<html>%PDF-</html>"[:4]]
)
def test_what_is_not_a_pdf_is_reported_as_such(ca: DevelopmentCA, data: bytes) -> None:
    report = validate_pdf(data, [ca.certificate])
    assert not report.valid
    assert report.reasons == ["not a PDF"]
    assert report.signatures == []


def test_a_pdf_without_signatures_is_not_valid(ca: DevelopmentCA) -> None:
    report = validate_pdf(sample_decision_pdf(), [ca.certificate])
    assert not report.valid
    assert report.reasons == ["the PDF has no digital signatures"]


def test_a_damaged_pdf_is_reported_not_raised(ca: DevelopmentCA) -> None:
    report = validate_pdf(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF", [ca.certificate])
    assert not report.valid
    assert "cannot be read" in report.reasons[0]


def test_a_corrupted_signature_container_is_reported_not_raised(
    ca: DevelopmentCA, signed_receipt: bytes
) -> None:
    start = signed_receipt.index(b"/Contents <") + len(b"/Contents <")
    corrupted = signed_receipt[:start] + b"00" * 64 + signed_receipt[start + 128 :]
    report = validate_pdf(corrupted, [ca.certificate])
    assert not report.valid
    assert report.reasons
