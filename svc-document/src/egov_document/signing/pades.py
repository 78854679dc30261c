"""PAdES signatures on PDF documents (ETSI EN 319 142-1; TCVN 11816), with pyHanko.

Each signature is one incremental update appended to the file: earlier signatures keep covering exactly the
bytes they signed, so the official signs first and the agency (its seal) signs the result (Decree 30), and
any PDF that already carries signatures can be signed again without breaking them.

Profile: PAdES baseline B-B (SubFilter ``ETSI.CAdES.detached``, SHA-256, the signer's certificate bound by the
signing-certificate-v2 attribute, the signing time in the signature dictionary's ``/M`` as PAdES requires
rather than in the CMS). Given a ``timestamper`` (an RFC 3161 TSA, ``pyhanko.sign.timestamps.HTTPTimeStamper``)
the signature gets a signature timestamp: B-T.

pyHanko runs an event loop of its own (``asyncio.run``): call ``sign_pdf`` from a worker thread
(``asyncio.to_thread``) in async code, never on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import io
import math
import uuid
from datetime import UTC, datetime

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import content, generic, layout
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.rw_common import find_inherited_value_in_tree
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from egov_document.signing.appearance import VIETNAM_TZ, Appearance, AppearanceError, Box, render
from egov_document.signing.pki import PrivateKey, SigningIdentity, name_attribute

DIGEST = "sha256"


class SigningError(ValueError):
    """The PDF cannot be signed as asked: unreadable, encrypted, a field name taken, an unusable certificate."""


def sign_pdf(
    pdf: bytes,
    identity: SigningIdentity,
    *,
    field_name: str,
    reason: str | None = None,
    location: str | None = None,
    signing_time: datetime | None = None,
    appearance: Appearance | None = None,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """The PDF with one more PAdES signature by ``identity``, appended as an incremental update.

    ``field_name`` names the new signature field (unique in the document, e.g. ``signer`` then ``agency``);
    an existing empty field of that name is filled instead. ``signing_time`` defaults to now; it is written
    with the Vietnamese offset. Without ``appearance`` the signature is invisible.
    """
    _ensure_no_running_loop()
    if signing_time is not None and signing_time.utcoffset() is None:
        raise ValueError("signing_time must be timezone-aware")
    _check_field_name(field_name)
    signed_at = (signing_time or datetime.now(UTC)).astimezone(VIETNAM_TZ)
    _check_identity(identity, signed_at)

    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=True)
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise SigningError(f"not a readable PDF: {exc}") from exc
    if writer.prev.encrypted:
        raise SigningError("the PDF is encrypted; signing an encrypted PDF is not supported")

    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=DIGEST,
        reason=reason,
        location=location,
        name=identity.display_name,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    try:
        field_spec, stamp_style = _visible_field(writer, identity, field_name, appearance, signed_at)
        pdf_signer = _PdfSignerAt(
            metadata,
            signer=pyhanko_signer(identity),
            timestamper=timestamper,
            stamp_style=stamp_style,
            new_field_spec=field_spec,
            signing_time=signed_at,
        )
        output = pdf_signer.sign_pdf(writer, bytes_reserved=_space_to_reserve(identity, timestamper))
    except (SigningError, AppearanceError):
        raise
    # pyHanko reads the document lazily: a malformed page tree or field surfaces only here, as any of these.
    except (
        PyHankoSigningError,
        PdfError,
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        AttributeError,
    ) as exc:
        raise SigningError(f"cannot sign this PDF: {exc}") from exc
    signed: bytes = output.getvalue()
    return signed


class _PdfSignerAt(signers.PdfSigner):
    """A ``PdfSigner`` that signs at a given time: pyHanko takes the clock inside the signing session, and the
    visible text must show the same instant as ``/M``."""

    def __init__(
        self,
        signature_meta: signers.PdfSignatureMetadata,
        signer: signers.Signer,
        *,
        timestamper: TimeStamper | None,
        stamp_style: StaticStampStyle | None,
        new_field_spec: fields.SigFieldSpec,
        signing_time: datetime,
    ) -> None:
        super().__init__(
            signature_meta,
            signer,
            timestamper=timestamper,
            stamp_style=stamp_style,
            new_field_spec=new_field_spec,
        )
        self._signing_time = signing_time

    def init_signing_session(
        self, pdf_out: BasePdfFileWriter, existing_fields_only: bool = False
    ) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._signing_time
        return session


def _space_to_reserve(identity: SigningIdentity, timestamper: TimeStamper | None) -> int | None:
    """Room for the CMS container, in hex digits. Without a timestamp its size is known closely enough from
    the certificates and the key, which spares pyHanko a dry-run signature (half the signing time). A TSA's
    answer has no such bound: then pyHanko estimates with a test request."""
    if timestamper is not None:
        return None
    certificates = sum(
        len(c.public_bytes(serialization.Encoding.DER)) for c in (identity.certificate, *identity.chain)
    )
    key_bits = identity.private_key.key_size
    # DER certificates + signature value + signed attributes and structure (well under 4 KiB), times two for hex.
    return 2 * (certificates + key_bits // 8 * 2 + 4096)


def pyhanko_signer(identity: SigningIdentity) -> signers.SimpleSigner:
    """The identity as a pyHanko signer, for anything beyond ``sign_pdf`` (certification signatures, say)."""
    certificate = asn1_x509.Certificate.load(identity.certificate.public_bytes(serialization.Encoding.DER))
    key = asn1_keys.PrivateKeyInfo.load(
        identity.private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    chain = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in identity.chain]
    # RSA signs with PKCS#1 v1.5 (pyHanko's default), which every PDF reader and Vietnamese validator accepts.
    return _LoadedKeySigner(
        signing_cert=certificate,
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
        private_key=identity.private_key,
    )


class _LoadedKeySigner(signers.SimpleSigner):
    """``SimpleSigner`` parses its key again for every signature (twice per PDF: a dry run sizes the space to
    reserve), and parsing an RSA 3072 key checks it, about 0.25 s. This one signs with the key already loaded."""

    def __init__(
        self,
        *,
        signing_cert: asn1_x509.Certificate,
        signing_key: asn1_keys.PrivateKeyInfo,
        cert_registry: SimpleCertificateStore,
        private_key: PrivateKey,
    ) -> None:
        super().__init__(signing_cert=signing_cert, signing_key=signing_key, cert_registry=cert_registry)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        try:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        except ValueError:
            mechanism = None
        digest = get_pyca_cryptography_hash(digest_algorithm)
        key = self._private_key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), digest)
        if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(digest))
        signature: bytes = super().sign_raw(data, digest_algorithm)  # PSS and the rest: pyHanko's own way
        return signature


def _visible_field(
    writer: IncrementalPdfFileWriter,
    identity: SigningIdentity,
    field_name: str,
    appearance: Appearance | None,
    signed_at: datetime,
) -> tuple[fields.SigFieldSpec, StaticStampStyle | None]:
    if appearance is None:
        return fields.SigFieldSpec(sig_field_name=field_name), None
    subject = identity.certificate.subject
    lines = appearance.text_lines(
        name=identity.display_name,
        position=name_attribute(subject, NameOID.TITLE),
        agency=name_attribute(subject, NameOID.ORGANIZATION_NAME),
        signed_at=signed_at,
    )
    page_box = _page_box(writer, appearance.page)
    box = _whole_points(appearance.box or appearance.default_box(page_box, lines))
    x1, y1, x2, y2 = box
    drawing = render(appearance, width=x2 - x1, height=y2 - y1, lines=lines)
    style = StaticStampStyle(
        background=_ImportedPdfBytes(drawing),
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(left=0, right=0, top=0, bottom=0),
        ),
    )
    spec = fields.SigFieldSpec(sig_field_name=field_name, on_page=appearance.page, box=box)
    return spec, style


def _whole_points(box: Box) -> tuple[int, int, int, int]:
    # pyHanko takes integer boxes; round outwards so the drawing is never cropped.
    x1, y1, x2, y2 = box
    return math.floor(x1), math.floor(y1), math.ceil(x2), math.ceil(y2)


def _page_box(writer: IncrementalPdfFileWriter, page: int) -> Box:
    try:
        page_ref, _ = writer.find_page_for_modification(page)  # type: ignore[no-untyped-call]
    except (PdfError, IndexError, KeyError, ValueError) as exc:
        raise SigningError(f"the PDF has no page {page}") from exc
    page_object = page_ref.get_object()
    visible = find_inherited_value_in_tree(page_object, "/CropBox", "/Parent")  # type: ignore[no-untyped-call]
    if visible is None:
        visible = find_inherited_value_in_tree(page_object, "/MediaBox", "/Parent")  # type: ignore[no-untyped-call]
    if visible is None:
        raise SigningError(f"page {page} has no /MediaBox")
    x1, y1, x2, y2 = (float(v) for v in visible)
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


class _ImportedPdfBytes(content.PdfContent):
    """The first page of an in-memory PDF as a form XObject (pyHanko's ``ImportedPdfPage`` wants a file)."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = data

    def render(self) -> bytes:
        writer = self._ensure_writer
        xobject = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(self._data)), page_ix=0)
        resource_name = "/Appearance" + uuid.uuid4().hex
        self.resources.xobject[generic.NameObject(resource_name)] = xobject
        x1, y1, x2, y2 = (float(v) for v in xobject.get_object()["/BBox"])
        self.box = layout.BoxConstraints(width=abs(x2 - x1), height=abs(y2 - y1))
        return resource_name.encode("ascii") + b" Do"


def _check_field_name(field_name: str) -> None:
    # A dot would make pyHanko read the name as a path of nested fields.
    if not field_name or "." in field_name:
        raise SigningError(f"field name {field_name!r} must be non-empty and contain no dot")


def _check_identity(identity: SigningIdentity, signed_at: datetime) -> None:
    certificate = identity.certificate
    if not certificate.not_valid_before_utc <= signed_at <= certificate.not_valid_after_utc:
        raise SigningError(
            f"the signer's certificate is valid from {certificate.not_valid_before_utc.isoformat()} "
            f"to {certificate.not_valid_after_utc.isoformat()}, not at the signing time {signed_at.isoformat()}"
        )
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise SigningError("the signer's certificate does not allow digital signatures (key usage)")


def _ensure_no_running_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError("sign_pdf runs its own event loop; call it through asyncio.to_thread from async code")
