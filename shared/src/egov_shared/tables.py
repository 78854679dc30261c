"""The infrastructure tables every service database has: outbox, inbox, idempotency keys, counters, jobs.

They live on their own metadata (not the service's) because the SQL is the same in every service database;
each service's first migration creates them with :func:`egov_shared.migrations.create_infrastructure_tables`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, UniqueConstraint, Uuid, text

from egov_shared.db import UTCDateTime, new_metadata

metadata = new_metadata()

# BIGINT does not auto-increment on SQLite; INTEGER PRIMARY KEY does.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("envelope", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
    Index(
        "ix_outbox_unsent",
        "id",
        postgresql_where=text("sent_at IS NULL"),
        sqlite_where=text("sent_at IS NULL"),
    ),
    Index("ix_outbox_sent_at", "sent_at"),
)

inbox = Table(
    "inbox",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("event_type", String(200), nullable=False),
    Column("received_at", UTCDateTime, nullable=False, index=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("scope", String(200), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("locked_until", UTCDateTime, nullable=False),
    Column("response_status", Integer, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("response_headers", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    UniqueConstraint("scope", "key"),
)

counters = Table(
    "counters",
    metadata,
    Column("series", String(200), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

periodic_jobs = Table(
    "periodic_jobs",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("next_run_at", UTCDateTime, nullable=False),
    Column("last_holder", String(200), nullable=True),
    Column("last_started_at", UTCDateTime, nullable=True),
)

INFRASTRUCTURE_TABLES = frozenset(metadata.tables)
