"""The closed vocabularies of the product (statuses, kinds, scopes), stored as their string values."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa


class ApiKeyScope(StrEnum):
    """What an API key may do: read < write < admin."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class LeadStatus(StrEnum):
    """Where a contact stands in the sales funnel."""

    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    UNQUALIFIED = "unqualified"
    CUSTOMER = "customer"
    CHURNED = "churned"
    DNC = "dnc"


class CustomFieldType(StrEnum):
    """The value type of a CRM custom field."""

    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    ENUM = "enum"


class AssistantTemplate(StrEnum):
    """The template an assistant was created from."""

    OUTBOUND_SETTER = "outbound-setter"
    INBOUND_SUPPORT = "inbound-support"
    FOLLOW_UP = "follow-up"
    CUSTOM = "custom"


class TrunkKind(StrEnum):
    """How Trunkline and the SIP trunk trust each other."""

    REGISTERED = "registered"
    IP = "ip"


class TrunkTransport(StrEnum):
    """SIP transport towards a trunk."""

    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


class RegistrationState(StrEnum):
    """Live registration state of a registered trunk."""

    UNREGISTERED = "unregistered"
    REGISTERING = "registering"
    REGISTERED = "registered"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"


class PhoneNumberStatus(StrEnum):
    """Whether a DID may be used."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    ERROR = "error"


class CallDirection(StrEnum):
    """Who placed the call."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallStatus(StrEnum):
    """Where a call is, or how it ended."""

    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    DECLINED = "declined"
    ERROR = "error"


class CampaignStatus(StrEnum):
    """The campaign state machine: draft → scheduled → running ⇄ paused → completed, or cancelled."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class AttemptStatus(StrEnum):
    """Where a campaign attempt is."""

    PENDING = "pending"
    DIALING = "dialing"
    DONE = "done"
    CANCELLED = "cancelled"


class LedgerEntryKind(StrEnum):
    """Why credits moved."""

    PURCHASE = "purchase"
    BONUS = "bonus"
    CALL_CHARGE = "call_charge"
    ADJUSTMENT = "adjustment"
    AUTO_RELOAD = "auto_reload"


class WebhookDeliveryStatus(StrEnum):
    """Where a webhook delivery is: waiting for its next attempt, delivered (2xx), or out of attempts."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def enum_column(enum: type[StrEnum]) -> sa.Enum:
    """A portable string column for an enum: its values, no database enum type to migrate."""
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=max(len(m.value) for m in enum) + 8,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
