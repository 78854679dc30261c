"""Alembic environment of svc-identity (the shared runner does the work)."""

from egov_identity import models  # noqa: F401  (registers the tables on the metadata)
from egov_identity.config import Settings
from egov_identity.db import Base
from egov_shared.migrations import run_env

run_env(Base.metadata, lambda: Settings().database_url)
