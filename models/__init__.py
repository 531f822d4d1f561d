"""Trunkline's tables: SQLAlchemy 2 typed models and their Alembic migrations.

Importing this package registers every table on ``Base.metadata``.
"""

from models.account import Account, ApiKey
from models.assistant import Assistant
from models.base import Base
from models.call import Call, CallTurn
from models.campaign import Campaign, CampaignAttempt
from models.credits import CreditLedgerEntry
from models.crm import Company, Contact, CustomField
from models.enums import (
    ApiKeyScope,
    AssistantTemplate,
    AttemptStatus,
    CallDirection,
    CallStatus,
    CampaignStatus,
    CustomFieldType,
    LeadStatus,
    LedgerEntryKind,
    PhoneNumberStatus,
    RegistrationState,
    TrunkKind,
    TrunkTransport,
    WebhookDeliveryStatus,
)
from models.provider_key import ProviderKey
from models.telephony import PhoneNumber, Trunk
from models.webhook import WebhookDelivery, WebhookEndpoint

__all__ = [
    "Account",
    "ApiKey",
    "ApiKeyScope",
    "Assistant",
    "AssistantTemplate",
    "AttemptStatus",
    "Base",
    "Call",
    "CallDirection",
    "CallStatus",
    "CallTurn",
    "Campaign",
    "CampaignAttempt",
    "CampaignStatus",
    "Company",
    "Contact",
    "CreditLedgerEntry",
    "CustomField",
    "CustomFieldType",
    "LeadStatus",
    "LedgerEntryKind",
    "PhoneNumber",
    "PhoneNumberStatus",
    "ProviderKey",
    "RegistrationState",
    "Trunk",
    "TrunkKind",
    "TrunkTransport",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
    "WebhookEndpoint",
]
