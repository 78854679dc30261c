"""The administrators' corrections of the working calendar, replicated from svc-dossier.

Revision ID: feedback_0003
Revises: feedback_0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "feedback_0003"
down_revision: str | None = "feedback_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_corrections",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_corrections")),
    )


def downgrade() -> None:
    op.drop_table("calendar_corrections")
