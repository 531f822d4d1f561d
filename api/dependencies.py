"""How handlers get their services: built per request from the DB session and the caller's account."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.outbound import AddressPolicy
from api.pagination import provide_page_params
from api.services.api_keys import ApiKeyService
from api.services.assistants import AssistantService
from api.services.billing import BillingService
from api.services.calls import CallService
from api.services.campaigns import CampaignService
from api.services.companies import CompanyService
from api.services.contacts import ContactService
from api.services.custom_fields import CustomFieldService
from api.services.phone_numbers import PhoneNumberService
from api.services.provider_keys import ProviderKeyService
from api.services.trunks import TrunkService
from api.services.webhooks import WebhookService


def _account(request: Request[Principal, Any, Any]) -> Any:
    return request.user.account_id


def _region(request: Request[Principal, Any, Any]) -> str:
    return request.app.state.settings.crm.default_region


def provide_assistants(db_session: AsyncSession, request: Request[Principal, Any, Any]) -> AssistantService:
    """The caller's assistants."""
    return AssistantService(db_session, _account(request), request.app.state.settings.credits.rates)


def provide_companies(db_session: AsyncSession, request: Request[Principal, Any, Any]) -> CompanyService:
    """The caller's companies."""
    return CompanyService(db_session, _account(request), default_region=_region(request))


def provide_contacts(db_session: AsyncSession, request: Request[Principal, Any, Any]) -> ContactService:
    """The caller's contacts."""
    return ContactService(db_session, _account(request), default_region=_region(request))


def provide_custom_fields(db_session: AsyncSession, request: Request[Principal, Any, Any]) -> CustomFieldService:
    """The caller's custom fields."""
    return CustomFieldService(db_session, _account(request))


def provide_trunks(db_session: AsyncSession, request: Request[Principal, Any, Any]) -> TrunkService:
    """The caller's trunks."""
    return TrunkService(db_session, _account(request), request.app.state.secrets)


def provide_phone_numbers(db_session: AsyncSession, request: Request[Principal, Any, Any]) -> PhoneNumberService:
    """The caller's phone numbers."""
    return PhoneNumberService(db_session, _account(request), default_region=_region(request))


def provide_provider_keys(db_session: AsyncSession, request: Request[Principal, Any, Any]) -> ProviderKeyService:
    """The caller's provider keys."""
    return ProviderKeyService(db_session, _account(request), request.app.state.secrets)


def provide_calls(db_session: AsyncSession, request: Request[Principal, Any, Any]) -> CallService:
    """The caller's calls."""
    return CallService(db_session, _account(request))


def provide_campaigns(db_session: AsyncSession, request: Request[Principal, Any, Any]) -> CampaignService:
    """The caller's campaigns."""
    return CampaignService(db_session, _account(request))


def provide_billing(db_session: AsyncSession, request: Request[Principal, Any, Any]) -> BillingService:
    """The caller's credits."""
    return BillingService(db_session, _account(request), request.app.state.settings.credits)


def provide_api_keys(db_session: AsyncSession, request: Request[Principal, Any, Any]) -> ApiKeyService:
    """The caller's API keys."""
    return ApiKeyService(db_session, _account(request))


def provide_webhooks(db_session: AsyncSession, request: Request[Principal, Any, Any]) -> WebhookService:
    """The caller's webhook endpoints and deliveries."""
    policy = AddressPolicy.of(request.app.state.settings.outbound.allowed_networks)
    return WebhookService(db_session, _account(request), request.app.state.secrets, policy)


# Keys end in _service so they can never clash with a body field of the same name.
DEPENDENCIES: dict[str, Provide] = {
    "page": Provide(provide_page_params, sync_to_thread=False),
    "assistants_service": Provide(provide_assistants, sync_to_thread=False),
    "companies_service": Provide(provide_companies, sync_to_thread=False),
    "contacts_service": Provide(provide_contacts, sync_to_thread=False),
    "custom_fields_service": Provide(provide_custom_fields, sync_to_thread=False),
    "trunks_service": Provide(provide_trunks, sync_to_thread=False),
    "phone_numbers_service": Provide(provide_phone_numbers, sync_to_thread=False),
    "provider_keys_service": Provide(provide_provider_keys, sync_to_thread=False),
    "calls_service": Provide(provide_calls, sync_to_thread=False),
    "api_keys_service": Provide(provide_api_keys, sync_to_thread=False),
    "campaigns_service": Provide(provide_campaigns, sync_to_thread=False),
    "billing_service": Provide(provide_billing, sync_to_thread=False),
    "webhooks_service": Provide(provide_webhooks, sync_to_thread=False),
}
