"""credits: the account's cached balance and its low-balance / auto-reload settings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the cached balance (the ledger's sum, back-filled) and the auto-reload settings."""
    with op.batch_alter_table("account") as batch_op:
        batch_op.add_column(sa.Column("credit_balance", sa.Numeric(14, 4), nullable=True))
        batch_op.add_column(sa.Column("low_balance_threshold", sa.Numeric(14, 4), nullable=True))
        batch_op.add_column(sa.Column("auto_reload_credits", sa.Numeric(14, 4), nullable=True))
        batch_op.add_column(sa.Column("auto_reload_enabled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("low_balance_armed", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("account") as batch_op:
        batch_op.alter_column("auto_reload_enabled", server_default=None)
        batch_op.alter_column("low_balance_armed", server_default=None)
    # Entries written before this revision: the cache starts equal to their sum.
    op.execute(
        "UPDATE account SET credit_balance = "
        "(SELECT SUM(credits) FROM credit_ledger_entry WHERE credit_ledger_entry.account_id = account.id)"
    )


def downgrade() -> None:
    """Drop the balance cache and the auto-reload settings."""
    with op.batch_alter_table("account") as batch_op:
        for column in (
            "low_balance_armed",
            "auto_reload_enabled",
            "auto_reload_credits",
            "low_balance_threshold",
            "credit_balance",
        ):
            batch_op.drop_column(column)
