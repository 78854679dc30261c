"""Throw-away certificates for tests, the fake partner province and demos: a CA and signing certificates.

Never for production: keys live in memory, unprotected. The real document PKI (a configured government CA
chain, or a development CA kept in the database) is another module's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Credentials:
    """A private key, its certificate and the intermediates between it and a root (leaf first)."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _name(common_name: str, organization: str | None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(parts)


def make_ca(
    common_name: str = "Egov Development CA",
    *,
    organization: str | None = "Egov Development",
    issuer: Credentials | None = None,
    valid_days: int = 3650,
    now: datetime | None = None,
    key_size: int = 2048,
) -> Credentials:
    """A root CA, or an intermediate one under ``issuer``, with the extensions chain validators ask for."""
    start = (now or datetime.now(UTC)) - timedelta(minutes=5)
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = _name(common_name, organization)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    parent_ski = (
        ski
        if issuer is None
        else issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name if issuer is None else issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(parent_ski), critical=False
        )
        .sign(key if issuer is None else issuer.key, hashes.SHA256())
    )
    chain = () if issuer is None else _chain_below(issuer)
    return Credentials(key=key, cert=cert, chain=chain)


def _chain_below(issuer: Credentials) -> tuple[x509.Certificate, ...]:
    # A root stays out of the chain (the receiver has it); an intermediate CA and its own chain go in.
    return () if issuer.cert.issuer == issuer.cert.subject else (issuer.cert, *issuer.chain)


def issue_signing_cert(
    ca: Credentials,
    common_name: str,
    *,
    organization: str | None = None,
    valid_days: int = 365,
    not_before: datetime | None = None,
    key_size: int = 2048,
) -> Credentials:
    """A document-signing certificate (digitalSignature, nonRepudiation) issued by ``ca``."""
    start = not_before or datetime.now(UTC) - timedelta(minutes=5)
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    ca_ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return Credentials(key=key, cert=cert, chain=_chain_below(ca))
