"""Notes, the events applied, and the infrastructure tables."""

import sqlalchemy as sa
from alembic import op

from egov_shared.migrations import create_infrastructure_tables, drop_infrastructure_tables

revision = "notes_0001"
down_revision = None


def upgrade() -> None:
    create_infrastructure_tables()
    op.create_table(
        "notes",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("number", sa.Integer, nullable=False, unique=True),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "applied_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Uuid, nullable=False, index=True),
        sa.Column("note_id", sa.Uuid, sa.ForeignKey("notes.id", ondelete="CASCADE"), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("applied_events")
    op.drop_table("notes")
    drop_infrastructure_tables()
