"""Every table of svc-document, imported together so the metadata is complete (migrations, tests)."""

from egov_document.documents.models import DocumentTrace, OfficialDocument
from egov_document.files.models import Blob, FileGrant, StoredFile

__all__ = ["Blob", "DocumentTrace", "FileGrant", "OfficialDocument", "StoredFile"]
