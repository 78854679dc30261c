"""Alembic for every service: one way to run the history, on start (embedded) or with ``egov-migrate``.

A service's ``migrations/env.py`` is one call to :func:`run_env`. Its first revision calls
:func:`create_infrastructure_tables` for the outbox, inbox, idempotency, counter and job tables.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from egov_shared import tables
from egov_shared.db import UTCDateTime, create_engine


def alembic_config(migrations_dir: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("path_separator", "os")
    return config


async def upgrade(engine: AsyncEngine, migrations_dir: Path, revision: str = "head") -> None:
    """Upgrade the database to ``revision``; replicas starting together take turns (an advisory lock)."""
    config = alembic_config(migrations_dir)

    def _run(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": str(migrations_dir)}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_run)


def run_env(target_metadata: MetaData, database_url: Callable[[], str]) -> None:
    """The whole body of a service's ``migrations/env.py``."""
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is not None:
        _run_on(connection, target_metadata)
        return
    if context.is_offline_mode():
        context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    async def _online() -> None:
        engine = create_engine(database_url())
        try:
            async with engine.begin() as conn:
                await conn.run_sync(_run_on, target_metadata)
        finally:
            await engine.dispose()

    asyncio.run(_online())


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # The infrastructure tables are not on the service's metadata; autogenerate must not drop them.
    return not (type_ == "table" and name in tables.INFRASTRUCTURE_TABLES | {"agency_directory"})


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Revisions store plain column types: a UTC datetime is a timezone-aware DATETIME in the database.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run_on(connection: Connection, target_metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=_include_object,
        render_item=_render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def create_infrastructure_tables() -> None:
    """Create the outbox, inbox, idempotency, counter and job tables (version 1); call from a revision."""
    from alembic import op

    tables.metadata.create_all(bind=op.get_bind())


def create_agency_directory_table() -> None:
    """The replicated agency tree (egov_shared.agencies), for services that consume identity.agency_upserted."""
    from alembic import op

    from egov_shared import agencies

    agencies.metadata.create_all(bind=op.get_bind())


def drop_agency_directory_table() -> None:
    from alembic import op

    from egov_shared import agencies

    agencies.metadata.drop_all(bind=op.get_bind())


def drop_infrastructure_tables() -> None:
    from alembic import op

    tables.metadata.drop_all(bind=op.get_bind())


def main(argv: list[str] | None = None) -> int:
    """``egov-migrate <service> [revision]``: run a service's migrations against its configured database."""
    parser = argparse.ArgumentParser(prog="egov-migrate", description=main.__doc__)
    parser.add_argument("service", help="identity, dossier, payment, feedback or document")
    parser.add_argument("revision", nargs="?", default="head")
    args = parser.parse_args(argv)
    config_module = importlib.import_module(f"egov_{args.service}.config")
    settings = config_module.Settings()
    migrations_dir: Path = config_module.MIGRATIONS_DIR

    async def _go() -> None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine, migrations_dir, args.revision)
        finally:
            await engine.dispose()

    asyncio.run(_go())
    print(f"{args.service}: migrated to {args.revision}", file=sys.stderr)  # noqa: T201
    return 0
