"""Alembic environment of svc-payment (the shared runner does the work)."""

from egov_payment import models  # noqa: F401  (registers the tables on the metadata)
from egov_payment.config import Settings
from egov_payment.db import Base
from egov_shared.migrations import run_env

run_env(Base.metadata, lambda: Settings().database_url)
