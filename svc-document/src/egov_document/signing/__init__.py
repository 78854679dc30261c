"""Digital signatures on documents: the PKI, PAdES signing with Decree 30 appearances, and validation.

Plain functions and dataclasses, no database and no HTTP: the service stores what these produce (certificates
as PEM, private keys as PEM encrypted under its key-encryption key) and calls them from a worker thread
(``asyncio.to_thread``), since signing and validation are CPU work and pyHanko runs its own event loop.

- ``pki``: ``DevelopmentCA`` (embedded mode) and ``SigningIdentity`` loaded from a configured CA chain (PEM).
- ``pades``: ``sign_pdf`` (PAdES B-B, or B-T with a timestamper), one incremental update per signature.
- ``appearance``: what a visible signature shows (Decree 30/2020/NĐ-CP: signature image, seal, text).
- ``validation``: ``validate_pdf`` for any uploaded PDF, a report in plain words that never raises.
- ``samples``: a sample decision, signature image and seal, for demo data, tests and benchmarks.
"""

from egov_document.signing.appearance import VIETNAM_TZ, Appearance, AppearanceError, format_signing_time
from egov_document.signing.pades import SigningError, sign_pdf
from egov_document.signing.pki import DevelopmentCA, KeyType, PkiError, SigningIdentity, load_certificates
from egov_document.signing.validation import SignatureReport, ValidationReport, validate_pdf

__all__ = [
    "VIETNAM_TZ",
    "Appearance",
    "AppearanceError",
    "DevelopmentCA",
    "KeyType",
    "PkiError",
    "SignatureReport",
    "SigningError",
    "SigningIdentity",
    "ValidationReport",
    "format_signing_time",
    "load_certificates",
    "sign_pdf",
    "validate_pdf",
]
