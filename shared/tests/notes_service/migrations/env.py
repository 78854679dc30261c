"""Alembic environment of the notes test service."""

from notes_service.app import Base, Settings

from egov_shared.migrations import run_env

run_env(Base.metadata, lambda: Settings().database_url)
