"""Settings of svc-dossier (environment variables ``EGOV_DOSSIER_*``, shared ones ``EGOV_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from egov_dossier.dossiers.codes import DEFAULT_PATTERN
from egov_shared.settings import ServiceSettings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EGOV_DOSSIER_", extra="ignore", populate_by_name=True)

    service_name: ClassVar[str] = "dossier"

    # The dossier code (mã hồ sơ): common practice, not law. Fields: agency, date (Vietnamese time), seq.
    code_pattern: str = DEFAULT_PATTERN
    # Working-calendar corrections are published again this often, for services that missed them.
    calendar_republish_minutes: float = Field(default=60, gt=0)
