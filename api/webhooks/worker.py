"""The delivery worker of one node: turns events into delivery rows, then sends due rows with retries.

Events arrive from ``scheduler.events`` (on any thread) and are handed to this node's loop. Each one becomes
one ``webhook_delivery`` row per active endpoint of its account that subscribed to it; from then on it is
durable. A send loop claims due pending rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so nodes sharing the
database never send one row twice), pushes their next attempt a lease into the future, sends them (one
endpoint's rows in order, endpoints side by side) and records every attempt. A failed attempt (a non-2xx
answer, no answer within ``timeout_s``, a refused address) is retried after the next delay of
``retry_schedule_s``; after the last one the delivery is ``failed``. Rows a stopped node had claimed come due
again when their lease runs out, so a restart resumes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import msgspec
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.config import WebhookSettings
from api.outbound import AddressPolicy, RefusedUrl, check_url
from api.schemas.campaigns import CampaignOut
from api.schemas.common import to_out
from api.secrets_box import SecretBox
from api.webhooks.signing import signed_headers
from models import Campaign, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from scheduler import events

log = structlog.get_logger("trunkline.webhooks")

POLL_S = 1.0  # picks up retries coming due and rows written by other nodes
BATCH = 50
LEASE = timedelta(seconds=60)  # longer than any attempt (timeout_s ≤ 30 s) with margin
EXCERPT_CHARS = 500
STOP_GRACE_S = 5.0
USER_AGENT = "Trunkline-Webhooks/1"


def _now() -> datetime:
    return datetime.now(UTC)


def envelope(name: str, payload: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The body every receiver gets: event name, unique id, time, account and the event's object."""
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "event": name,
        "created_at": at.isoformat(),
        "account_id": payload.get("account_id"),
        "data": {k: v for k, v in payload.items() if k != "account_id"},
    }


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed; key order is fixed so every attempt sends the same body."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


class UnreadableSecret(Exception):
    """The endpoint's secret was encrypted under another ``secret_key``."""


@dataclass(frozen=True)
class Job:
    """One claimed delivery with what sending it needs."""

    delivery_id: UUID
    endpoint_id: UUID
    url: str
    secret_token: str
    event: str
    event_id: str
    payload: dict[str, Any]


class WebhookWorker:
    """Writes deliveries for events and sends them, on this node's event loop."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        secrets: SecretBox,
        settings: WebhookSettings,
        policy: AddressPolicy,
        *,
        poll_s: float = POLL_S,
    ) -> None:
        self._sessions = sessions
        self._secrets = secrets
        self._timeout = settings.timeout_s
        self._schedule = list(settings.retry_schedule_s)
        self._policy = policy
        self._poll_s = poll_s
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Any = None
        self._client: httpx.AsyncClient | None = None

    # --- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to events and start the fan-out and send loops."""
        self._loop = asyncio.get_running_loop()
        # No proxies from the environment and no redirects: the address check must hold for the real peer.
        self._client = httpx.AsyncClient(
            timeout=self._timeout, follow_redirects=False, trust_env=False, headers={"User-Agent": USER_AGENT}
        )
        self._unsubscribe = events.subscribe(self._on_event)
        self._tasks = [asyncio.create_task(self._fan_out_loop()), asyncio.create_task(self._send_loop())]

    async def stop(self) -> None:
        """Unsubscribe, write the deliveries of events already received, then stop sending."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._inbox.join(), STOP_GRACE_S)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """Look for due deliveries now (after a redeliver through this node's API)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # --- events → delivery rows ------------------------------------------------------------------

    def _on_event(self, name: str, payload: dict[str, Any]) -> None:
        # Called on the emitting thread: stamp the event now, hand it to this node's loop.
        if name not in events.EVENTS or self._loop is None or not payload.get("account_id"):
            return
        self._loop.call_soon_threadsafe(self._inbox.put_nowait, envelope(name, payload, _now()))

    async def _fan_out_loop(self) -> None:
        while True:
            item = await self._inbox.get()
            try:
                await self._fan_out(item)
            except Exception:
                log.exception("webhook deliveries not written", event=item["event"], event_id=item["id"])
            finally:
                self._inbox.task_done()
            self._wake.set()

    async def _fan_out(self, item: dict[str, Any]) -> None:
        name = item["event"]
        async with self._sessions() as session, session.begin():
            account_id = UUID(item["account_id"])
            endpoints = (
                await session.scalars(
                    select(WebhookEndpoint).where(
                        WebhookEndpoint.account_id == account_id, WebhookEndpoint.active.is_(True)
                    )
                )
            ).all()
            targets = [endpoint for endpoint in endpoints if name in endpoint.events]
            if not targets:
                return
            if name == events.STATUS_CHANGED:
                campaign = await session.get(Campaign, UUID(item["data"]["campaign_id"]))
                if campaign is not None:
                    item["data"]["campaign"] = msgspec.to_builtins(to_out(campaign, CampaignOut))
            now = _now()
            for endpoint in targets:
                session.add(
                    WebhookDelivery(
                        account_id=account_id,
                        endpoint_id=endpoint.id,
                        event=name,
                        event_id=item["id"],
                        payload=item,
                        status=WebhookDeliveryStatus.PENDING,
                        attempt_count=0,
                        attempts=[],
                        next_attempt_at=now,
                    )
                )

    # --- sending ---------------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                claimed = await self.deliver_due()
            except Exception:
                log.exception("webhook delivery round failed")
                claimed = 0
            if claimed >= BATCH:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)

    async def deliver_due(self) -> int:
        """Claim due deliveries, send them and record the attempts; returns how many were claimed."""
        jobs = await self._claim()
        by_endpoint: dict[UUID, list[Job]] = defaultdict(list)
        for job in jobs:
            by_endpoint[job.endpoint_id].append(job)
        await asyncio.gather(*(self._send_in_order(group) for group in by_endpoint.values()))
        return len(jobs)

    async def _claim(self) -> list[Job]:
        now = _now()
        async with self._sessions() as session, session.begin():
            query = (
                select(WebhookDelivery, WebhookEndpoint)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(
                    WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                    # an inactive endpoint's deliveries wait until it is active again
                    WebhookEndpoint.active.is_(True),
                )
                .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
                .limit(BATCH)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
            rows = (await session.execute(query)).all()
            if not rows:
                return []
            # The lease is taken only where the row is still due: on SQLite (no row locks) a node that read the
            # same rows as another finds them already leased and leaves them.
            leased = set(
                (
                    await session.execute(
                        update(WebhookDelivery)
                        .where(
                            WebhookDelivery.id.in_([delivery.id for delivery, _ in rows]),
                            WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
                            WebhookDelivery.next_attempt_at <= now,
                        )
                        .values(next_attempt_at=now + LEASE)
                        .returning(WebhookDelivery.id)
                        .execution_options(synchronize_session=False)
                    )
                ).scalars()
            )
            jobs = [
                Job(
                    delivery.id,
                    endpoint.id,
                    endpoint.url,
                    endpoint.secret_encrypted,
                    delivery.event,
                    delivery.event_id,
                    delivery.payload,
                )
                for delivery, endpoint in rows
                if delivery.id in leased
            ]
        return jobs

    async def _send_in_order(self, jobs: list[Job]) -> None:
        for job in jobs:
            attempt = await self._attempt(job)
            await self._record(job.delivery_id, attempt)

    async def _attempt(self, job: Job) -> dict[str, Any]:
        """Send one delivery once: its outcome as stored in the delivery's attempts."""
        assert self._client is not None
        at = _now()
        started = time.monotonic()
        status_code: int | None = None
        excerpt: str | None = None
        error: str | None = None
        try:
            secret = self._decrypt(job.secret_token)
            await check_url(job.url, self._policy)
            body = body_of(job.payload)
            headers = signed_headers(
                secret, int(time.time()), body, event=job.event, event_id=job.event_id, delivery_id=str(job.delivery_id)
            )
            # httpx's timeout bounds each read; this bounds the whole exchange, as the receiver's contract says.
            async with asyncio.timeout(self._timeout):
                async with self._client.stream("POST", job.url, content=body, headers=headers) as response:
                    status_code = response.status_code
                    excerpt = await _excerpt(response)
            if not 200 <= status_code < 300:
                error = f"answered HTTP {status_code}"
        except (TimeoutError, httpx.TimeoutException):
            error = f"no answer within {self._timeout:g} s"
        except RefusedUrl as exc:
            error = f"refused: {exc}"
        except UnreadableSecret:
            error = "the endpoint's secret cannot be decrypted with this node's secret_key"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        return {
            "at": at.isoformat(),
            "status_code": status_code,
            "response": excerpt,
            "error": error,
            "duration_ms": round((time.monotonic() - started) * 1000),
        }

    def _decrypt(self, token: str) -> str:
        try:
            return self._secrets.decrypt(token)
        except ValueError:
            raise UnreadableSecret from None

    async def _record(self, delivery_id: UUID, attempt: dict[str, Any]) -> None:
        now = _now()
        async with self._sessions() as session, session.begin():
            delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
            if delivery is None:  # its endpoint was deleted meanwhile
                return
            delivery.attempts = [*delivery.attempts, attempt]
            delivery.attempt_count += 1
            if attempt["error"] is None:
                delivery.status = WebhookDeliveryStatus.DELIVERED
                delivery.delivered_at = now
                delivery.next_attempt_at = None
            elif delivery.attempt_count > len(self._schedule):
                delivery.status = WebhookDeliveryStatus.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = now + timedelta(seconds=self._schedule[delivery.attempt_count - 1])
        if attempt["error"] is not None:
            log.info("webhook attempt failed", delivery_id=str(delivery_id), error=attempt["error"])


async def _excerpt(response: httpx.Response) -> str:
    """The start of the receiver's answer, read no further than needed."""
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= EXCERPT_CHARS * 4:
            break
    return data.decode("utf-8", "replace")[:EXCERPT_CHARS]
