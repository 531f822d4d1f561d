"""One advanced-alchemy repository per table: the persistence layer services build on."""

from __future__ import annotations

from advanced_alchemy.repository import SQLAlchemyAsyncRepository

from models.account import Account, ApiKey
from models.assistant import Assistant
from models.call import Call, CallTurn
from models.campaign import Campaign
from models.credits import CreditLedgerEntry
from models.crm import Company, Contact, CustomField
from models.provider_key import ProviderKey
from models.telephony import PhoneNumber, Trunk
from models.webhook import WebhookDelivery, WebhookEndpoint


class AccountRepository(SQLAlchemyAsyncRepository[Account]):
    """Accounts (tenants)."""

    model_type = Account


class ApiKeyRepository(SQLAlchemyAsyncRepository[ApiKey]):
    """API keys."""

    model_type = ApiKey


class CompanyRepository(SQLAlchemyAsyncRepository[Company]):
    """CRM companies."""

    model_type = Company


class ContactRepository(SQLAlchemyAsyncRepository[Contact]):
    """CRM contacts."""

    model_type = Contact


class CustomFieldRepository(SQLAlchemyAsyncRepository[CustomField]):
    """CRM custom field definitions."""

    model_type = CustomField


class AssistantRepository(SQLAlchemyAsyncRepository[Assistant]):
    """Assistants."""

    model_type = Assistant


class TrunkRepository(SQLAlchemyAsyncRepository[Trunk]):
    """SIP trunks."""

    model_type = Trunk


class PhoneNumberRepository(SQLAlchemyAsyncRepository[PhoneNumber]):
    """Phone numbers (DIDs)."""

    model_type = PhoneNumber


class ProviderKeyRepository(SQLAlchemyAsyncRepository[ProviderKey]):
    """Cloud provider API keys."""

    model_type = ProviderKey


class CallRepository(SQLAlchemyAsyncRepository[Call]):
    """Calls."""

    model_type = Call


class CallTurnRepository(SQLAlchemyAsyncRepository[CallTurn]):
    """Transcript turns."""

    model_type = CallTurn


class CampaignRepository(SQLAlchemyAsyncRepository[Campaign]):
    """Campaigns."""

    model_type = Campaign


class CreditLedgerEntryRepository(SQLAlchemyAsyncRepository[CreditLedgerEntry]):
    """Credit ledger entries (read here; written only through api.billing.ledger.post)."""

    model_type = CreditLedgerEntry


class WebhookEndpointRepository(SQLAlchemyAsyncRepository[WebhookEndpoint]):
    """Webhook endpoints."""

    model_type = WebhookEndpoint


class WebhookDeliveryRepository(SQLAlchemyAsyncRepository[WebhookDelivery]):
    """Webhook deliveries."""

    model_type = WebhookDelivery
