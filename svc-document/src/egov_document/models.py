"""Every table of svc-document, imported together so the metadata is complete (migrations, tests)."""

from egov_document.files.models import Blob, FileGrant, StoredFile

__all__ = ["Blob", "FileGrant", "StoredFile"]
