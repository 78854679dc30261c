"""Every table of svc-document, imported together so the metadata is complete (migrations, tests)."""

from egov_document.delivery.models import Dispatch, OutboundStatus
from egov_document.documents.models import DocumentTrace, OfficialDocument
from egov_document.files.models import Blob, FileGrant, StoredFile
from egov_document.signatures.models import CertificateAuthority, SigningCredential

__all__ = [
    "Blob",
    "CertificateAuthority",
    "Dispatch",
    "DocumentTrace",
    "FileGrant",
    "OfficialDocument",
    "OutboundStatus",
    "SigningCredential",
    "StoredFile",
]
