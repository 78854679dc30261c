"""The document PKI: the development CA and what it issues, PEM round trips for storage, and a configured
chain (root, intermediate, signer) as a government CA would hand it over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from egov_document.signing import (
    DevelopmentCA,
    PkiError,
    SigningIdentity,
    load_certificates,
    sign_pdf,
    validate_pdf,
)
from egov_document.signing.pki import DOCUMENT_SIGNING, PrivateKey, certificates_to_pem
from egov_document.signing.samples import sample_decision_pdf

AGENCY_CODE = "000.00.00.H56"
AGENCY = "Ủy ban nhân dân tỉnh Thanh Hóa"


@pytest.fixture(scope="module")
def ca() -> DevelopmentCA:
    return DevelopmentCA.create()  # the default key type, RSA 3072


@pytest.fixture(scope="module")
def official(ca: DevelopmentCA) -> SigningIdentity:
    return ca.issue_official(
        full_name="Nguyễn Văn An",
        position="Chủ tịch",
        agency_code=AGENCY_CODE,
        agency_name=AGENCY,
        key_type="ec-p256",
    )


def test_the_development_root_is_an_rsa_3072_ca_that_signed_itself(ca: DevelopmentCA) -> None:
    root = ca.certificate
    assert isinstance(ca.private_key, rsa.RSAPrivateKey)
    assert ca.private_key.key_size == 3072
    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = root.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    root.verify_directly_issued_by(root)
    assert root.signature_hash_algorithm is not None
    assert root.signature_hash_algorithm.name == "sha256"


def test_an_official_certificate_names_the_person_position_and_agency(
    ca: DevelopmentCA, official: SigningIdentity
) -> None:
    certificate = official.certificate
    subject = certificate.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Nguyễn Văn An"
    assert subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Chủ tịch"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == AGENCY
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == AGENCY_CODE
    assert official.display_name == "Nguyễn Văn An"
    assert official.chain == (ca.certificate,)
    certificate.verify_directly_issued_by(ca.certificate)

    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment  # nonRepudiation
    assert not usage.value.key_cert_sign
    purposes = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert DOCUMENT_SIGNING in purposes
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in purposes
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest


def test_an_agency_certificate_carries_the_agency_name_and_code(ca: DevelopmentCA) -> None:
    agency = ca.issue_agency(agency_code=AGENCY_CODE, agency_name=AGENCY, key_type="ec-p256")
    subject = agency.certificate.subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == AGENCY
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == AGENCY_CODE
    assert agency.display_name == AGENCY


def test_serial_numbers_differ_and_validity_stays_within_the_ca(ca: DevelopmentCA) -> None:
    first = ca.issue_agency(agency_code=AGENCY_CODE, agency_name=AGENCY, key_type="ec-p256")
    second = ca.issue_agency(
        agency_code=AGENCY_CODE, agency_name=AGENCY, key_type="ec-p256", valid_for=timedelta(days=36500)
    )
    assert first.certificate.serial_number != second.certificate.serial_number
    assert second.certificate.not_valid_after_utc == ca.certificate.not_valid_after_utc
    assert first.certificate.not_valid_before_utc <= datetime.now(UTC)


@pytest.mark.parametrize("code", ["H56", "000.00.00.H5", "000.00.00.h56", "000-00-00-H56", ""])
def test_agency_codes_follow_the_national_format(ca: DevelopmentCA, code: str) -> None:
    with pytest.raises(PkiError, match="agency code"):
        ca.issue_agency(agency_code=code, agency_name=AGENCY, key_type="ec-p256")


def test_the_ca_round_trips_through_pem_and_keeps_issuing(ca: DevelopmentCA) -> None:
    key_pem = ca.private_key_pem()
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # unencrypted PKCS#8: the service encrypts it
    loaded = DevelopmentCA.from_pem(ca.certificate_pem(), key_pem)
    assert loaded.certificate == ca.certificate
    issued = loaded.issue_agency(agency_code=AGENCY_CODE, agency_name=AGENCY, key_type="ec-p256")
    issued.certificate.verify_directly_issued_by(ca.certificate)


def test_an_identity_round_trips_through_pem(official: SigningIdentity) -> None:
    loaded = SigningIdentity.from_pem(
        official.certificate_pem(), official.private_key_pem(), official.chain_pem()
    )
    assert loaded.certificate == official.certificate
    assert loaded.chain == official.chain
    assert loaded.display_name == official.display_name
    assert loaded.private_key_pem() == official.private_key_pem()


def test_a_key_that_is_not_the_certificates_is_refused(ca: DevelopmentCA, official: SigningIdentity) -> None:
    with pytest.raises(PkiError, match="does not belong"):
        SigningIdentity.from_pem(official.certificate_pem(), ca.private_key_pem())


@pytest.mark.parametrize(
    "garbage", [b"", b"not a certificate", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]
)
def test_unreadable_pem_raises_a_pki_error(official: SigningIdentity, garbage: bytes) -> None:
    with pytest.raises(PkiError):
        SigningIdentity.from_pem(garbage, official.private_key_pem())
    with pytest.raises(PkiError):
        SigningIdentity.from_pem(official.certificate_pem(), garbage)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ban Cơ yếu Chính phủ (test)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject: x509.Name, key: PrivateKey, issuer: x509.Name, issuer_key: PrivateKey, *, ca: bool
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def government_chain() -> tuple[x509.Certificate, x509.Certificate, x509.Certificate, PrivateKey]:
    """root -> intermediate -> signer, the shape of the government CA's chain (EC keys: quick to make)."""
    root_key, intermediate_key, signer_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _certificate(_name("Root CA (test)"), root_key, _name("Root CA (test)"), root_key, ca=True)
    intermediate = _certificate(_name("Sub CA (test)"), intermediate_key, root.subject, root_key, ca=True)
    signer = _certificate(
        _name("Trần Thị Bình"), signer_key, intermediate.subject, intermediate_key, ca=False
    )
    return root, intermediate, signer, signer_key


def test_a_configured_chain_loads_from_pem_in_path_order_and_signs_trusted_pdfs(
    government_chain: tuple[x509.Certificate, x509.Certificate, x509.Certificate, PrivateKey],
) -> None:
    root, intermediate, signer, signer_key = government_chain
    bundle = certificates_to_pem([root, intermediate])  # a bundle in the "wrong" order, root first
    identity = SigningIdentity.from_pem(
        signer.public_bytes(serialization.Encoding.PEM),
        signer_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        bundle,
    )
    assert identity.chain == (intermediate, root)
    assert identity.display_name == "Trần Thị Bình"
    assert load_certificates(identity.chain_pem()) == [intermediate, root]

    signed = sign_pdf(sample_decision_pdf(), identity, field_name="signer")
    report = validate_pdf(signed, [root])
    assert report.valid, report.reasons
    assert report.signatures[0].signer == "Trần Thị Bình"
    other_root = _certificate(_name("Other"), signer_key, _name("Other"), signer_key, ca=True)
    assert not validate_pdf(signed, [other_root]).valid


def test_a_pkcs12_file_loads_key_certificate_and_chain(
    government_chain: tuple[x509.Certificate, x509.Certificate, x509.Certificate, PrivateKey],
) -> None:
    root, intermediate, signer, signer_key = government_chain
    data = pkcs12.serialize_key_and_certificates(
        b"signer", signer_key, signer, [root, intermediate], serialization.BestAvailableEncryption(b"secret")
    )
    identity = SigningIdentity.from_pkcs12(data, b"secret")
    assert identity.certificate == signer
    assert identity.chain == (intermediate, root)
    with pytest.raises(PkiError):
        SigningIdentity.from_pkcs12(data, b"wrong password")
