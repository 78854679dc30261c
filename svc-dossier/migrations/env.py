"""Alembic environment of svc-dossier (the shared runner does the work)."""

from egov_dossier import models  # noqa: F401  (registers the tables on the metadata)
from egov_dossier.config import Settings
from egov_dossier.db import Base
from egov_shared.migrations import run_env

run_env(Base.metadata, lambda: Settings().database_url)
