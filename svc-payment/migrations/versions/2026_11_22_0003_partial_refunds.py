"""Partial refunds by finance: several refunds per payment, who asked and why, and the refunds still waiting
for the provider's answer counted on the invoice (``refund_pending_vnd``, the refundable amount's guard).

Revision ID: payment_0003
Revises: payment_0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payment_0003"
down_revision: str | None = "payment_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refund_pending_vnd", sa.BigInteger(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("requested_by", sa.String(length=64), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_refunds_payment_id"), type_="unique")
        batch_op.create_index(batch_op.f("ix_refunds_payment_id"), ["payment_id"], unique=False)

    # Refunds of a paying payment already sent to VNPay but not yet answered now count on their invoice.
    op.execute(
        """
        UPDATE invoices SET refund_pending_vnd = (
            SELECT COALESCE(SUM(refunds.amount_vnd), 0)
            FROM refunds JOIN payments ON payments.id = refunds.payment_id
            WHERE refunds.invoice_id = invoices.id
              AND refunds.status = 'requested'
              AND payments.overpayment = false
        )
        """
    )


def downgrade() -> None:
    # Fails if a payment has several refunds (partial refunds were made): they cannot be undone.
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_payment_id"))
        batch_op.create_unique_constraint(batch_op.f("uq_refunds_payment_id"), ["payment_id"])
        batch_op.drop_column("requested_by")
        batch_op.drop_column("note")

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("refund_pending_vnd")
