"""webhooks: endpoints per account and their deliveries with attempts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
UTC_TIME = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _audit_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("account_id", GUID, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
    ]


def upgrade() -> None:
    """Add webhook endpoints (URL, events, encrypted secret) and deliveries (payload, status, attempts)."""
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", GUID, nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("secret_last4", sa.String(length=4), nullable=False),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_webhook_endpoint_account_id_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )
    with op.batch_alter_table("webhook_endpoint") as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_endpoint_account_id"), ["account_id"], unique=False)

    op.create_table(
        "webhook_delivery",
        sa.Column("id", GUID, nullable=False),
        sa.Column("endpoint_id", GUID, nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("payload", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "delivered", "failed", name="webhookdeliverystatus", native_enum=False, length=17),
            nullable=False,
        ),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("attempts", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=True),
        sa.Column("delivered_at", UTC_TIME, nullable=True),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_webhook_delivery_account_id_account"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoint.id"],
            name=op.f("fk_webhook_delivery_endpoint_id_webhook_endpoint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
    )
    with op.batch_alter_table("webhook_delivery") as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_delivery_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ix_webhook_delivery_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_webhook_delivery_endpoint", ["endpoint_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhook_delivery_event_id"), ["event_id"], unique=False)


def downgrade() -> None:
    """Drop the webhook tables."""
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_endpoint")
