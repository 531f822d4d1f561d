"""Webhook endpoints of an account (URL and events checked, secret encrypted) and their deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.filters import LimitOffset
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Invalid, NotFound
from api.outbound import AddressPolicy, RefusedUrl, check_url
from api.pagination import PageParams
from api.secrets_box import SecretBox
from api.services.base import ScopedService
from api.webhooks.signing import new_secret
from models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from models.repositories import WebhookDeliveryRepository, WebhookEndpointRepository
from scheduler.events import EVENTS

HINT_CHARS = 4


def secret_hint(endpoint: WebhookEndpoint) -> str:
    """How a stored secret is shown: the prefix, ``…`` and its last characters."""
    return "whsec_…" + endpoint.secret_last4


def check_events(names: list[str]) -> list[str]:
    """The subscribed events without repeats; 422 naming ``events`` for a name that is not an event."""
    for name in names:
        if name not in EVENTS:
            shown = name if len(name) <= 64 else name[:64] + "…"
            raise Invalid(f"events: unknown event '{shown}'; expected some of {', '.join(EVENTS)}", field="events")
    return list(dict.fromkeys(names))


class WebhookService(ScopedService[WebhookEndpoint]):
    """Webhook endpoints and deliveries of one account."""

    repository_type = WebhookEndpointRepository
    noun = "webhook"

    def __init__(self, session: AsyncSession, account_id: UUID, secrets: SecretBox, policy: AddressPolicy) -> None:
        super().__init__(session, account_id)
        self.secrets = secrets
        self.policy = policy
        self.deliveries = WebhookDeliveryRepository(
            session=session,
            statement=select(WebhookDelivery).where(WebhookDelivery.account_id == account_id),
            auto_expunge=False,
        )

    async def _url(self, url: str) -> str:
        try:
            await check_url(url, self.policy)
        except RefusedUrl as exc:
            raise Invalid(f"url: {exc}", field="url") from None
        return url

    def _secret_values(self, secret: str) -> dict[str, Any]:
        return {"secret_encrypted": self.secrets.encrypt(secret), "secret_last4": secret[-HINT_CHARS:]}

    async def add(self, values: dict[str, Any]) -> tuple[WebhookEndpoint, str]:
        """Create an endpoint with a fresh secret; returns it and the secret (shown this once)."""
        values["url"] = await self._url(values["url"])
        values["events"] = check_events(values["events"])
        secret = new_secret()
        return await self.create(**values, **self._secret_values(secret)), secret

    async def edit(self, endpoint_id: UUID, values: dict[str, Any]) -> WebhookEndpoint:
        """Change an endpoint's URL, events, description or active flag."""
        endpoint = await self.get(endpoint_id)
        if "url" in values:
            values["url"] = await self._url(values["url"])
        if "events" in values:
            values["events"] = check_events(values["events"])
        for name, value in values.items():
            setattr(endpoint, name, value)
        return await self.save(endpoint)

    async def rotate(self, endpoint_id: UUID) -> tuple[WebhookEndpoint, str]:
        """Replace an endpoint's secret; later attempts (retries too) are signed with the new one."""
        endpoint = await self.get(endpoint_id)
        secret = new_secret()
        for name, value in self._secret_values(secret).items():
            setattr(endpoint, name, value)
        return await self.save(endpoint), secret

    async def delivery_page(
        self, endpoint_id: UUID, params: PageParams, status: WebhookDeliveryStatus | None
    ) -> tuple[Sequence[WebhookDelivery], int]:
        """One page of an endpoint's deliveries, newest first."""
        await self.get(endpoint_id)
        filters: list[ColumnElement[bool]] = [WebhookDelivery.endpoint_id == endpoint_id]
        if status is not None:
            filters.append(WebhookDelivery.status == status)
        return await self.deliveries.get_many_and_count(
            LimitOffset(limit=params.limit, offset=params.offset),
            *filters,
            order_by=[(WebhookDelivery.created_at, True), (WebhookDelivery.id, True)],
            count_with_window_function=False,
        )

    async def delivery(self, endpoint_id: UUID, delivery_id: UUID) -> WebhookDelivery:
        """One delivery of one endpoint, or 404."""
        found = await self.deliveries.get_one_or_none(
            WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id
        )
        if found is None:
            raise NotFound(f"delivery {delivery_id} of webhook {endpoint_id} not found")
        return found

    async def redeliver(self, endpoint_id: UUID, delivery_id: UUID) -> WebhookDelivery:
        """Queue a delivery again at once with a fresh retry schedule; its earlier attempts stay listed."""
        delivery = await self.delivery(endpoint_id, delivery_id)
        delivery.status = WebhookDeliveryStatus.PENDING
        delivery.attempt_count = 0
        delivery.next_attempt_at = datetime.now(UTC)
        delivery.delivered_at = None
        return await self.deliveries.update(delivery, auto_commit=False, auto_refresh=True)
