"""campaign scheduler: audience cursor, caller round robin, attempt claims and indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Columns the scheduler keeps its durable state in, and the indexes its due-attempt queries use."""
    with op.batch_alter_table("campaign") as batch_op:
        batch_op.add_column(sa.Column("audience_cursor", advanced_alchemy.types.guid.GUID(length=16), nullable=True))
        batch_op.add_column(sa.Column("audience_loaded", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("caller_cursor", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("campaign") as batch_op:
        batch_op.alter_column("audience_loaded", server_default=None)
        batch_op.alter_column("caller_cursor", server_default=None)
    with op.batch_alter_table("campaign_attempt") as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))
        batch_op.create_index("ix_attempt_campaign_due", ["campaign_id", "status", "due_at"], unique=False)
        batch_op.create_index("ux_attempt_contact_no", ["campaign_id", "contact_id", "attempt_no"], unique=True)


def downgrade() -> None:
    """Drop the scheduler's columns and indexes."""
    with op.batch_alter_table("campaign_attempt") as batch_op:
        batch_op.drop_index("ux_attempt_contact_no")
        batch_op.drop_index("ix_attempt_campaign_due")
        batch_op.drop_column("claimed_by")
    with op.batch_alter_table("campaign") as batch_op:
        batch_op.drop_column("caller_cursor")
        batch_op.drop_column("audience_loaded")
        batch_op.drop_column("audience_cursor")
