"""Enveloped XML signatures (XML-DSig) on edXML messages, with ``signxml``: :func:`sign` and :func:`verify`.

Where the signature sits: the ``ds:Signature`` element is the child of ``edXMLHeader/DigitalSignature``
(document.md puts the signature there), but what it signs is the whole ``edXML`` document: one ``Reference``
with ``URI=""`` and the enveloped-signature transform, which removes the ``ds:Signature`` element itself
before digesting (the then empty ``DigitalSignature`` element stays in the signed content). So the header,
the manifest and every attachment byte in ``AttachmentEncoded`` are covered. A relay that appends a
``TraceHeader`` would break the signature; our HTTP binding is point to point, so nothing in between edits
the message.

Algorithms: RSA-SHA256 (ECDSA-SHA256 for EC keys), SHA-256 digests, Canonical XML 1.0 (not signxml's
default 1.1, which .NET's ``SignedXml``, common among Vietnamese document systems, does not implement).
The sender's certificate, then its intermediates, go in ``KeyInfo/X509Data``.

Verification follows signxml's guidance: the signer is established from our configured trust (pinned
certificates, or roots a chain must reach), the signature must be where we expect it and cover the whole
document, and the message handed back is parsed from the bytes the signature covers, never from the
received tree.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)
from lxml import etree  # type: ignore[import-untyped]  # the workspace has no lxml-stubs
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier

from egov_document.exchange.edxml import (
    DEFAULT_MAX_BYTES,
    XML_DECLARATION,
    EdxmlError,
    Element,
    parse_tree,
    q,
    read_root,
    secure_parser,
)
from egov_document.exchange.model import EdxmlMessage, StatusMessage

DS_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"
C14N = CanonicalizationMethod.CANONICAL_XML_1_0
SIGNATURE_METHODS = frozenset(
    {
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
    }
)
DIGEST_ALGORITHMS = frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512})
# signxml's ``location`` is the parent path of ds:Signature, in ElementPath syntax.
_SIGNATURE_PARENT = f"./{q('edXMLEnvelope')}/{q('edXMLHeader')}/{q('DigitalSignature')}/"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class SignatureInvalid(EdxmlError):
    """The message's signature is missing, broken, or made by someone we do not trust.

    Codes: ``edxml.signature_missing``, ``edxml.signature_digest`` (content altered after signing),
    ``edxml.signer_untrusted``, ``edxml.signature_invalid`` (anything else).
    """


@dataclass(frozen=True)
class Trust:
    """Whom we believe: ``pinned`` certificates (exact match), or ``roots`` a signer's chain must reach."""

    roots: tuple[x509.Certificate, ...] = ()
    pinned: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_pem(cls, *, roots: bytes = b"", pinned: bytes = b"") -> Trust:
        return cls(
            roots=tuple(x509.load_pem_x509_certificates(roots)) if roots.strip() else (),
            pinned=tuple(x509.load_pem_x509_certificates(pinned)) if pinned.strip() else (),
        )


@dataclass(frozen=True)
class VerifiedMessage:
    """A message whose signature verified: parsed from the signed bytes, with the signer's certificate."""

    message: EdxmlMessage | StatusMessage
    signer: x509.Certificate
    signed_xml: bytes  # the canonical bytes the signature covers (the document without ds:Signature)


def sign(
    xml: bytes,
    key: PrivateKey | bytes,
    cert: x509.Certificate | bytes,
    *,
    chain: Sequence[x509.Certificate] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> bytes:
    """Sign an unsigned edXML message (as :func:`~egov_document.exchange.edxml.to_xml` makes it).

    ``key`` and ``cert`` may be objects or PEM. Refuses (``EdxmlError``) what ``parse`` would refuse and
    a message that already carries a signature.
    """
    private_key = load_pem_private_key(key, password=None) if isinstance(key, bytes) else key
    if not isinstance(private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise TypeError("signing needs an RSA or EC private key")
    certificate = x509.load_pem_x509_certificate(cert) if isinstance(cert, bytes) else cert

    root = parse_tree(xml, max_bytes=max_bytes)
    read_root(root)  # never sign what a receiver would refuse to read
    if root.find(f".//{{{DS_NAMESPACE}}}Signature") is not None:
        raise EdxmlError("edxml.already_signed", "the message already carries a signature")
    header = root.find(f"{q('edXMLEnvelope')}/{q('edXMLHeader')}")
    if header is None:  # read_root checked it; this keeps the type checker informed
        raise EdxmlError("edxml.missing", "edXML/edXMLEnvelope/edXMLHeader is missing")
    slot = header.find(q("DigitalSignature"))
    if slot is None:
        slot = etree.SubElement(header, q("DigitalSignature"))
    slot.text = None
    # signxml replaces this placeholder with the signature, and leaves it out of the digest.
    etree.SubElement(slot, f"{{{DS_NAMESPACE}}}Signature", Id="placeholder", nsmap={"ds": DS_NAMESPACE})

    method = (
        SignatureMethod.RSA_SHA256
        if isinstance(private_key, rsa.RSAPrivateKey)
        else SignatureMethod.ECDSA_SHA256
    )
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=method,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=C14N,
    )
    signed = signer.sign(root, key=private_key, cert=[certificate, *chain])
    body: bytes = etree.tostring(signed, encoding="UTF-8")
    return XML_DECLARATION + body


def verify(
    xml: bytes,
    trust: Trust,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    at: datetime | None = None,
) -> VerifiedMessage:
    """Check the signature against ``trust`` and return the message it covers.

    Raises :class:`EdxmlError` for a body that is not an edXML message at all and :class:`SignatureInvalid`
    for a missing, altered or untrusted signature. ``at`` is the time certificates must be valid at (now).
    """
    root = parse_tree(xml, max_bytes=max_bytes)
    signature = _the_signature(root)
    certificates = _certificates(signature)
    moment = at or datetime.now(UTC)
    signer_cert = _trusted_signer(certificates, trust, moment)

    config = SignatureConfiguration(
        location=_SIGNATURE_PARENT,
        expect_references=1,
        signature_methods=SIGNATURE_METHODS,
        digest_algorithms=DIGEST_ALGORITHMS,
        verification_time=moment,
    )
    try:
        result = XMLVerifier().verify(
            xml, x509_cert=signer_cert, parser=secure_parser(), expect_config=config
        )
    except InvalidDigest:
        raise SignatureInvalid(
            "edxml.signature_digest", "the message was altered after it was signed (digest mismatch)"
        ) from None
    except InvalidCertificate as exc:
        raise SignatureInvalid(
            "edxml.signer_untrusted", f"the signing certificate is not valid: {exc}"
        ) from None
    except InvalidSignature as exc:
        raise SignatureInvalid("edxml.signature_invalid", f"the signature does not verify: {exc}") from None
    except InvalidInput as exc:
        raise SignatureInvalid("edxml.signature_invalid", f"the signature is malformed: {exc}") from None
    if not isinstance(result, VerifyResult):  # expect_references=1 gives one result
        raise SignatureInvalid("edxml.signature_invalid", "the signature must have exactly one reference")

    # What was signed, re-read from its canonical bytes: nothing unsigned in the received tree can leak in.
    signed_root = parse_tree(result.signed_data, max_bytes=max_bytes)
    return VerifiedMessage(message=read_root(signed_root), signer=signer_cert, signed_xml=result.signed_data)


def _the_signature(root: Element) -> Element:
    signatures = root.findall(f".//{{{DS_NAMESPACE}}}Signature")
    if not signatures:
        raise SignatureInvalid("edxml.signature_missing", "the message is not signed (no ds:Signature)")
    placed = root.find(f"{_SIGNATURE_PARENT}{{{DS_NAMESPACE}}}Signature")
    if len(signatures) != 1 or placed is None:
        raise SignatureInvalid(
            "edxml.signature_invalid", "expected exactly one signature, in edXMLHeader/DigitalSignature"
        )
    references = placed.findall(f"{{{DS_NAMESPACE}}}SignedInfo/{{{DS_NAMESPACE}}}Reference")
    if len(references) != 1 or references[0].get("URI") != "":
        raise SignatureInvalid(
            "edxml.signature_invalid", 'the signature must cover the whole document (one Reference, URI="")'
        )
    return placed


def _certificates(signature: Element) -> list[x509.Certificate]:
    path = f"{{{DS_NAMESPACE}}}KeyInfo/{{{DS_NAMESPACE}}}X509Data/{{{DS_NAMESPACE}}}X509Certificate"
    certificates = []
    for element in signature.findall(path):
        try:
            der = base64.b64decode("".join((element.text or "").split()), validate=True)
            certificates.append(x509.load_der_x509_certificate(der))
        except (binascii.Error, ValueError):
            raise SignatureInvalid(
                "edxml.signature_invalid", "an X509Certificate is not a certificate"
            ) from None
    if not certificates:
        raise SignatureInvalid(
            "edxml.signer_untrusted", "the signature carries no signing certificate (X509Data)"
        )
    return certificates


def _allows_signing(_policy: Policy, _cert: x509.Certificate, usage: x509.KeyUsage | None) -> None:
    if usage is None or not (usage.digital_signature or usage.content_commitment):
        raise ValueError("the certificate's KeyUsage allows neither digitalSignature nor nonRepudiation")


def _leaf_first(certificates: list[x509.Certificate]) -> tuple[x509.Certificate, list[x509.Certificate]]:
    def is_ca(cert: x509.Certificate) -> bool:
        try:
            return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            return False

    leaves = [c for c in certificates if not is_ca(c)] or certificates
    leaf = leaves[0]
    return leaf, [c for c in certificates if c is not leaf]


def _trusted_signer(certificates: list[x509.Certificate], trust: Trust, at: datetime) -> x509.Certificate:
    for pinned in trust.pinned:
        for cert in certificates:
            if cert == pinned:
                return cert
    leaf, intermediates = _leaf_first(certificates)
    reason = "it is not one of the pinned certificates and no trust roots are configured"
    if trust.roots:
        ee_policy = ExtensionPolicy.permit_all().require_present(
            x509.KeyUsage, Criticality.AGNOSTIC, _allows_signing
        )
        builder = (
            PolicyBuilder()
            .store(Store(list(trust.roots)))
            .time(at)
            .extension_policies(ee_policy=ee_policy, ca_policy=ExtensionPolicy.webpki_defaults_ca())
        )
        try:
            builder.build_client_verifier().verify(leaf, intermediates)
            return leaf
        except VerificationError as exc:
            reason = f"its chain does not reach a trusted root: {exc}"
    raise SignatureInvalid(
        "edxml.signer_untrusted", f"the signer ({leaf.subject.rfc4514_string()}) is not trusted: {reason}"
    )
