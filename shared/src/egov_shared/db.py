"""Database access for both backends: PostgreSQL (asyncpg) and SQLite (aiosqlite).

SQLite serialises writers with ``BEGIN IMMEDIATE`` (plus WAL and a busy timeout), so read-modify-write code
such as the gap-free counters is correct there too; PostgreSQL relies on row locks.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 15_000
READ_ONLY_OPTION = "egov_read_only"

# Connection lost (08), transaction rolled back: deadlock or serialisation (40), too many connections (53),
# shutting down or starting up (57): the database's trouble, not the request's; retrying later may succeed.
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57"})
# ... except a statement cancelled by its own timeout (57014): the same statement would time out again.
QUERY_CANCELED = "57014"
# SQLite's primary result codes for "another connection holds the lock" (past the busy timeout).
SQLITE_BUSY, SQLITE_LOCKED = 5, 6


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is down, restarting, failing over, overloaded or (SQLite) locked past the
    busy timeout, rather than that the request or the code is wrong (a missing table is not an outage). asyncpg
    raises the socket's own error, unwrapped, when PostgreSQL refuses the connection or its name does not resolve;
    the pool raises its timeout when it has no connection to give."""
    if isinstance(
        exc, DisconnectionError | PoolTimeoutError | ConnectionError | socket.gaierror | TimeoutError
    ):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES and sqlstate != QUERY_CANCELED
    # The driver lost the connection without an SQLSTATE (asyncpg's connection errors come as OperationalError).
    return isinstance(exc, OperationalError)


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """Abstract base; every service declares its own subclass with its own metadata (see ``service_base``)."""

    __abstract__ = True


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def is_sqlite_url(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    if is_sqlite_url(url):
        _ensure_sqlite_dir(url)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800
    )


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that we can say BEGIN IMMEDIATE ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front; readers (WAL) need no lock and must not wait for one, or a
        # read made while the same request's unit of work holds the lock would deadlock.
        read_only = conn.get_execution_options().get(READ_ONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def dialect_name(session: AsyncSession) -> str:
    bind = session.get_bind()
    return bind.dialect.name


def dialect_insert(session: AsyncSession) -> Callable[[Any], postgresql.Insert | sqlite.Insert]:
    """``insert`` in the session's dialect, PostgreSQL's or SQLite's: both can say ``ON CONFLICT``."""
    return postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads only (look-ups beside a unit of work, readiness, caches): never take the SQLite
    write lock. Writing through one is a bug that SQLite would report as a busy database."""
    return async_sessionmaker(engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False)
