"""Settings of svc-identity (environment variables ``EGOV_IDENTITY_*``, shared ones ``EGOV_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from egov_shared.settings import ServiceSettings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EGOV_IDENTITY_", extra="ignore", populate_by_name=True)

    service_name: ClassVar[str] = "identity"

    access_token_lifetime_seconds: int = Field(default=600, ge=60, le=3600)
    id_token_lifetime_seconds: int = Field(default=600, ge=60, le=3600)
    refresh_token_lifetime_seconds: int = Field(default=30 * 24 * 3600, ge=300)
    authorization_code_lifetime_seconds: int = Field(default=60, ge=10, le=600)
    # Brute force: this many failed logins for one account within the window lock it for the lockout period.
    lockout_threshold: int = Field(default=5, ge=1)
    lockout_window_seconds: int = Field(default=15 * 60, ge=1)
    lockout_seconds: int = Field(default=15 * 60, ge=1)
    # A retired signing key stays in the JWKS this long after it stopped signing (tokens it signed expire first).
    retired_key_grace_seconds: int = Field(default=3600, ge=60)
    # Automatic rotation of the token-signing key (0: only by the admin endpoint or command).
    key_rotation_days: int = Field(default=90, ge=0)
    # The agency tree is published again this often, so a service that missed an event catches up.
    agency_republish_minutes: float = Field(default=10, gt=0)
    totp_issuer: str = "Cổng dịch vụ công tỉnh"
