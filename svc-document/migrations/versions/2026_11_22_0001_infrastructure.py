"""Infrastructure tables: outbox, inbox, idempotency keys, counters, periodic jobs.

Revision ID: document_0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from egov_shared.migrations import create_infrastructure_tables, drop_infrastructure_tables

revision: str = "document_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_infrastructure_tables()


def downgrade() -> None:
    drop_infrastructure_tables()
