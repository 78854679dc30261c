"""PAdES signing: checked with pyHanko's own validator (independent of our validation module), the PAdES
B-B structure, two signatures in Decree 30 order, the visible appearances and what signing refuses."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    validate_pdf_signature,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from egov_document.signing import (
    Appearance,
    AppearanceError,
    DevelopmentCA,
    SigningError,
    SigningIdentity,
    sign_pdf,
    validate_pdf,
)
from egov_document.signing.appearance import DEFAULT_SEAL_SIZE, FALLBACK_FONT, MM, printable
from egov_document.signing.pades import pyhanko_signer
from egov_document.signing.samples import (
    A4,
    SAMPLE_SIGNATURE_BOX,
    sample_decision_pdf,
    sample_seal_image,
    sample_signature_image,
)

AGENCY_CODE = "000.00.00.H56"
AGENCY = "Ủy ban nhân dân tỉnh Thanh Hóa"
SIGNED_AT = datetime(2025, 11, 22, 3, 15, 30, tzinfo=UTC)  # 10:15:30 in Hà Nội


@pytest.fixture(scope="module")
def ca() -> DevelopmentCA:
    return DevelopmentCA.create(now=SIGNED_AT - timedelta(days=30))


@pytest.fixture(scope="module")
def agency(ca: DevelopmentCA) -> SigningIdentity:
    return ca.issue_agency(agency_code=AGENCY_CODE, agency_name=AGENCY, now=SIGNED_AT - timedelta(days=1))


@pytest.fixture(scope="module")
def official(ca: DevelopmentCA) -> SigningIdentity:
    return ca.issue_official(
        full_name="Nguyễn Văn An",
        position="Chủ tịch",
        agency_code=AGENCY_CODE,
        agency_name=AGENCY,
        now=SIGNED_AT - timedelta(days=1),
    )


@pytest.fixture(scope="module")
def decision() -> bytes:
    return sample_decision_pdf()


@pytest.fixture(scope="module")
def signed_by_agency(decision: bytes, agency: SigningIdentity) -> bytes:
    return sign_pdf(
        decision,
        agency,
        field_name="agency",
        reason="Phát hành văn bản",
        location="Thanh Hóa",
        signing_time=SIGNED_AT,
    )


@pytest.fixture(scope="module")
def signed_twice(decision: bytes, official: SigningIdentity, agency: SigningIdentity) -> bytes:
    by_official = sign_pdf(
        decision,
        official,
        field_name="signer",
        reason="Ký ban hành",
        signing_time=SIGNED_AT,
        appearance=Appearance.signature_image(sample_signature_image(), box=SAMPLE_SIGNATURE_BOX, page=0),
    )
    return sign_pdf(
        by_official,
        agency,
        field_name="agency",
        signing_time=SIGNED_AT + timedelta(minutes=2),
        appearance=Appearance.seal(sample_seal_image(), over=SAMPLE_SIGNATURE_BOX, page=0),
    )


def _pyhanko_status(
    pdf: bytes, root: x509.Certificate, index: int = 0
) -> tuple[EmbeddedPdfSignature, PdfSignatureStatus]:
    reader = PdfFileReader(io.BytesIO(pdf))
    embedded = reader.embedded_signatures[index]
    context = ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(root.public_bytes(serialization.Encoding.DER))],
        moment=SIGNED_AT + timedelta(hours=1),
    )
    return embedded, validate_pdf_signature(embedded, context)


def test_pyhankos_own_validator_finds_the_agency_signature_intact_trusted_and_pades(
    signed_by_agency: bytes, ca: DevelopmentCA
) -> None:
    embedded, status = _pyhanko_status(signed_by_agency, ca.certificate)
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert status.md_algorithm == "sha256"
    assert status.signing_cert.subject.native["organization_name"] == AGENCY
    assert status.signer_reported_dt == SIGNED_AT


def test_the_signature_has_the_pades_baseline_structure(signed_by_agency: bytes) -> None:
    embedded = PdfFileReader(io.BytesIO(signed_by_agency)).embedded_signatures[0]
    signed_attributes = {attribute["type"].native for attribute in embedded.signer_info["signed_attrs"]}
    assert "signing_certificate_v2" in signed_attributes  # binds the signer's certificate (ESS)
    assert "message_digest" in signed_attributes
    assert "signing_time" not in signed_attributes  # PAdES puts the time in /M, never in the CMS
    signature = embedded.sig_object
    assert str(signature["/M"]).endswith("+07'00'")
    assert signature["/Reason"] == "Phát hành văn bản"
    assert signature["/Location"] == "Thanh Hóa"
    assert signature["/Name"] == AGENCY
    assert embedded.signer_info["digest_algorithm"]["algorithm"].native == "sha256"
    assert embedded.signer_info["signature_algorithm"]["algorithm"].native in (
        "rsassa_pkcs1v15",
        "sha256_rsa",
    )


def test_the_official_then_the_agency_both_stay_intact_and_trusted(
    signed_twice: bytes, ca: DevelopmentCA
) -> None:
    reader = PdfFileReader(io.BytesIO(signed_twice))
    assert [signature.field_name for signature in reader.embedded_signatures] == ["signer", "agency"]
    official_sig, official_status = _pyhanko_status(signed_twice, ca.certificate, 0)
    _, agency_status = _pyhanko_status(signed_twice, ca.certificate, 1)
    assert official_status.intact
    assert official_status.trusted
    assert official_status.bottom_line
    # The agency's signature came later as an incremental update that only added a signature.
    assert official_status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
    assert isinstance(official_status.diff_result, DiffResult)
    assert official_status.diff_result.modification_level == ModificationLevel.FORM_FILLING
    assert agency_status.bottom_line
    assert agency_status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert official_status.signing_cert.subject.native["common_name"] == "Nguyễn Văn An"

    report = validate_pdf(signed_twice, [ca.certificate], at=SIGNED_AT + timedelta(hours=1))
    assert report.valid, report.reasons
    assert [s.signer for s in report.signatures] == ["Nguyễn Văn An", AGENCY]
    assert report.signatures[0].later_changes == "signatures and form fields only"
    assert not report.signatures[0].modified_after_signing


def _widget_rect(pdf: bytes, field_name: str) -> tuple[float, float, float, float]:
    page = PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Kids"][0].get_object()
    for annotation in page["/Annots"]:
        widget = annotation.get_object()
        if widget.get("/T") == field_name:
            x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
            return x1, y1, x2, y2
    raise AssertionError(f"no widget {field_name}")


def test_the_seal_overlaps_the_left_third_of_the_signature_image(signed_twice: bytes) -> None:
    sx1, sy1, sx2, sy2 = _widget_rect(signed_twice, "signer")
    assert (sx1, sy1, sx2, sy2) == SAMPLE_SIGNATURE_BOX
    x1, y1, x2, y2 = _widget_rect(signed_twice, "agency")
    assert x2 == pytest.approx(sx1 + (sx2 - sx1) / 3, abs=1)  # the seal's right edge: a third into the image
    assert x1 < sx1  # the rest of the seal sits to the left of the signature
    assert x2 - x1 == pytest.approx(DEFAULT_SEAL_SIZE, abs=2)  # actual size
    assert (y1 + y2) / 2 == pytest.approx((sy1 + sy2) / 2, abs=1)


def test_the_signature_image_keeps_its_transparency(signed_twice: bytes) -> None:
    page = PdfFileReader(io.BytesIO(signed_twice)).root["/Pages"]["/Kids"][0].get_object()
    widget = next(a.get_object() for a in page["/Annots"] if a.get_object().get("/T") == "signer")
    images: list[generic.StreamObject] = []
    pending = [widget["/AP"]["/N"].get_object()]
    while pending:  # appearance stream -> imported page -> image
        xobject = pending.pop()
        resources = xobject.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        for child in xobjects.values() if xobjects is not None else ():
            child = child.get_object()
            (images if child.get("/Subtype") == "/Image" else pending).append(child)
    assert images
    assert all("/SMask" in image for image in images)


def test_an_attachment_shows_number_and_time_at_the_top_right_of_the_first_page(
    decision: bytes, agency: SigningIdentity
) -> None:
    appearance = Appearance.attachment("15/QĐ-UBND")
    lines = appearance.text_lines(name=AGENCY, position=None, agency=AGENCY, signed_at=SIGNED_AT)
    assert lines == ["Số: 15/QĐ-UBND", "Thời gian ký: 2025-11-22T10:15:30+07:00"]
    signed = sign_pdf(
        decision, agency, field_name="attachment", signing_time=SIGNED_AT, appearance=appearance
    )
    x1, y1, x2, y2 = _widget_rect(signed, "attachment")
    width, height = A4
    assert width - 12 * MM < x2 <= width - 9 * MM
    assert height - 12 * MM < y2 <= height - 9 * MM
    assert x1 > width / 2
    assert y1 > height * 0.8


def test_without_an_image_the_stamp_names_signer_position_agency_and_time(official: SigningIdentity) -> None:
    lines = Appearance(box=(72, 72, 300, 140)).text_lines(
        name="Nguyễn Văn An", position="Chủ tịch", agency=AGENCY, signed_at=SIGNED_AT
    )
    assert lines == [
        "Ký bởi: Nguyễn Văn An",
        "Chức vụ: Chủ tịch",
        f"Cơ quan: {AGENCY}",
        "Thời gian ký: 2025-11-22T10:15:30+07:00",
    ]
    signed = sign_pdf(
        sample_decision_pdf(),
        official,
        field_name="signer",
        signing_time=SIGNED_AT,
        appearance=Appearance(box=(72, 72, 300, 140)),
    )
    assert _widget_rect(signed, "signer") == (72, 72, 300, 140)


def test_without_a_vietnamese_font_text_loses_only_its_diacritics() -> None:
    assert printable("Thời gian ký: Đà Nẵng", FALLBACK_FONT) == "Thoi gian ky: Da Nang"
    assert printable("Thời gian ký", "EgovSignature-x") == "Thời gian ký"


@pytest.mark.parametrize(
    "image",
    [b"GIF89a not a png", b"\x89PNG\r\n\x1a\n truncated"],
)
def test_signature_images_must_be_png(image: bytes) -> None:
    with pytest.raises(AppearanceError, match="PNG"):
        Appearance.signature_image(image, box=SAMPLE_SIGNATURE_BOX)


def test_signature_images_must_be_transparent() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (0, 0, 255)).save(buffer, format="PNG")
    with pytest.raises(AppearanceError, match="transparent"):
        Appearance.signature_image(buffer.getvalue(), box=SAMPLE_SIGNATURE_BOX)


def test_a_taken_field_name_is_refused(signed_by_agency: bytes, agency: SigningIdentity) -> None:
    with pytest.raises(SigningError):
        sign_pdf(signed_by_agency, agency, field_name="agency", signing_time=SIGNED_AT)


@pytest.mark.parametrize("field_name", ["", "a.b"])
def test_field_names_must_be_simple(decision: bytes, agency: SigningIdentity, field_name: str) -> None:
    with pytest.raises(SigningError, match="field name"):
        sign_pdf(decision, agency, field_name=field_name)


def test_a_certificate_outside_its_validity_cannot_sign(decision: bytes, agency: SigningIdentity) -> None:
    with pytest.raises(SigningError, match="not at the signing time"):
        sign_pdf(
            decision,
            agency,
            field_name="late",
            signing_time=agency.certificate.not_valid_after_utc + timedelta(days=1),
        )


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7\n garbage"])
def test_what_is_not_a_readable_pdf_cannot_be_signed(agency: SigningIdentity, data: bytes) -> None:
    with pytest.raises(SigningError, match="not a readable PDF"):
        sign_pdf(data, agency, field_name="agency", signing_time=SIGNED_AT)


async def test_signing_on_the_event_loop_thread_is_refused(decision: bytes, agency: SigningIdentity) -> None:
    with pytest.raises(RuntimeError, match="to_thread"):
        sign_pdf(decision, agency, field_name="agency")


def _timestamp_authority(ca: DevelopmentCA) -> DummyTimeStamper:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's test TSA is RSA-only
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(SIGNED_AT - timedelta(days=1))
        .not_valid_after(SIGNED_AT + timedelta(days=365))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca.private_key, hashes.SHA256())
    )

    def der(value: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(value.public_bytes(serialization.Encoding.DER))

    private = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return DummyTimeStamper(
        tsa_cert=der(certificate),
        tsa_key=private,
        certs_to_embed=SimpleCertificateStore.from_certs([der(ca.certificate)]),  # type: ignore[no-untyped-call]
        fixed_dt=SIGNED_AT + timedelta(seconds=5),
    )


def test_with_a_timestamper_the_signature_is_pades_b_t(
    decision: bytes, agency: SigningIdentity, ca: DevelopmentCA
) -> None:
    signed = sign_pdf(
        decision, agency, field_name="agency", signing_time=SIGNED_AT, timestamper=_timestamp_authority(ca)
    )
    _, status = _pyhanko_status(signed, ca.certificate)
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.trusted
    assert status.bottom_line
    report = validate_pdf(signed, [ca.certificate], at=SIGNED_AT + timedelta(hours=1))
    assert report.valid, report.reasons
    signature = report.signatures[0]
    assert signature.profile == "PAdES B-T"
    assert signature.signing_time_source == "timestamp token"
    assert signature.signing_time == SIGNED_AT + timedelta(seconds=5)


def test_a_document_certified_against_changes_cannot_be_signed_again(
    decision: bytes, agency: SigningIdentity, official: SigningIdentity
) -> None:
    locked = signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name="author", certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES
        ),
        signer=pyhanko_signer(official),
    ).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(decision)))
    with pytest.raises(SigningError):
        sign_pdf(locked.getvalue(), agency, field_name="agency")


def test_a_pdf_without_pages_gives_a_signing_error_not_a_crash(agency: SigningIdentity) -> None:
    output = io.BytesIO()
    PdfFileWriter(init_page_tree=True).write(output)  # type: ignore[no-untyped-call]
    with pytest.raises(SigningError, match="no page|cannot sign"):
        sign_pdf(output.getvalue(), agency, field_name="agency", signing_time=SIGNED_AT)


def test_an_appearance_needs_a_box_for_an_image_and_text_otherwise() -> None:
    with pytest.raises(AppearanceError, match="box"):
        Appearance(image=sample_seal_image())
    with pytest.raises(AppearanceError, match="line"):
        Appearance(lines=())
    with pytest.raises(AppearanceError, match="empty"):
        Appearance(box=(100, 100, 100, 150))
