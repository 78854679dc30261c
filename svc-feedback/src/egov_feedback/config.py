"""Settings of svc-feedback (environment variables ``EGOV_FEEDBACK_*``, shared ones ``EGOV_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from egov_shared.settings import ServiceSettings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

DEMO_OPEN311_KEY = "demo-open311-key"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EGOV_FEEDBACK_", extra="ignore", populate_by_name=True)

    service_name: ClassVar[str] = "feedback"

    # The Open311 key of the demo partner, stored hashed when demo data is seeded.
    demo_open311_key: str = DEMO_OPEN311_KEY
    # Abuse limits (fixed windows counted in the database, so every replica sees the same count).
    anonymous_reports_per_window: int = Field(default=5, ge=1)
    open311_reports_per_window: int = Field(default=20, ge=1)
    rate_window_seconds: int = Field(default=3600, ge=1)
    # How often overdue reports are looked for (escalation, auto-close after the reopen window).
    sla_job_seconds: int = Field(default=300, ge=1)
    # The public contact shown in Open311 discovery.
    open311_contact: str = "Trung tâm Phục vụ hành chính công tỉnh, 1022"
