"""Webhooks in process: endpoints and secrets through the API, signed deliveries, retries, time-outs, restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from cryptography.fernet import Fernet
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from api.app import create_app
from api.config import Settings, load_settings
from api.database import make_engine, make_sessionmaker
from api.outbound import AddressPolicy
from api.secrets_box import SecretBox
from api.services.api_keys import create_account
from api.webhooks.worker import WebhookWorker, envelope
from models import WebhookDelivery, WebhookEndpoint
from scheduler import events
from tests.conftest import new_account
from tests.peers.webhook_receiver import Receiver, receiving
from tests.test_campaigns import _campaign_body, _setup

PUBLIC_URL = "https://93.184.216.34/hook"  # a literal public address: no DNS needed


def _settings(database_url: str, tmp_path: Path, *, allow: list[str], retries: list[float]) -> Settings:
    return load_settings(
        data_dir=tmp_path / "var",
        database={"url": database_url},
        sip={"enabled": False},
        outbound={"allowed_networks": allow},
        webhooks={"retry_schedule_s": retries},
    )


@pytest.fixture
async def node(database_url: str, tmp_path: Path) -> AsyncIterator[Callable[..., Litestar]]:
    """Builds apps on the test database (loopback allow-listed unless told otherwise); disposes them after."""
    apps: list[Litestar] = []

    def build(allow: list[str] | None = None, retries: list[float] | None = None) -> Litestar:
        settings = _settings(
            database_url, tmp_path, allow=["127.0.0.1"] if allow is None else allow, retries=retries or [0.5, 0.5]
        )
        apps.append(create_app(settings))
        return apps[-1]

    yield build
    for app in apps:
        await app.state.engine.dispose()


async def _create(client: AsyncTestClient[Litestar], auth: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await client.post("/api/webhooks", json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


async def _deliveries(
    client: AsyncTestClient[Litestar],
    auth: dict[str, str],
    webhook_id: str,
    done: Callable[[list[dict[str, Any]]], bool],
    wait_s: float = 20.0,
) -> list[dict[str, Any]]:
    """Poll the endpoint's deliveries until ``done`` says so (or time runs out)."""
    deadline = time.monotonic() + wait_s
    while True:
        r = await client.get(f"/api/webhooks/{webhook_id}/deliveries", headers=auth)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        if done(items) or time.monotonic() > deadline:
            return items
        await asyncio.sleep(0.1)


def _credits_low(account_id: UUID) -> None:
    events.emit(events.CREDITS_LOW, {"account_id": str(account_id), "balance": "4", "threshold": "5"})


async def test_endpoints_show_their_secret_once_and_check_their_events(node: Callable[..., Litestar]) -> None:
    app = node()
    account_id, auth = await new_account(app)
    async with AsyncTestClient(app) as client:
        r = await client.get("/api/webhooks/events", headers=auth)
        assert r.json() == list(events.EVENTS) and "call.analyzed" in r.json()
        created = await _create(
            client, auth, url=PUBLIC_URL, events=["call.completed", "call.completed", "credits.low"], description="crm"
        )
        secret = created["secret"]
        assert secret.startswith("whsec_") and len(secret) > 40
        assert created["events"] == ["call.completed", "credits.low"]
        assert created["secret_hint"] == "whsec_…" + secret[-4:]
        shown = [
            (await client.get(f"/api/webhooks/{created['id']}", headers=auth)).text,
            (await client.get("/api/webhooks", headers=auth)).text,
            (await client.patch(f"/api/webhooks/{created['id']}", json={"active": False}, headers=auth)).text,
        ]
        assert all(secret not in text and '"secret"' not in text for text in shown), shown
        assert (await client.get(f"/api/webhooks/{created['id']}", headers=auth)).json()["active"] is False

        rotated = (await client.post(f"/api/webhooks/{created['id']}/rotate-secret", headers=auth)).json()
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
        assert rotated["secret_hint"].endswith(rotated["secret"][-4:])

        for body in (
            {"url": PUBLIC_URL, "events": ["call.exploded"]},
            {"url": PUBLIC_URL, "events": []},
        ):
            r = await client.post("/api/webhooks", json=body, headers=auth)
            assert r.status_code in (400, 422) and r.json()["errors"][0]["field"] == "events", r.text
        r = await client.patch(f"/api/webhooks/{created['id']}", json={"events": ["nope"]}, headers=auth)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "events", r.text

        _, other = await new_account(app, "Other")
        assert (await client.get(f"/api/webhooks/{created['id']}", headers=other)).status_code == 404
        assert (await client.get(f"/api/webhooks/{created['id']}/deliveries", headers=other)).status_code == 404
        assert (await client.delete(f"/api/webhooks/{created['id']}", headers=auth)).status_code == 204
        assert (await client.get("/api/webhooks", headers=auth)).json()["count"] == 0
    assert account_id is not None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://localhost/hook",
        "ftp://93.184.216.34/hook",
        "http://user:pw@93.184.216.34/hook",
        "not a url",
    ],
)
async def test_private_and_odd_urls_are_refused_naming_url(node: Callable[..., Litestar], url: str) -> None:
    app = node(allow=[])
    _, auth = await new_account(app)
    async with AsyncTestClient(app) as client:
        r = await client.post("/api/webhooks", json={"url": url, "events": ["credits.low"]}, headers=auth)
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["url"], r.text
        public = await _create(client, auth, url=PUBLIC_URL, events=["credits.low"])
        r = await client.patch(f"/api/webhooks/{public['id']}", json={"url": url}, headers=auth)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "url", r.text


async def test_an_allow_listed_address_is_reachable_and_others_stay_refused(node: Callable[..., Litestar]) -> None:
    app = node(allow=["127.0.0.1"])
    _, auth = await new_account(app)
    async with AsyncTestClient(app) as client:
        await _create(client, auth, url="http://127.0.0.1:9/hook", events=["credits.low"])
        r = await client.post(
            "/api/webhooks", json={"url": "http://10.1.2.3/", "events": ["credits.low"]}, headers=auth
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "url", r.text


async def test_a_failed_delivery_is_retried_with_backoff_signed_and_listed(node: Callable[..., Litestar]) -> None:
    app = node(retries=[1.0, 1.0])
    account_id, auth = await new_account(app)
    with receiving(Receiver(replies=[(500, 0.0), (200, 0.0)])) as receiver:
        async with AsyncTestClient(app) as client:
            hook = await _create(client, auth, url=receiver.url, events=["credits.low"])
            quiet = await _create(client, auth, url=receiver.url, events=["call.completed"])
            receiver.secret = hook["secret"]
            _credits_low(account_id)
            items = await _deliveries(client, auth, hook["id"], lambda d: bool(d) and d[0]["status"] == "delivered")
            assert (await client.get(f"/api/webhooks/{quiet['id']}/deliveries", headers=auth)).json()["count"] == 0
    assert len(items) == 1, items
    delivery = items[0]
    assert delivery["status"] == "delivered" and delivery["attempt_count"] == 2
    first, second = delivery["attempts"]
    assert (first["status_code"], first["error"]) == (500, "answered HTTP 500")
    assert first["response"] == "reply 1: 500"
    assert (second["status_code"], second["error"], second["response"]) == (200, None, "reply 2: 200")
    got = receiver.received
    assert len(got) == 2 and all(r.signature_ok for r in got), [r.headers for r in got]
    assert got[1].at - got[0].at >= 0.9  # the first retry waits its delay
    assert got[0].body == got[1].body
    assert {r.headers["trunkline-event-id"] for r in got} == {delivery["event_id"]}
    assert got[0].headers["trunkline-event"] == "credits.low"
    payload = got[0].payload
    assert payload == delivery["payload"]
    assert payload["event"] == "credits.low" and payload["id"] == delivery["event_id"]
    assert payload["account_id"] == str(account_id) and payload["data"]["balance"] == "4"
    assert payload["created_at"].endswith("+00:00")


async def test_a_receiver_slower_than_5_s_is_a_failed_attempt(node: Callable[..., Litestar]) -> None:
    app = node(retries=[0.2])
    account_id, auth = await new_account(app)
    with receiving(Receiver(replies=[(200, 6.5), (200, 0.0)])) as receiver:
        async with AsyncTestClient(app) as client:
            hook = await _create(client, auth, url=receiver.url, events=["credits.low"])
            receiver.secret = hook["secret"]
            _credits_low(account_id)
            items = await _deliveries(
                client, auth, hook["id"], lambda d: bool(d) and d[0]["status"] != "pending", wait_s=30
            )
    first, second = items[0]["attempts"]
    assert first["error"] == "no answer within 5 s" and first["status_code"] is None, first
    assert 4900 <= first["duration_ms"] <= 6000, first
    assert second["error"] is None and items[0]["status"] == "delivered"
    assert all(r.signature_ok for r in receiver.received)


async def test_a_delivery_fails_after_its_last_retry_and_can_be_redelivered(node: Callable[..., Litestar]) -> None:
    app = node(retries=[0.2])
    account_id, auth = await new_account(app)
    with receiving(Receiver(replies=[(503, 0.0), (404, 0.0), (204, 0.0)])) as receiver:
        async with AsyncTestClient(app) as client:
            hook = await _create(client, auth, url=receiver.url, events=["credits.low"])
            receiver.secret = hook["secret"]
            _credits_low(account_id)
            items = await _deliveries(client, auth, hook["id"], lambda d: bool(d) and d[0]["status"] == "failed")
            assert items[0]["status"] == "failed" and [a["status_code"] for a in items[0]["attempts"]] == [503, 404]
            r = await client.get(f"/api/webhooks/{hook['id']}/deliveries", params={"status": "pending"}, headers=auth)
            assert r.json()["count"] == 0
            r = await client.post(f"/api/webhooks/{hook['id']}/deliveries/{items[0]['id']}/redeliver", headers=auth)
            assert r.status_code == 202 and r.json()["status"] == "pending", r.text
            items = await _deliveries(client, auth, hook["id"], lambda d: d[0]["status"] == "delivered")
    assert items[0]["status"] == "delivered" and [a["status_code"] for a in items[0]["attempts"]] == [503, 404, 204]
    assert len({r.headers["trunkline-event-id"] for r in receiver.received}) == 1
    assert all(r.signature_ok for r in receiver.received)


async def test_a_restart_resumes_pending_deliveries(node: Callable[..., Litestar]) -> None:
    first = node(retries=[1.5])
    account_id, auth = await new_account(first)
    with receiving(Receiver(replies=[(500, 0.0), (200, 0.0)])) as receiver:
        async with AsyncTestClient(first) as client:
            hook = await _create(client, auth, url=receiver.url, events=["credits.low"])
            receiver.secret = hook["secret"]
            _credits_low(account_id)
            items = await _deliveries(client, auth, hook["id"], lambda d: bool(d) and d[0]["attempt_count"] == 1)
            assert items[0]["status"] == "pending" and items[0]["next_attempt_at"] is not None
        # the node is down: nothing is sent however long the retry has been due
        await asyncio.sleep(2.0)
        assert len(receiver.received) == 1
        second = node(retries=[1.5])
        async with AsyncTestClient(second) as client:
            items = await _deliveries(client, auth, hook["id"], lambda d: d[0]["status"] == "delivered")
    assert items[0]["status"] == "delivered" and [a["status_code"] for a in items[0]["attempts"]] == [500, 200]
    assert len(receiver.received) == 2 and all(r.signature_ok for r in receiver.received)


async def test_campaign_and_credit_events_from_the_api_are_delivered(node: Callable[..., Litestar]) -> None:
    app = node()
    account_id, auth = await new_account(app)
    with receiving(Receiver()) as receiver:
        async with AsyncTestClient(app) as client:
            hook = await _create(client, auth, url=receiver.url, events=["campaign.status_changed", "credits.low"])
            receiver.secret = hook["secret"]
            world = await _setup(client, auth, ["+12125550101"])
            r = await client.post("/api/crm/campaigns", json=_campaign_body(world), headers=auth)
            campaign_id = r.json()["id"]
            for action in ("launch", "cancel"):
                r = await client.post(f"/api/crm/campaigns/{campaign_id}/{action}", headers=auth)
                assert r.status_code == 200, r.text
            r = await client.put(
                "/api/billing/auto-reload", json={"enabled": False, "threshold": 20, "credits": 10}, headers=auth
            )
            assert r.status_code == 200, r.text
            for body in ({"credits": 25, "note": "start"}, {"credits": -10, "note": "correction"}):
                r = await client.post("/api/billing/top-ups", json=body, headers=auth)
                assert r.status_code == 201, r.text
            seen = receiver.wait_for(lambda got: len(got) >= 3)
    payloads = [r.payload for r in seen]
    assert all(r.signature_ok for r in seen)
    changes = [p["data"] for p in payloads if p["event"] == "campaign.status_changed"]
    assert [(c["from"], c["to"]) for c in changes] == [("draft", "scheduled"), ("scheduled", "cancelled")]
    assert all(c["campaign_id"] == campaign_id and c["campaign"]["id"] == campaign_id for c in changes)
    low = [p for p in payloads if p["event"] == "credits.low"]
    assert len(low) == 1 and low[0]["account_id"] == str(account_id), payloads
    assert (low[0]["data"]["balance"], low[0]["data"]["threshold"]) == ("15.0000", "20.0000"), low[0]


async def test_two_nodes_never_send_one_delivery_twice(database_url: str, tmp_path: Path) -> None:
    settings = _settings(database_url, tmp_path, allow=["127.0.0.1"], retries=[0.5])
    box = SecretBox(Fernet.generate_key())
    engines = [make_engine(database_url) for _ in range(2)]
    sessions = [make_sessionmaker(engine) for engine in engines]
    workers = [WebhookWorker(s, box, settings.webhooks, AddressPolicy.of(["127.0.0.1"])) for s in sessions]
    try:
        with receiving(Receiver(secret="whsec_shared", replies=[(200, 0.05)])) as receiver:
            async with sessions[0]() as session:
                account, _ = await create_account(session, "Acme")
                endpoint = WebhookEndpoint(
                    account_id=account.id,
                    url=receiver.url,
                    events=["credits.low"],
                    secret_encrypted=box.encrypt("whsec_shared"),
                    secret_last4="ared",
                )
                session.add(endpoint)
                await session.flush()
                now = datetime.now(UTC)
                for n in range(30):
                    item = envelope("credits.low", {"account_id": str(account.id), "n": n}, now)
                    session.add(
                        WebhookDelivery(
                            account_id=account.id,
                            endpoint_id=endpoint.id,
                            event="credits.low",
                            event_id=item["id"],
                            payload=item,
                            attempts=[],
                            next_attempt_at=now,
                        )
                    )
                await session.commit()
            for worker in workers:
                await worker.start()
            for _ in range(3):  # both nodes claim at the same moments
                await asyncio.gather(*(worker.deliver_due() for worker in workers))
            # the workers run on this loop: wait in a thread
            seen = await asyncio.to_thread(receiver.wait_for, lambda got: len(got) >= 30)
            await asyncio.sleep(0.5)  # a double send would arrive now
            async with sessions[0]() as session:
                rows = (await session.scalars(select(WebhookDelivery))).all()
    finally:
        for worker in workers:
            await worker.stop()
        for engine in engines:
            await engine.dispose()
    assert len(receiver.received) == 30, len(receiver.received)
    assert len({r.headers["trunkline-delivery-id"] for r in seen}) == 30
    assert sorted(r.payload["data"]["n"] for r in receiver.received) == list(range(30))
    assert all(r.signature_ok for r in receiver.received)
    assert all(row.status == "delivered" and len(row.attempts) == 1 for row in rows), [
        (row.status, row.attempts) for row in rows
    ]
