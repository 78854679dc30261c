"""Settings of svc-document (environment variables ``EGOV_DOCUMENT_*``, shared ones ``EGOV_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from egov_shared.settings import ServiceSettings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
MiB = 1024 * 1024
DEV_URL_SIGNING_SECRET = "dev-only-file-url-secret"


class Partner(BaseModel):
    url: str
    token: SecretStr


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EGOV_DOCUMENT_", extra="ignore", populate_by_name=True)

    service_name: ClassVar[str] = "document"
    dev_secrets: ClassVar[dict[str, str]] = {"url_signing_secret": DEV_URL_SIGNING_SECRET}

    # Where file bytes go: a local directory (embedded default) or an S3-compatible object store.
    storage: Literal["local", "s3"] = "local"
    files_dir: Path | None = None  # default: <EGOV_VAR_DIR>/files
    s3_endpoint_url: str | None = None
    s3_bucket: str = "egov-documents"
    s3_region: str = "ap-southeast-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None

    max_upload_bytes: int = Field(default=25 * MiB, ge=1)
    # ClamAV's clamd (INSTREAM protocol); off by default in embedded mode.
    clamd_host: str | None = None
    clamd_port: int = 3310
    clamd_timeout_seconds: float = 30.0

    # The PKI: a development root CA made on first start (refused in production), and/or the configured
    # government CA chain (PEM) whose roots are trusted when verifying.
    development_pki: bool = True
    ca_chain_pem: str | None = None

    # Document systems outside this deployment, by agency code: {"000.00.00.H56": {"url": ..., "token": ...}}.
    # A recipient listed here gets edXML over our HTTP binding; others inside the agency tree get it directly.
    partners: dict[str, Partner] = Field(default_factory=dict)
    # PEM roots (or pinned certificates) that partners' XML signatures must chain to, besides our own PKI.
    partner_trust_pem: str | None = None
    delivery_period_seconds: float = Field(default=10.0, gt=0)

    url_signing_secret: SecretStr = SecretStr(DEV_URL_SIGNING_SECRET)
    signed_url_seconds: int = Field(default=300, ge=10, le=3600)

    def _refuse_dev_defaults(self) -> None:
        super()._refuse_dev_defaults()
        if self.development_pki:
            raise ValueError(
                "EGOV_ENV=production refuses EGOV_DOCUMENT_DEVELOPMENT_PKI; configure the CA chain"
            )

    def resolved_files_dir(self) -> Path:
        return self.files_dir or (self.var_dir / "files")
