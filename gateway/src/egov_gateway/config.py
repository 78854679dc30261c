"""Gateway settings: where each service lives, and the edge's limits, timeouts and CORS policy."""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from egov_gateway.routes import SERVICES
from egov_shared.settings import ServiceSettings

MiB = 1024 * 1024


class GatewaySettings(ServiceSettings):
    """``EGOV_GATEWAY_*``. An upstream URL left unset means that service is not deployed behind this gateway."""

    model_config = SettingsConfigDict(env_prefix="EGOV_GATEWAY_", extra="ignore", populate_by_name=True)

    service_name: ClassVar[str] = "gateway"
    # It stores nothing, so nothing is encrypted: production needs no EGOV_KEY_ENCRYPTION_KEY here.
    uses_key_encryption_key: ClassVar[bool] = False

    # The gateway keeps no database; a non-SQLite placeholder keeps the base class from inventing a SQLite
    # file (and from refusing it in production).
    database_url: str = "none://"

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    identity_url: str | None = None
    dossier_url: str | None = None
    payment_url: str | None = None
    feedback_url: str | None = None
    document_url: str | None = None

    max_body_bytes: int = Field(default=32 * MiB, ge=0)
    # Longest silence allowed from an upstream: before its response headers, and between body chunks.
    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    # /readyz and /openapi.json ask every service at once and wait at most this long for each.
    probe_timeout_seconds: float = Field(default=2.0, gt=0)
    upstream_pool_size: int = Field(default=512, ge=1)

    # Origins may be given as JSON (``["https://a", "https://b"]``) or comma separated. ``*`` allows any.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["http://localhost:3000"])
    cors_allow_credentials: bool = True
    cors_max_age_seconds: int = Field(default=600, ge=0)

    access_log: bool = True

    # Tokens (DESIGN §6): the issuer is the shared EGOV_ISSUER; its keys come from the identity service's
    # /oauth2/jwks through the gateway's own upstream (so EGOV_JWKS_URL is not used here).
    jwks_refresh_seconds: float = Field(default=300.0, gt=0)
    # While no JWKS could be fetched (identity not up yet), or after a failed refresh.
    jwks_retry_seconds: float = Field(default=5.0, gt=0)
    # A token naming an unknown key refreshes the JWKS at most this often.
    jwks_min_refresh_seconds: float = Field(default=10.0, ge=0)
    # Verified tokens remembered (by their hash, never past their expiry); 0 verifies every time.
    token_cache_size: int = Field(default=10_000, ge=0)

    # Token buckets per caller: requests per second, and how many may come at once.
    rate_limits_enabled: bool = True
    rate_limit_authenticated_per_second: float = Field(default=50.0, gt=0)
    rate_limit_authenticated_burst: int = Field(default=100, ge=1)
    rate_limit_anonymous_per_second: float = Field(default=20.0, gt=0)
    rate_limit_anonymous_burst: int = Field(default=100, ge=1)
    # POST /oauth2/token and /oauth2/authorize per IP, on top of the above: against credential stuffing.
    rate_limit_credentials_per_second: float = Field(default=1.0, gt=0)
    rate_limit_credentials_burst: int = Field(default=20, ge=1)
    rate_limit_max_keys: int = Field(default=100_000, ge=1)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    def upstream_urls(self) -> dict[str, str]:
        """Configured services only, in the order of :data:`SERVICES`."""
        urls: dict[str, str] = {}
        for name in SERVICES:
            url = getattr(self, f"{name}_url")
            if url:
                urls[name] = url.rstrip("/")
        return urls
