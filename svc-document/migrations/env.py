"""Alembic environment of svc-document (the shared runner does the work)."""

from egov_document import models  # noqa: F401  (registers the tables on the metadata)
from egov_document.config import Settings
from egov_document.db import Base
from egov_shared.migrations import run_env

run_env(Base.metadata, lambda: Settings().database_url)
