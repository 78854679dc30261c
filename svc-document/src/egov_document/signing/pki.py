"""Certificates and keys for document signing.

Two sources of a ``SigningIdentity``, the same type either way:

- ``DevelopmentCA`` (embedded mode and demos): a root CA the service creates itself, which issues one
  certificate per agency (its seal) and one per official (their signature).
- A configured chain (real deployments): the government CA's chain and the signer's certificate and key,
  loaded from PEM (``SigningIdentity.from_pem``) or PKCS#12 (``SigningIdentity.from_pkcs12``).

Keys are RSA 3072 by default: the Vietnamese government CA and the validators agencies use expect RSA with
SHA-256, and 3072 bits is the size recommended for keys used beyond 2030 (NIST SP 800-57). RSA 2048 (what most
issued citizen certificates still use) and EC P-256 (much faster to generate, handy in tests) are accepted.

The service stores what these produce: certificates as PEM, private keys as unencrypted PKCS#8 PEM which it
encrypts under its key-encryption key (``egov_shared.crypto.SecretBox``) before they touch the database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

KeyType = Literal["rsa3072", "rsa2048", "ec-p256"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DEFAULT_KEY_TYPE: KeyType = "rsa3072"
# RFC 9336 id-kp-documentSigning; emailProtection beside it because older PDF readers look for that one.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
# Decision 20/2020/QĐ-TTg: NNN.NN.NN.XNN, e.g. 000.00.00.H56.
AGENCY_CODE = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}")
# Certificates start a little in the past so a replica whose clock lags can use a certificate just issued.
CLOCK_SKEW = timedelta(minutes=5)


class PkiError(ValueError):
    """Unusable certificate or key material: bad PEM, a key that does not match, a wrong agency code."""


def generate_key(key_type: KeyType = DEFAULT_KEY_TYPE) -> PrivateKey:
    if key_type == "rsa3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if key_type == "rsa2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    raise PkiError(f"unknown key type {key_type!r}; use one of {', '.join(get_args(KeyType))}")


def certificate_to_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def certificates_to_pem(certificates: Sequence[x509.Certificate]) -> bytes:
    return b"".join(certificate_to_pem(certificate) for certificate in certificates)


def private_key_to_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8: the caller encrypts it (``SecretBox``) before storing it anywhere."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_certificates(pem_bundle: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle (a CA chain, a list of trust roots), in file order."""
    try:
        certificates = x509.load_pem_x509_certificates(pem_bundle)
    except ValueError as exc:
        raise PkiError(f"not a PEM certificate bundle: {exc}") from exc
    return certificates


def load_certificate(pem: bytes) -> x509.Certificate:
    certificates = load_certificates(pem)
    if len(certificates) != 1:
        raise PkiError(f"expected one certificate, found {len(certificates)}")
    return certificates[0]


def load_private_key(pem: bytes, password: bytes | None = None) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=password)
    except (ValueError, TypeError) as exc:
        raise PkiError(f"not a usable PEM private key: {exc}") from exc
    return _checked_key_type(key)


def _checked_key_type(key: object) -> PrivateKey:
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return key
    raise PkiError(f"unsupported key type {type(key).__name__}; use RSA or EC")


def _public_der(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _certificate_public_der(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def name_attribute(name: x509.Name, oid: ObjectIdentifier) -> str | None:
    """The first value of one attribute of a distinguished name, as text."""
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    if certificate.issuer != issuer.subject:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def order_chain(certificate: x509.Certificate, chain: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """The chain from the certificate's issuer upwards, then any certificates not on that path (kept: they
    may help a validator, cross-certificates for instance)."""
    remaining = [c for c in chain if c != certificate]
    path: list[x509.Certificate] = []
    current = certificate
    while remaining:
        issuer = next((c for c in remaining if _issued_by(current, c)), None)
        if issuer is None:
            break
        path.append(issuer)
        remaining.remove(issuer)
        if issuer.subject == issuer.issuer:
            break  # reached a root
        current = issuer
    return path + remaining


@dataclass(frozen=True)
class SigningIdentity:
    """What signs a PDF: the signer's certificate and key, and the CA certificates above it.

    ``chain`` holds the issuing CA certificates, nearest first (it may end with the root); they are embedded
    in each signature so a validator can build the path to its trusted root.
    """

    certificate: x509.Certificate
    private_key: PrivateKey
    chain: tuple[x509.Certificate, ...] = ()
    display_name: str = ""

    def __post_init__(self) -> None:
        if _public_der(self.private_key) != _certificate_public_der(self.certificate):
            raise PkiError("the private key does not belong to the certificate")
        if not self.display_name:
            common_name = name_attribute(self.certificate.subject, NameOID.COMMON_NAME)
            object.__setattr__(self, "display_name", common_name or self.certificate.subject.rfc4514_string())

    @classmethod
    def from_pem(
        cls,
        certificate_pem: bytes,
        private_key_pem: bytes,
        chain_pem: bytes = b"",
        *,
        display_name: str = "",
        password: bytes | None = None,
    ) -> SigningIdentity:
        """Load a configured signer (the government CA's chain, or what this service stored earlier)."""
        certificate = load_certificate(certificate_pem)
        chain = load_certificates(chain_pem) if chain_pem.strip() else []
        return cls(
            certificate=certificate,
            private_key=load_private_key(private_key_pem, password),
            chain=tuple(order_chain(certificate, chain)),
            display_name=display_name,
        )

    @classmethod
    def from_pkcs12(cls, data: bytes, password: bytes | None, *, display_name: str = "") -> SigningIdentity:
        """Load a .p12/.pfx file as CAs hand them out (key, certificate and chain in one)."""
        try:
            key, certificate, extra = pkcs12.load_key_and_certificates(data, password)
        except ValueError as exc:
            raise PkiError(f"not a readable PKCS#12 file: {exc}") from exc
        if key is None or certificate is None:
            raise PkiError("the PKCS#12 file has no private key or no certificate")
        return cls(
            certificate=certificate,
            private_key=_checked_key_type(key),
            chain=tuple(order_chain(certificate, extra)),
            display_name=display_name,
        )

    def certificate_pem(self) -> bytes:
        return certificate_to_pem(self.certificate)

    def private_key_pem(self) -> bytes:
        return private_key_to_pem(self.private_key)

    def chain_pem(self) -> bytes:
        return certificates_to_pem(self.chain)


def _validity(now: datetime | None, valid_for: timedelta) -> tuple[datetime, datetime]:
    start = (now or datetime.now(UTC)).astimezone(UTC) - CLOCK_SKEW
    return start, start + valid_for


@dataclass(frozen=True)
class DevelopmentCA:
    """A self-made root CA for the embedded mode and demos. Never trusted outside this deployment."""

    certificate: x509.Certificate
    private_key: PrivateKey

    def __post_init__(self) -> None:
        if _public_der(self.private_key) != _certificate_public_der(self.certificate):
            raise PkiError("the private key does not belong to the CA certificate")

    @classmethod
    def create(
        cls,
        *,
        common_name: str = "eGov Development Root CA",
        organization: str = "eGov development PKI (not for production)",
        key_type: KeyType = DEFAULT_KEY_TYPE,
        valid_for: timedelta = timedelta(days=3650),
        now: datetime | None = None,
    ) -> DevelopmentCA:
        key = generate_key(key_type)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        not_before, not_after = _validity(now, valid_for)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            # path length 0: this root issues end-entity certificates only.
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(certificate=certificate, private_key=key)

    @classmethod
    def from_pem(cls, certificate_pem: bytes, private_key_pem: bytes) -> DevelopmentCA:
        return cls(
            certificate=load_certificate(certificate_pem), private_key=load_private_key(private_key_pem)
        )

    def certificate_pem(self) -> bytes:
        return certificate_to_pem(self.certificate)

    def private_key_pem(self) -> bytes:
        return private_key_to_pem(self.private_key)

    def issue_agency(
        self,
        *,
        agency_code: str,
        agency_name: str,
        key_type: KeyType = DEFAULT_KEY_TYPE,
        valid_for: timedelta = timedelta(days=730),
        now: datetime | None = None,
    ) -> SigningIdentity:
        """The agency's certificate, for its seal: CN and O = agency name, OU = the 13-character agency code."""
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency_name),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _checked_agency_code(agency_code)),
                x509.NameAttribute(NameOID.COMMON_NAME, agency_name),
            ]
        )
        return self._issue(subject, key_type=key_type, valid_for=valid_for, now=now, display_name=agency_name)

    def issue_official(
        self,
        *,
        full_name: str,
        position: str,
        agency_code: str,
        agency_name: str,
        key_type: KeyType = DEFAULT_KEY_TYPE,
        valid_for: timedelta = timedelta(days=730),
        now: datetime | None = None,
    ) -> SigningIdentity:
        """An official's certificate: CN = full name, title = position, O = agency, OU = agency code."""
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency_name),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _checked_agency_code(agency_code)),
                x509.NameAttribute(NameOID.TITLE, position),
                x509.NameAttribute(NameOID.COMMON_NAME, full_name),
            ]
        )
        return self._issue(subject, key_type=key_type, valid_for=valid_for, now=now, display_name=full_name)

    def _issue(
        self,
        subject: x509.Name,
        *,
        key_type: KeyType,
        valid_for: timedelta,
        now: datetime | None,
        display_name: str,
    ) -> SigningIdentity:
        key = generate_key(key_type)
        not_before, not_after = _validity(now, valid_for)
        # A certificate never outlives the CA that issued it.
        not_after = min(not_after, self.certificate.not_valid_after_utc)
        ca_ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,  # nonRepudiation
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
            .sign(self.private_key, hashes.SHA256())
        )
        return SigningIdentity(
            certificate=certificate, private_key=key, chain=(self.certificate,), display_name=display_name
        )


def _checked_agency_code(agency_code: str) -> str:
    if not AGENCY_CODE.fullmatch(agency_code):
        raise PkiError(f"agency code {agency_code!r} is not of the form NNN.NN.NN.XNN (e.g. 000.00.00.H56)")
    return agency_code
