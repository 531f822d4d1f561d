"""initial tables

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table(
        "account",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
    )
    op.create_table(
        "api_key",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("last_used_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("revoked_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_api_key_account_id_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_key_prefix")),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_account_id"), ["account_id"], unique=False)

    op.create_table(
        "assistant",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "template",
            sa.Enum(
                "outbound-setter",
                "inbound-support",
                "follow-up",
                "custom",
                name="assistanttemplate",
                native_enum=False,
                length=23,
            ),
            nullable=False,
        ),
        sa.Column("system_prompt", sa.Text(), nullable=False),
        sa.Column("first_message", sa.Text(), nullable=True),
        sa.Column("llm", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("voice", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("transcriber", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("inbound_enabled", sa.Boolean(), nullable=False),
        sa.Column("outbound_enabled", sa.Boolean(), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("end_call_phrases", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("max_call_duration_s", sa.Integer(), nullable=False),
        sa.Column("silence_timeout_s", sa.Integer(), nullable=False),
        sa.Column("recording_enabled", sa.Boolean(), nullable=False),
        sa.Column("voicemail_message", sa.Text(), nullable=True),
        sa.Column("tools", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("analysis", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_assistant_account_id_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant")),
    )
    with op.batch_alter_table("assistant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assistant_account_id"), ["account_id"], unique=False)

    op.create_table(
        "company",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("industry", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_company_account_id_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_company_account_id")),
    )
    with op.batch_alter_table("company", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_company_account_id"), ["account_id"], unique=False)

    op.create_table(
        "custom_field",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "text",
                "number",
                "boolean",
                "date",
                "enum",
                name="customfieldtype",
                native_enum=False,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("options", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_custom_field_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_field")),
        sa.UniqueConstraint("account_id", "key", name=op.f("uq_custom_field_account_id")),
    )
    with op.batch_alter_table("custom_field", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custom_field_account_id"), ["account_id"], unique=False)

    op.create_table(
        "trunk",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("registered", "ip", name="trunkkind", native_enum=False, length=18),
            nullable=False,
        ),
        sa.Column(
            "transport",
            sa.Enum("udp", "tcp", "tls", name="trunktransport", native_enum=False, length=11),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("registrar", sa.String(length=255), nullable=True),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("password_encrypted", sa.Text(), nullable=True),
        sa.Column("auth_user", sa.String(length=255), nullable=True),
        sa.Column("realm", sa.String(length=255), nullable=True),
        sa.Column("outbound_proxy", sa.String(length=255), nullable=True),
        sa.Column("register_interval_s", sa.Integer(), nullable=False),
        sa.Column("peer_host", sa.String(length=255), nullable=True),
        sa.Column("peer_port", sa.Integer(), nullable=True),
        sa.Column("allowed_cidrs", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column(
            "registration_state",
            sa.Enum(
                "unregistered",
                "registering",
                "registered",
                "failed",
                "not_applicable",
                name="registrationstate",
                native_enum=False,
                length=22,
            ),
            nullable=False,
        ),
        sa.Column("registered_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_trunk_account_id_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trunk")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_trunk_account_id")),
    )
    with op.batch_alter_table("trunk", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trunk_account_id"), ["account_id"], unique=False)

    op.create_table(
        "campaign",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("assistant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "scheduled",
                "running",
                "paused",
                "completed",
                "cancelled",
                name="campaignstatus",
                native_enum=False,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("audience_company_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("audience_contact_ids", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("caller_number_ids", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("window_start", sa.Time(), nullable=False),
        sa.Column("window_end", sa.Time(), nullable=False),
        sa.Column("window_timezone", sa.String(length=64), nullable=False),
        sa.Column("use_contact_timezone", sa.Boolean(), nullable=False),
        sa.Column("max_concurrent_calls", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_no_answer_s", sa.Integer(), nullable=False),
        sa.Column("retry_busy_s", sa.Integer(), nullable=False),
        sa.Column("retry_error_s", sa.Integer(), nullable=False),
        sa.Column("retry_voicemail_s", sa.Integer(), nullable=False),
        sa.Column("voicemail_message", sa.Text(), nullable=True),
        sa.Column("scheduled_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("started_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("completed_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("deleted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_campaign_account_id_account"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["assistant.id"],
            name=op.f("fk_campaign_assistant_id_assistant"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["audience_company_id"],
            ["company.id"],
            name=op.f("fk_campaign_audience_company_id_company"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
    )
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_assistant_id"), ["assistant_id"], unique=False)

    op.create_table(
        "contact",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("company_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("job_title", sa.String(length=200), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column(
            "lead_status",
            sa.Enum(
                "new",
                "contacted",
                "qualified",
                "unqualified",
                "customer",
                "churned",
                "dnc",
                name="leadstatus",
                native_enum=False,
                length=19,
            ),
            nullable=False,
        ),
        sa.Column("do_not_call", sa.Boolean(), nullable=False),
        sa.Column("tags", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("custom_fields", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_contact_account_id_account"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["company.id"], name=op.f("fk_contact_company_id_company"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index("ix_contact_account_company", ["account_id", "company_id"], unique=False)
        batch_op.create_index("ix_contact_account_email", ["account_id", "email"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ix_contact_account_last_name", ["account_id", "last_name"], unique=False)
        batch_op.create_index("ix_contact_account_phone", ["account_id", "phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_lead_status"), ["lead_status"], unique=False)

    op.create_table(
        "phone_number",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("trunk_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("assistant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column(
            "status",
            sa.Enum("active", "suspended", "error", name="phonenumberstatus", native_enum=False, length=17),
            nullable=False,
        ),
        sa.Column("account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_phone_number_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["assistant.id"],
            name=op.f("fk_phone_number_assistant_id_assistant"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["trunk_id"], ["trunk.id"], name=op.f("fk_phone_number_trunk_id_trunk"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_number")),
        sa.UniqueConstraint("number", name=op.f("uq_phone_number_number")),
    )
    with op.batch_alter_table("phone_number", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phone_number_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_phone_number_assistant_id"), ["assistant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_phone_number_trunk_id"), ["trunk_id"], unique=False)

    op.create_table(
        "call",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column(
            "direction",
            sa.Enum("inbound", "outbound", name="calldirection", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("from_number", sa.String(length=64), nullable=False),
        sa.Column("to_number", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "ringing",
                "in_progress",
                "answered",
                "voicemail",
                "no_answer",
                "busy",
                "declined",
                "error",
                name="callstatus",
                native_enum=False,
                length=19,
            ),
            nullable=False,
        ),
        sa.Column("assistant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("contact_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("company_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("campaign_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("phone_number_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("trunk_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("sip_call_id", sa.String(length=255), nullable=True),
        sa.Column("sip_code", sa.Integer(), nullable=True),
        sa.Column("hangup_by", sa.String(length=16), nullable=True),
        sa.Column("started_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("answered_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("ended_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("recording_path", sa.String(length=500), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=True),
        sa.Column("success_reason", sa.Text(), nullable=True),
        sa.Column("analysis", advanced_alchemy.types.JsonB, nullable=True),
        sa.Column("extracted", advanced_alchemy.types.JsonB, nullable=True),
        sa.Column("credits_charged", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_call_account_id_account"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["assistant.id"],
            name=op.f("fk_call_assistant_id_assistant"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_call_campaign_id_campaign"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["company.id"], name=op.f("fk_call_company_id_company"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_call_contact_id_contact"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["phone_number_id"],
            ["phone_number.id"],
            name=op.f("fk_call_phone_number_id_phone_number"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["trunk_id"], ["trunk.id"], name=op.f("fk_call_trunk_id_trunk"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call")),
    )
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.create_index("ix_call_account_created", ["account_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_assistant_id"), ["assistant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_status"), ["status"], unique=False)

    op.create_table(
        "call_turn",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("call_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("started_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("ended_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("interrupted", sa.Boolean(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["call.id"], name=op.f("fk_call_turn_call_id_call"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_turn")),
    )
    with op.batch_alter_table("call_turn", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_turn_call_id"), ["call_id"], unique=False)

    op.create_table(
        "campaign_attempt",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("campaign_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("contact_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "dialing", "done", "cancelled", name="attemptstatus", native_enum=False, length=17),
            nullable=False,
        ),
        sa.Column("due_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("caller_id", sa.String(length=20), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "queued",
                "ringing",
                "in_progress",
                "answered",
                "voicemail",
                "no_answer",
                "busy",
                "declined",
                "error",
                name="callstatus",
                native_enum=False,
                length=19,
            ),
            nullable=True,
        ),
        sa.Column("sip_code", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("call_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("started_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("ended_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_campaign_attempt_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_campaign_attempt_call_id_call"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_campaign_attempt_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_campaign_attempt_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_attempt")),
    )
    with op.batch_alter_table("campaign_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_attempt_due", ["status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_attempt_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_attempt_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_attempt_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "credit_ledger_entry",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "purchase",
                "bonus",
                "call_charge",
                "adjustment",
                "auto_reload",
                name="ledgerentrykind",
                native_enum=False,
                length=19,
            ),
            nullable=False,
        ),
        sa.Column("credits", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=True),
        sa.Column("call_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_credit_ledger_entry_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_credit_ledger_entry_call_id_call"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_ledger_entry")),
        sa.UniqueConstraint("call_id", name=op.f("uq_credit_ledger_entry_call_id")),
    )
    with op.batch_alter_table("credit_ledger_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_ledger_entry_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""

    with op.batch_alter_table("credit_ledger_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_ledger_entry_account_id"))

    op.drop_table("credit_ledger_entry")
    with op.batch_alter_table("campaign_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_attempt_contact_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_attempt_campaign_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_attempt_account_id"))
        batch_op.drop_index("ix_attempt_due")

    op.drop_table("campaign_attempt")
    with op.batch_alter_table("call_turn", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_turn_call_id"))

    op.drop_table("call_turn")
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_status"))
        batch_op.drop_index(batch_op.f("ix_call_contact_id"))
        batch_op.drop_index(batch_op.f("ix_call_campaign_id"))
        batch_op.drop_index(batch_op.f("ix_call_assistant_id"))
        batch_op.drop_index(batch_op.f("ix_call_account_id"))
        batch_op.drop_index("ix_call_account_created")

    op.drop_table("call")
    with op.batch_alter_table("phone_number", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phone_number_trunk_id"))
        batch_op.drop_index(batch_op.f("ix_phone_number_assistant_id"))
        batch_op.drop_index(batch_op.f("ix_phone_number_account_id"))

    op.drop_table("phone_number")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_lead_status"))
        batch_op.drop_index("ix_contact_account_phone")
        batch_op.drop_index("ix_contact_account_last_name")
        batch_op.drop_index(batch_op.f("ix_contact_account_id"))
        batch_op.drop_index("ix_contact_account_email")
        batch_op.drop_index("ix_contact_account_company")

    op.drop_table("contact")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_assistant_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_account_id"))

    op.drop_table("campaign")
    with op.batch_alter_table("trunk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trunk_account_id"))

    op.drop_table("trunk")
    with op.batch_alter_table("custom_field", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_field_account_id"))

    op.drop_table("custom_field")
    with op.batch_alter_table("company", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_company_account_id"))

    op.drop_table("company")
    with op.batch_alter_table("assistant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assistant_account_id"))

    op.drop_table("assistant")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_account_id"))

    op.drop_table("api_key")
    op.drop_table("account")
