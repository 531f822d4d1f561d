"""provider keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the table of cloud provider API keys (one per account and provider, Fernet-encrypted)."""

    op.create_table(
        "provider_key",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("key_encrypted", sa.Text(), nullable=False),
        sa.Column("key_last4", sa.String(length=4), nullable=False),
        sa.Column("account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_provider_key_account_id_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_key")),
        sa.UniqueConstraint("account_id", "provider", name=op.f("uq_provider_key_account_id")),
    )
    with op.batch_alter_table("provider_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_key_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    """Drop the provider keys."""

    with op.batch_alter_table("provider_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_key_account_id"))

    op.drop_table("provider_key")
