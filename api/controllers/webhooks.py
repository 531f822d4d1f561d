"""``/api/webhooks``: endpoints that receive signed events, and their deliveries with every attempt."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post

from api.auth import Principal
from api.pagination import Page, PageParams
from api.schemas.common import changes, to_out
from api.schemas.webhooks import (
    WebhookCreate,
    WebhookDeliveryOut,
    WebhookOut,
    WebhookUpdate,
    WebhookWithSecretOut,
)
from api.services.webhooks import WebhookService, secret_hint
from models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from scheduler.events import EVENTS


def webhook_out(endpoint: WebhookEndpoint) -> WebhookOut:
    """An endpoint as the API shows it: a hint of the secret, never the secret."""
    return WebhookOut(
        id=endpoint.id,
        url=endpoint.url,
        events=list(endpoint.events),
        description=endpoint.description,
        active=endpoint.active,
        secret_hint=secret_hint(endpoint),
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def with_secret(endpoint: WebhookEndpoint, secret: str) -> WebhookWithSecretOut:
    """An endpoint with the secret it was just given."""
    out = webhook_out(endpoint)
    return WebhookWithSecretOut(**{f: getattr(out, f) for f in out.__struct_fields__}, secret=secret)


def delivery_out(delivery: WebhookDelivery) -> WebhookDeliveryOut:
    """A delivery with its attempts."""
    return to_out(delivery, WebhookDeliveryOut)


class WebhookController(Controller):
    """Webhook endpoints of the caller's account."""

    path = "/api/webhooks"
    tags = ["webhooks"]

    @get("/events")
    async def list_events(self) -> list[str]:
        """The events an endpoint can subscribe to."""
        return list(EVENTS)

    @get("/")
    async def list_webhooks(self, webhooks_service: WebhookService, page: PageParams) -> Page[WebhookOut]:
        """List endpoints, newest first."""
        items, count = await webhooks_service.page(page)
        return Page(items=[webhook_out(e) for e in items], count=count, limit=page.limit, offset=page.offset)

    @post("/", status_code=201)
    async def create_webhook(self, webhooks_service: WebhookService, data: WebhookCreate) -> WebhookWithSecretOut:
        """Create an endpoint; the response carries its signing secret, shown only this once."""
        endpoint, secret = await webhooks_service.add(
            {"url": data.url, "events": data.events, "description": data.description, "active": data.active}
        )
        return with_secret(endpoint, secret)

    @get("/{webhook_id:uuid}")
    async def get_webhook(self, webhooks_service: WebhookService, webhook_id: UUID) -> WebhookOut:
        """Read one endpoint."""
        return webhook_out(await webhooks_service.get(webhook_id))

    @patch("/{webhook_id:uuid}")
    async def update_webhook(
        self, webhooks_service: WebhookService, webhook_id: UUID, data: WebhookUpdate
    ) -> WebhookOut:
        """Change an endpoint's URL, events, description or active flag (inactive: deliveries wait)."""
        return webhook_out(await webhooks_service.edit(webhook_id, changes(data)))

    @delete("/{webhook_id:uuid}")
    async def delete_webhook(self, webhooks_service: WebhookService, webhook_id: UUID) -> None:
        """Delete an endpoint and its deliveries."""
        await webhooks_service.delete(webhook_id)

    @post("/{webhook_id:uuid}/rotate-secret", status_code=200)
    async def rotate_secret(self, webhooks_service: WebhookService, webhook_id: UUID) -> WebhookWithSecretOut:
        """Give the endpoint a new secret, shown only this once; the old one stops signing at once."""
        return with_secret(*await webhooks_service.rotate(webhook_id))

    @get("/{webhook_id:uuid}/deliveries")
    async def list_deliveries(
        self,
        webhooks_service: WebhookService,
        webhook_id: UUID,
        page: PageParams,
        status: WebhookDeliveryStatus | None = None,
    ) -> Page[WebhookDeliveryOut]:
        """List the endpoint's deliveries, newest first, each with its attempts."""
        items, count = await webhooks_service.delivery_page(webhook_id, page, status)
        return Page(items=[delivery_out(d) for d in items], count=count, limit=page.limit, offset=page.offset)

    @get("/{webhook_id:uuid}/deliveries/{delivery_id:uuid}")
    async def get_delivery(
        self, webhooks_service: WebhookService, webhook_id: UUID, delivery_id: UUID
    ) -> WebhookDeliveryOut:
        """Read one delivery with its attempts."""
        return delivery_out(await webhooks_service.delivery(webhook_id, delivery_id))

    @post("/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver", status_code=202)
    async def redeliver(
        self,
        webhooks_service: WebhookService,
        webhook_id: UUID,
        delivery_id: UUID,
        request: Request[Principal, Any, Any],
    ) -> WebhookDeliveryOut:
        """Send a delivery again now (same event id and body), with a fresh retry schedule."""
        delivery = await webhooks_service.redeliver(webhook_id, delivery_id)
        worker = getattr(request.app.state, "webhooks", None)
        if worker is not None:
            worker.wake()
        return delivery_out(delivery)
