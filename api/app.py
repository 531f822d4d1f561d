"""The composition root: builds the Litestar application of one node from its settings."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from advanced_alchemy.extensions.litestar import AsyncSessionConfig, SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, Request
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from sqlalchemy.ext.asyncio import AsyncEngine

from api.auth import ApiKeyAuthMiddleware, scope_guard
from api.config import Settings
from api.controllers.api_keys import ApiKeyController
from api.controllers.assistants import AssistantController
from api.controllers.billing import BillingController
from api.controllers.calls import CallController
from api.controllers.campaigns import CampaignController
from api.controllers.companies import CompanyController
from api.controllers.contacts import ContactController
from api.controllers.custom_fields import CustomFieldController
from api.controllers.health import healthz, readyz
from api.controllers.phone_numbers import PhoneNumberController
from api.controllers.provider_keys import ProviderKeyController
from api.controllers.trunks import TrunkController
from api.controllers.web_calls import WebCallController
from api.controllers.webhooks import WebhookController
from api.database import make_engine, make_sessionmaker
from api.dependencies import DEPENDENCIES
from api.errors import EXCEPTION_HANDLERS
from api.secrets_box import SecretBox, load_or_create_key

VERSION = "0.1.0"
UNAUTHENTICATED = ["^/healthz$", "^/readyz$", "^/schema"]


class MetricsController(PrometheusController):
    """Prometheus metrics; needs an API key like every other route."""

    path = "/metrics"
    openmetrics_format = False


# Writes to these collections change what the SIP engine must know: trunks, DIDs and their assistants.
ROUTING_PATHS = ("/api/trunks", "/api/phone-numbers", "/api/assistants")


@asynccontextmanager
async def telephony_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Start this node's SIP engine with the server and stop it (hanging up calls) on shutdown."""
    settings: Settings = app.state.settings
    if not settings.sip.enabled:
        app.state.telephony = None
        yield
        return
    from api.telephony.node import TelephonyNode

    node = TelephonyNode(settings, app.state.sessionmaker, app.state.secrets)
    await node.start()
    app.state.telephony = node
    try:
        yield
    finally:
        app.state.telephony = None
        await node.stop()


@asynccontextmanager
async def web_calls_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Serve browser calls (WebRTC) with or without SIP; every one of them ends (hangup by system) on shutdown."""
    from api.telephony.call_records import CallRecords
    from api.telephony.conversations import ConversationFactory
    from api.telephony.metering import CallMetering
    from api.telephony.web_calls import WebCalls

    settings: Settings = app.state.settings
    node = getattr(app.state, "telephony", None)
    if node is not None:  # share the node's local models and call rows
        web_calls = WebCalls(node.conversations, node.records, metering=node.metering)
    else:
        sessions = app.state.sessionmaker
        web_calls = WebCalls(
            ConversationFactory(settings, sessions, app.state.secrets),
            CallRecords(sessions),
            preload=settings.providers.preload_local,
            metering=CallMetering(sessions, settings.credits),
        )
    await web_calls.start()
    app.state.web_calls = web_calls
    try:
        yield
    finally:
        app.state.web_calls = None
        await web_calls.stop()


@asynccontextmanager
async def scheduler_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Run the campaign scheduler where the SIP engine runs; it dials through the node."""
    settings: Settings = app.state.settings
    node = getattr(app.state, "telephony", None)
    if node is None or not settings.scheduler.enabled:
        app.state.scheduler = None
        yield
        return
    from api.telephony.campaign_dialer import NodeDialer
    from scheduler import Scheduler

    sessions = app.state.sessionmaker
    scheduler = Scheduler(
        sessions,
        NodeDialer(node, sessions, settings.sip.max_concurrent_calls),
        node_id=settings.scheduler.node_id or f"{socket.gethostname()}:{settings.api.port}",
        local_hours=settings.scheduler.local_hours,
    )
    await scheduler.start()
    app.state.scheduler = scheduler
    try:
        yield
    finally:
        app.state.scheduler = None
        await scheduler.stop()


@asynccontextmanager
async def webhooks_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Deliver webhook events from this node; started first and stopped last, so calls ended on shutdown are sent."""
    settings: Settings = app.state.settings
    if not settings.webhooks.enabled:
        app.state.webhooks = None
        yield
        return
    from api.outbound import AddressPolicy
    from api.webhooks.worker import WebhookWorker

    worker = WebhookWorker(
        app.state.sessionmaker,
        app.state.secrets,
        settings.webhooks,
        AddressPolicy.of(settings.outbound.allowed_networks),
    )
    await worker.start()
    app.state.webhooks = worker
    try:
        yield
    finally:
        app.state.webhooks = None
        await worker.stop()


async def refresh_routes_after_edits(request: Request[Any, Any, Any]) -> None:
    """Apply trunk, number and assistant edits to the live SIP engine without a restart."""
    node = getattr(request.app.state, "telephony", None)
    path = request.url.path
    edit = request.method != "GET" and path.startswith(ROUTING_PATHS) and not path.endswith("/web-call")
    if node is not None and edit:
        node.request_refresh()


def create_app(settings: Settings, engine: AsyncEngine | None = None) -> Litestar:
    """Build the API application for ``settings``; pass ``engine`` to share one with the caller."""
    engine = engine or make_engine(settings.database_url, settings.database.pool_size, settings.database.echo)
    db = SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_dependency_key="db_session",
        before_send_handler="autocommit",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        create_all=False,
    )
    prometheus = PrometheusConfig(
        app_name="trunkline", prefix="trunkline", group_path=True, exclude=["^/metrics$", "^/healthz$"]
    )
    state = State(
        {
            "settings": settings,
            "engine": engine,
            "sessionmaker": make_sessionmaker(engine),
            "secrets": SecretBox(
                load_or_create_key(
                    settings.secret_key.get_secret_value() if settings.secret_key else None, settings.data_dir
                )
            ),
        }
    )
    openapi = OpenAPIConfig(
        title="Trunkline API",
        version=VERSION,
        description="Self-hosted AI phone agents: assistants, CRM, trunks, numbers, calls.",
        path="/schema",
        render_plugins=[ScalarRenderPlugin()],
        components=Components(
            security_schemes={
                "ApiKey": SecurityScheme(type="http", scheme="bearer", description="An API key: tlk_…"),
            }
        ),
        security=[{"ApiKey": []}],
    )
    handlers: list[Any] = [
        healthz,
        readyz,
        MetricsController,
        AssistantController,
        CompanyController,
        ContactController,
        CustomFieldController,
        TrunkController,
        PhoneNumberController,
        ProviderKeyController,
        CallController,
        CampaignController,
        BillingController,
        ApiKeyController,
        WebCallController,
        WebhookController,
    ]
    return Litestar(
        route_handlers=handlers,
        plugins=[SQLAlchemyPlugin(config=db)],
        dependencies=DEPENDENCIES,
        middleware=[prometheus.middleware, DefineMiddleware(ApiKeyAuthMiddleware, exclude=UNAUTHENTICATED)],
        guards=[scope_guard],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi,
        cors_config=CORSConfig(allow_origins=settings.api.cors_origins) if settings.api.cors_origins else None,
        state=state,
        lifespan=[webhooks_lifespan, telephony_lifespan, web_calls_lifespan, scheduler_lifespan],
        after_response=refresh_routes_after_edits,
        debug=False,
    )
