"""Alembic environment of svc-feedback (the shared runner does the work)."""

from egov_feedback import models  # noqa: F401  (registers the tables on the metadata)
from egov_feedback.config import Settings
from egov_feedback.db import Base
from egov_shared.migrations import run_env

run_env(Base.metadata, lambda: Settings().database_url)
