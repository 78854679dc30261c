"""Settings every service shares, read from the environment.

Shared settings are named ``EGOV_*`` (``EGOV_ENV``, ``EGOV_AMQP_URL``); a service's own settings carry its
prefix (``EGOV_DOSSIER_DATABASE_URL``). Defaults are the embedded mode: SQLite under ``./var``, the in-memory
bus. In production, any secret that still holds its development default is refused at start.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_KEY_ENCRYPTION_KEY = "dev-only-key-encryption-key-change-me"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def shared(name: str, **kwargs: Any) -> Any:
    """A field read from ``EGOV_<NAME>`` whatever the service's own prefix."""
    return Field(validation_alias=AliasChoices(f"EGOV_{name}", name.lower()), **kwargs)


class ServiceSettings(BaseSettings):
    """Base of every service's ``Settings``; a subclass sets ``env_prefix`` and ``service_name``."""

    model_config = SettingsConfigDict(env_prefix="EGOV_", extra="ignore", populate_by_name=True)

    service_name: ClassVar[str] = "service"
    # Secrets a subclass adds go here (field name -> development default) so production refuses them.
    dev_secrets: ClassVar[dict[str, str]] = {}
    # Whether the service keeps data encrypted under ``EGOV_KEY_ENCRYPTION_KEY``. One that holds none (the
    # gateway) sets False, so production does not demand a key it would never use.
    uses_key_encryption_key: ClassVar[bool] = True

    env: Environment = shared("ENV", default=Environment.DEVELOPMENT)
    var_dir: Path = shared("VAR_DIR", default=Path("var"))
    database_url: str = ""
    # Connections per process to a PostgreSQL database (as many again may open in a burst).
    db_pool_size: int = shared("DB_POOL_SIZE", default=10, ge=1, le=200)
    amqp_url: str | None = shared("AMQP_URL", default=None)
    events_exchange: str = shared("EVENTS_EXCHANGE", default="egov.events")
    # Prefix for queue names, so test runs sharing one broker never collide.
    queue_prefix: str = shared("QUEUE_PREFIX", default="")
    demo_data: bool = shared("DEMO_DATA", default=False)
    migrate_on_start: bool = shared("MIGRATE_ON_START", default=True)
    key_encryption_key: SecretStr = shared("KEY_ENCRYPTION_KEY", default=SecretStr(DEV_KEY_ENCRYPTION_KEY))
    # The token issuer as clients see it (the gateway's public URL) and where its public keys are published.
    issuer: str = shared("ISSUER", default="http://localhost:8000")
    jwks_url: str = shared("JWKS_URL", default="http://127.0.0.1:8000/oauth2/jwks")
    # Where other services' public APIs are reached (the gateway), for the few calls that need an answer now.
    api_url: str = shared("API_URL", default="http://127.0.0.1:8000")
    log_level: str = shared("LOG_LEVEL", default="INFO")
    log_json: bool = shared("LOG_JSON", default=True)
    retention_days: int = shared("RETENTION_DAYS", default=7, ge=1)
    relay_poll_seconds: float = shared("RELAY_POLL_SECONDS", default=1.0, gt=0)
    relay_batch_size: int = shared("RELAY_BATCH_SIZE", default=100, ge=1)
    consumer_prefetch: int = shared("CONSUMER_PREFETCH", default=16, ge=1)
    consumer_max_deliveries: int = shared("CONSUMER_MAX_DELIVERIES", default=5, ge=1)
    consumer_retry_delay_seconds: float = shared("CONSUMER_RETRY_DELAY_SECONDS", default=0.5, ge=0)
    jobs_tick_seconds: float = shared("JOBS_TICK_SECONDS", default=5.0, gt=0)
    run_background_tasks: bool = shared("RUN_BACKGROUND_TASKS", default=True)

    @model_validator(mode="after")
    def _defaults_and_production_guard(self) -> ServiceSettings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.var_dir / (self.service_name + '.db')}"
        if self.env is Environment.PRODUCTION:
            self._refuse_dev_defaults()
        return self

    def _refuse_dev_defaults(self) -> None:
        offending: list[str] = []
        if (
            self.uses_key_encryption_key
            and self.key_encryption_key.get_secret_value() == DEV_KEY_ENCRYPTION_KEY
        ):
            offending.append("EGOV_KEY_ENCRYPTION_KEY")
        for field, default in self.dev_secrets.items():
            value = getattr(self, field)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            if raw == default:
                offending.append(field)
        if self.demo_data:
            offending.append("EGOV_DEMO_DATA")
        if self.database_url.startswith("sqlite"):
            offending.append(f"{self.service_name} database_url (SQLite)")
        if offending:
            raise ValueError("EGOV_ENV=production refuses development values: " + ", ".join(offending))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
