"""What svc-document's routers need besides the unit of work: settings, file storage and the scanner."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from egov_document.config import Settings
from egov_document.files.scanning import ClamdScanner
from egov_document.files.storage import FileStorage, LocalStorage, S3Storage
from egov_shared.crypto import SecretBox


@dataclass(frozen=True)
class Documents:
    settings: Settings
    storage: FileStorage
    scanner: ClamdScanner | None
    # Private keys of the PKI, encrypted at rest under the key-encryption key.
    vault: SecretBox

    @property
    def upload_dir(self) -> Path:
        """Uploads land here first; on the same file system as local storage, so keeping one is a rename."""
        return self.settings.resolved_files_dir() / "incoming"


def build_storage(settings: Settings) -> FileStorage:
    if settings.storage == "s3":
        return S3Storage(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key.get_secret_value()
            if settings.s3_secret_access_key
            else None,
        )
    return LocalStorage(settings.resolved_files_dir())


def build_scanner(settings: Settings) -> ClamdScanner | None:
    if not settings.clamd_host:
        return None
    return ClamdScanner(settings.clamd_host, settings.clamd_port, timeout=settings.clamd_timeout_seconds)


def get_documents(request: Request) -> Documents:
    documents: Documents = request.app.state.documents
    return documents


DocumentsDep = Annotated[Documents, Depends(get_documents)]
