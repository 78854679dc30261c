"""Settings of svc-document (environment variables ``EGOV_DOCUMENT_*``, shared ones ``EGOV_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from egov_shared.settings import ServiceSettings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EGOV_DOCUMENT_", extra="ignore", populate_by_name=True)

    service_name: ClassVar[str] = "document"
