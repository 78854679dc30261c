"""Checking the signatures of any uploaded PDF, with pyHanko's validator, as a report in plain words.

For each signature: who signed (from the certificate), when, whether the signed bytes are intact, how much of
the file the signature covers and what changed after it (only further signatures and form fields is fine;
new page content is not), whether the certificate chain leads to one of the given trust roots, and whether
the certificate was valid at the signing time. ``validate_pdf`` never raises for bad input: a file that is not
a PDF, is damaged or has no signatures gives a report saying so.

Revocation is not checked: no OCSP responder or CRL is reachable from here, so pyHanko never fetches
(``allow_fetching=False``) and every report says ``revocation: "not checked"``.

Without a trusted timestamp (PAdES B-B) the signing time is only what the signer claimed, so the chain is
validated at the current time (or at ``at``, for a time the service itself recorded): a certificate that has
expired since makes the signature unprovable, which the report says in so many words.

pyHanko runs an event loop of its own: call ``validate_pdf`` from a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESSubIndic
from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    SignatureCoverageLevel,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import DocumentTimestampStatus, ModificationInfo, PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from egov_document.signing.appearance import format_signing_time
from egov_document.signing.pki import name_attribute

NOT_CHECKED = "not checked"
PADES_SUBFILTER = "/ETSI.CAdES.detached"
# Either bit is enough: certificates from Vietnamese CAs carry both, some foreign ones only one.
SIGNER_KEY_USAGE = KeyUsageConstraints(key_usage={"non_repudiation", "digital_signature"})
_ACCEPTED_LATER_CHANGES = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "validation data and timestamps only",
    ModificationLevel.FORM_FILLING: "signatures and form fields only",
    ModificationLevel.ANNOTATIONS: "signatures, form fields and annotations only",
}


@dataclass(frozen=True)
class SignatureReport:
    """One signature (or document timestamp) in the file, in the order they were applied."""

    field_name: str
    kind: str  # "signature" or "document timestamp"
    valid: bool
    reasons: list[str]
    signer: str | None = None  # subject CN
    organization: str | None = None  # subject O
    position: str | None = None  # subject title
    agency_code: str | None = None  # subject OU, where our certificates keep the 13-character agency code
    issuer: str | None = None
    certificate_serial: str | None = None  # hexadecimal
    signing_time: datetime | None = None
    signing_time_source: str = "unknown"  # "timestamp token", "claimed by the signer" or "unknown"
    profile: str = "unknown"  # "PAdES B-B", "PAdES B-T", "PDF signature (adbe.pkcs7.detached), not PAdES"
    intact: bool = False
    coverage: str = "unknown"  # "whole file", "up to its revision", "part of the file"
    later_changes: str = "unknown"  # "none", "signatures and form fields only", "other changes", ...
    modified_after_signing: bool = False
    trusted: bool = False
    trust: str = ""  # why or why not, in plain words
    certificate_valid_at_signing_time: bool | None = None
    revocation: str = NOT_CHECKED


@dataclass(frozen=True)
class ValidationReport:
    """The verdict on a whole file: valid when it has signatures and every one of them is valid."""

    valid: bool
    reasons: list[str]
    signatures: list[SignatureReport] = field(default_factory=list)
    revocation: str = NOT_CHECKED

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, signing times in ISO 8601 with the Vietnamese offset."""
        data = asdict(self)
        for signature in data["signatures"]:
            moment = signature["signing_time"]
            signature["signing_time"] = None if moment is None else format_signing_time(moment)
        return data


def validate_pdf(
    pdf: bytes, trust_roots: Sequence[x509.Certificate], *, at: datetime | None = None
) -> ValidationReport:
    """Check every signature in ``pdf`` against ``trust_roots``; ``at`` validates the chains at that (aware)
    time instead of now. Never raises for a bad file."""
    _ensure_no_running_loop()
    if at is not None and at.utcoffset() is None:
        raise ValueError("at must be timezone-aware")
    if b"%PDF-" not in pdf[:1024]:
        return ValidationReport(valid=False, reasons=["not a PDF"])
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        if reader.encrypted:
            return ValidationReport(
                valid=False, reasons=["the PDF is encrypted; its signatures cannot be checked"]
            )
        found = list(enumerate_sig_fields(reader, filled_status=True))
    except Exception as exc:  # anything pyHanko's parser raises means the same to the reader of the report
        return ValidationReport(
            valid=False, reasons=[f"the PDF is damaged or truncated and cannot be read ({exc})"]
        )
    if not found:
        return ValidationReport(valid=False, reasons=["the PDF has no digital signatures"])

    roots = [
        asn1_x509.Certificate.load(root.public_bytes(serialization.Encoding.DER)) for root in trust_roots
    ]
    reports: list[tuple[int, SignatureReport]] = []
    for name, _, sig_field in found:
        try:
            embedded = EmbeddedPdfSignature(reader, sig_field, name)
        except Exception as exc:
            report = SignatureReport(
                field_name=name,
                kind="signature",
                valid=False,
                reasons=[f"the signature cannot be read ({exc})"],
            )
            reports.append((sys.maxsize, report))  # unreadable ones last
            continue
        try:
            report = _check(embedded, roots, at)
        except Exception as exc:  # a malformed signature must not hide the others
            report = SignatureReport(
                field_name=name,
                kind="signature",
                valid=False,
                reasons=[f"the signature could not be checked ({type(exc).__name__}: {exc})"],
            )
        reports.append((embedded.signed_revision, report))

    signatures = [report for _, report in sorted(reports, key=lambda item: item[0])]
    reasons = [
        f"signature {index} ({report.signer or report.field_name}): {reason}"
        for index, report in enumerate(signatures, start=1)
        for reason in report.reasons
    ]
    return ValidationReport(
        valid=all(report.valid for report in signatures), reasons=reasons, signatures=signatures
    )


def _check(embedded: EmbeddedPdfSignature, roots: list[Any], at: datetime | None) -> SignatureReport:
    context = ValidationContext(
        trust_roots=roots, moment=at, allow_fetching=False, revocation_mode="soft-fail"
    )
    certificate = x509.load_der_x509_certificate(embedded.signer_cert.dump())
    subfilter = str(embedded.sig_object.get("/SubFilter", ""))
    status: PdfSignatureStatus | DocumentTimestampStatus
    signing_time: datetime | None
    if embedded.sig_object_type == "/DocTimeStamp":
        status = validate_pdf_timestamp(embedded, validation_context=context)
        kind, profile = "document timestamp", "document timestamp (RFC 3161)"
        signing_time, time_source = status.timestamp, "timestamp token"
        timestamp_ok = True
    else:
        status = validate_pdf_signature(embedded, context, key_usage_settings=SIGNER_KEY_USAGE)
        kind = "signature"
        token = status.timestamp_validity
        timestamp_ok = token is None or (token.intact and token.valid and token.trusted)
        if token is not None and timestamp_ok:
            signing_time, time_source = token.timestamp, "timestamp token"
        else:
            signing_time = status.signer_reported_dt
            time_source = "claimed by the signer" if signing_time else "unknown"
        if subfilter == PADES_SUBFILTER:
            profile = "PAdES B-T" if token is not None else "PAdES B-B"
        else:
            profile = f"PDF signature ({subfilter.lstrip('/')}), not PAdES"

    reasons: list[str] = []
    intact = status.intact and status.valid
    if not status.intact:
        reasons.append("the signed content was altered: the document does not match its signature")
    elif not status.valid:
        reasons.append("the signature value is cryptographically invalid")

    coverage, later_changes, modified = _modifications(status)
    if coverage == "part of the file":
        reasons.append("the signature covers only part of the file, so it cannot vouch for the document")
    elif modified:
        reasons.append(f"the document was modified after signing ({later_changes})")

    valid_then = _valid_at(certificate, signing_time)
    if valid_then is False:
        reasons.append(
            f"the certificate was not valid at the signing time (valid {_iso(certificate.not_valid_before_utc)}"
            f" to {_iso(certificate.not_valid_after_utc)}, signed {_iso(signing_time)})"
        )

    trust = _trust(status, certificate)
    if intact and not status.trusted:  # a broken signature says nothing about its chain
        reasons.append(trust)
    if not timestamp_ok:
        reasons.append("the signature's timestamp token is invalid or not trusted")

    valid = (
        intact
        and status.trusted
        and not modified
        and coverage != "part of the file"
        and valid_then is not False
    )
    valid = valid and timestamp_ok
    return SignatureReport(
        field_name=embedded.field_name,
        kind=kind,
        valid=valid,
        reasons=reasons,
        signer=name_attribute(certificate.subject, NameOID.COMMON_NAME),
        organization=name_attribute(certificate.subject, NameOID.ORGANIZATION_NAME),
        position=name_attribute(certificate.subject, NameOID.TITLE),
        agency_code=name_attribute(certificate.subject, NameOID.ORGANIZATIONAL_UNIT_NAME),
        issuer=name_attribute(certificate.issuer, NameOID.COMMON_NAME) or certificate.issuer.rfc4514_string(),
        certificate_serial=format(certificate.serial_number, "x"),
        signing_time=signing_time,
        signing_time_source=time_source,
        profile=profile,
        intact=intact,
        coverage=coverage,
        later_changes=later_changes,
        modified_after_signing=modified,
        trusted=status.trusted,
        trust=trust,
        certificate_valid_at_signing_time=valid_then,
    )


def _modifications(status: ModificationInfo) -> tuple[str, str, bool]:
    """(coverage, what changed later, modified after signing?)."""
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return "whole file", "none", False
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return "part of the file", "unknown", True
    diff = status.diff_result
    if isinstance(diff, DiffResult) and diff.modification_level in _ACCEPTED_LATER_CHANGES:
        modified = status.docmdp_ok is False  # a certification signature may forbid even these
        return "up to its revision", _ACCEPTED_LATER_CHANGES[diff.modification_level], modified
    # pyHanko's SuspiciousModification explains in object numbers; the report keeps to plain words.
    return "up to its revision", "other changes than signatures and form fields", True


def _trust(status: PdfSignatureStatus | DocumentTimestampStatus, certificate: x509.Certificate) -> str:
    if status.trusted and status.validation_path is not None:
        anchor = status.validation_path[0].subject
        return f"the certificate chain leads to the trusted root {anchor.native.get('common_name') or anchor.human_friendly!r}"
    if not (status.intact and status.valid):
        return "not evaluated: the signature itself does not verify"
    issuer = name_attribute(certificate.issuer, NameOID.COMMON_NAME) or certificate.issuer.rfc4514_string()
    indication: AdESSubIndic | None = status.trust_problem_indic
    if indication == AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND:
        return f"not trusted: the certificate's issuer {issuer!r} does not lead to any of the trusted roots"
    if indication in (AdESIndeterminate.OUT_OF_BOUNDS_NO_POE, AdESIndeterminate.EXPIRED):
        return (
            "not trusted: a certificate in the chain has expired, and without a trusted timestamp nothing "
            "proves the signature was made while it was valid"
        )
    if indication in (AdESIndeterminate.NOT_YET_VALID, AdESFailure.NOT_YET_VALID):
        return "not trusted: a certificate in the chain is not yet valid"
    if indication in (
        AdESFailure.REVOKED,
        AdESIndeterminate.REVOKED_NO_POE,
        AdESIndeterminate.REVOKED_CA_NO_POE,
    ):
        return "not trusted: a certificate in the chain has been revoked"
    if indication in (
        AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE,
        AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
    ):
        return "not trusted: the signature or the chain uses an algorithm considered too weak"
    if indication in (AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE, AdESIndeterminate.SIG_CONSTRAINTS_FAILURE):
        return (
            "not trusted: the certificate may not sign documents (its key usage or the chain's constraints)"
        )
    name = getattr(indication, "name", "unknown")
    return f"not trusted: the certificate chain could not be validated ({name})"


def _valid_at(certificate: x509.Certificate, moment: datetime | None) -> bool | None:
    if moment is None:
        return None
    return certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc


def _iso(moment: datetime | None) -> str:
    return "unknown" if moment is None else format_signing_time(moment)


def _ensure_no_running_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        "validate_pdf runs its own event loop; call it through asyncio.to_thread from async code"
    )
