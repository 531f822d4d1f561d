"""Campaigns: the API, its state machine (409s), and the scheduler driven by an injected clock and a fake dialer."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from api.billing.ledger import Movement, post
from api.billing.rates import Pricing
from models import (
    AttemptStatus,
    CallStatus,
    Campaign,
    CampaignAttempt,
    CampaignStatus,
    Contact,
    LedgerEntryKind,
)
from scheduler import DialRequest, DialResult, Scheduler, events
from tests.conftest import db_session, new_account

T0 = datetime(2026, 6, 10, 16, 0, tzinfo=UTC)  # 12:00 in New York


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakeDialer:
    """Answers each destination with its scripted outcomes (then ANSWERED); ``hold`` keeps calls up until set."""

    script: dict[str, list[CallStatus]] = field(default_factory=dict)
    capacity: int = 50
    hold: asyncio.Event | None = None
    opt_out: set[str] = field(default_factory=set)
    sessions: async_sessionmaker[AsyncSession] | None = None
    dialled: list[DialRequest] = field(default_factory=list)
    active: int = 0

    def free_slots(self) -> int:
        """The node capacity the test sets, minus calls up."""
        return self.capacity - self.active

    async def dial(self, request: DialRequest, on_call: Any) -> DialResult:
        """Record the request, wait for ``hold``, carry out an opt-out, return the next scripted outcome."""
        self.active += 1
        self.dialled.append(request)
        try:
            if self.hold is not None:
                await self.hold.wait()
            if request.destination in self.opt_out and self.sessions is not None:
                async with self.sessions() as session, session.begin():  # what CallTranscript.opt_out does
                    await session.execute(
                        update(Contact).where(Contact.id == request.contact_id).values(do_not_call=True)
                    )
            outcomes = self.script.get(request.destination, [])
            outcome = outcomes.pop(0) if outcomes else CallStatus.ANSWERED
            code = {CallStatus.ANSWERED: 200, CallStatus.BUSY: 486, CallStatus.NO_ANSWER: 487}.get(outcome, 500)
            return DialResult(outcome=outcome, sip_code=code, duration_s=3.0 if code == 200 else 0.0)
        finally:
            self.active -= 1


@pytest.fixture
async def sessions(app: Litestar) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions of the test's own event loop, for the scheduler under test."""
    engine = create_async_engine(app.state.settings.database_url, poolclass=NullPool)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def _post(client: AsyncTestClient[Litestar], auth: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    r = await client.post(path, json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


async def _setup(
    client: AsyncTestClient[Litestar], auth: dict[str, str], phones: list[str], did: int = 170
) -> dict[str, Any]:
    """An outbound assistant, three numbers (the middle one suspended), a company with contacts in New York."""
    assistant = await _post(client, auth, "/api/assistants", {"name": "Setter", "outbound_enabled": True})
    trunk = await _post(
        client,
        auth,
        "/api/trunks",
        {"name": "t", "kind": "ip", "peer_host": "127.0.0.1", "allowed_cidrs": ["127.0.0.0/8"]},
    )
    numbers = [
        await _post(
            client,
            auth,
            "/api/phone-numbers",
            {"number": n, "trunk_id": trunk["id"], "status": "suspended" if i == 1 else "active"},
        )
        for i, n in enumerate(f"+1415555{did + k:04d}" for k in range(3))
    ]
    company = await _post(client, auth, "/api/crm/companies", {"name": "Initech"})
    contacts = [
        await _post(
            client,
            auth,
            "/api/crm/contacts",
            {"company_id": company["id"], "first_name": f"C{i}", "phone": p, "timezone": "America/New_York"},
        )
        for i, p in enumerate(phones)
    ]
    return {"assistant": assistant, "numbers": numbers, "company": company, "contacts": contacts}


def _campaign_body(world: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": "Spring promo",
        "assistant_id": world["assistant"]["id"],
        "caller_number_ids": [n["id"] for n in world["numbers"]],
        "audience_company_id": world["company"]["id"],
        "window_start": "08:00:00",
        "window_end": "20:00:00",
        "window_timezone": "America/New_York",
        **extra,
    }


# --- the API and its state machine --------------------------------------------------------------


async def test_campaign_crud_validation_and_soft_delete(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    account_id, auth = await new_account(app)
    world = await _setup(client, auth, ["+12125550101"])
    created = await _post(client, auth, "/api/crm/campaigns", _campaign_body(world, max_concurrent_calls=4))
    assert created["status"] == "draft" and created["max_concurrent_calls"] == 4 and created["max_attempts"] == 3
    assert created["window_start"] == "08:00:00" and created["use_contact_timezone"] is True
    r = await client.patch(f"/api/crm/campaigns/{created['id']}", json={"name": "Summer promo"}, headers=auth)
    assert r.status_code == 200 and r.json()["name"] == "Summer promo"
    listed = (await client.get("/api/crm/campaigns", headers=auth)).json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == created["id"]

    bad: list[tuple[dict[str, Any], int, str]] = [
        ({"max_concurrent_calls": 11}, 400, "max_concurrent_calls"),
        ({"max_attempts": 0}, 400, "max_attempts"),
        ({"window_timezone": "Mars/Olympus"}, 422, "window_timezone"),
        ({"window_end": "08:00:00"}, 422, "window_end"),
        ({"window_start": "25:00:00"}, 400, "window_start"),
        ({"caller_number_ids": [str(UUID(int=7))]}, 422, "caller_number_ids"),
        ({"assistant_id": str(UUID(int=8))}, 422, "assistant_id"),
        ({"audience_contact_ids": [world["contacts"][0]["id"]]}, 422, "audience_contact_ids"),
        ({"scheduled_at": "2026-12-01T09:00:00"}, 422, "scheduled_at"),
    ]
    for change, status, name in bad:
        r = await client.post("/api/crm/campaigns", json=_campaign_body(world, **change), headers=auth)
        assert r.status_code == status, (change, r.text)
        assert r.json()["errors"][0]["field"] == name, (change, r.text)

    # another account's numbers are not ours to present
    _, other_auth = await new_account(app, "Other")
    other = await _setup(client, other_auth, ["+12125550199"], did=180)
    r = await client.post(
        "/api/crm/campaigns",
        json=_campaign_body(world, caller_number_ids=[other["numbers"][0]["id"]]),
        headers=auth,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "caller_number_ids"
    assert (await client.get(f"/api/crm/campaigns/{created['id']}", headers=other_auth)).status_code == 404

    assert (await client.delete(f"/api/crm/campaigns/{created['id']}", headers=auth)).status_code == 204
    assert (await client.get(f"/api/crm/campaigns/{created['id']}", headers=auth)).status_code == 404
    assert (await client.get("/api/crm/campaigns", headers=auth)).json()["count"] == 0
    async with db_session(app) as session:
        row = await session.get(Campaign, UUID(created["id"]))
        assert row is not None and row.deleted_at is not None and row.account_id == account_id


async def test_state_machine_and_fields_locked_while_running(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    _, auth = await new_account(app)
    world = await _setup(client, auth, ["+12125550101"])
    cid = (await _post(client, auth, "/api/crm/campaigns", _campaign_body(world)))["id"]
    base = f"/api/crm/campaigns/{cid}"

    for action in ("pause", "resume"):
        r = await client.post(f"{base}/{action}", headers=auth)
        assert r.status_code == 409 and "draft" in r.json()["detail"], r.text
    r = await client.post(f"{base}/launch", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "scheduled"
    assert (await client.post(f"{base}/launch", headers=auth)).status_code == 409
    r = await client.patch(base, json={"audience_contact_ids": []}, headers=auth)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "audience_contact_ids"

    async with db_session(app) as session:  # the scheduler's step: scheduled → running
        await session.execute(update(Campaign).where(Campaign.id == UUID(cid)).values(status=CampaignStatus.RUNNING))
        await session.commit()
    for locked in ({"window_start": "10:00:00"}, {"retry_busy_s": 60}, {"voicemail_message": "Hi"}):
        r = await client.patch(base, json=locked, headers=auth)
        assert r.status_code == 409, r.text
        assert "pause it first" in r.json()["detail"] and r.json()["errors"][0]["field"] == next(iter(locked))
    r = await client.patch(base, json={"name": "Renamed", "max_concurrent_calls": 2}, headers=auth)
    assert r.status_code == 200 and r.json()["max_concurrent_calls"] == 2
    assert (await client.delete(base, headers=auth)).status_code == 409
    assert (await client.post(f"{base}/launch", headers=auth)).status_code == 409

    assert (await client.post(f"{base}/pause", headers=auth)).json()["status"] == "paused"
    r = await client.patch(base, json={"window_start": "10:00:00", "retry_busy_s": 60}, headers=auth)
    assert r.status_code == 200 and r.json()["window_start"] == "10:00:00"
    assert (await client.post(f"{base}/resume", headers=auth)).json()["status"] == "running"
    assert (await client.post(f"{base}/cancel", headers=auth)).json()["status"] == "cancelled"
    for action in ("cancel", "resume", "pause", "launch"):
        assert (await client.post(f"{base}/{action}", headers=auth)).status_code == 409
    r = await client.patch(base, json={"name": "Again"}, headers=auth)
    assert r.status_code == 409 and "cancelled" in r.json()["detail"]


async def test_launch_needs_an_outbound_assistant(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    _, auth = await new_account(app)
    world = await _setup(client, auth, ["+12125550101"])
    silent = await _post(client, auth, "/api/assistants", {"name": "Inbound only", "outbound_enabled": False})
    cid = (await _post(client, auth, "/api/crm/campaigns", _campaign_body(world, assistant_id=silent["id"])))["id"]
    r = await client.post(f"/api/crm/campaigns/{cid}/launch", headers=auth)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "assistant_id"
    assert (await client.get(f"/api/crm/campaigns/{cid}", headers=auth)).json()["status"] == "draft"


# --- the scheduler -------------------------------------------------------------------------------


async def _attempts(sessions: async_sessionmaker[AsyncSession], campaign_id: str) -> list[CampaignAttempt]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(CampaignAttempt)
                .where(CampaignAttempt.campaign_id == UUID(campaign_id))
                .order_by(CampaignAttempt.started_at, CampaignAttempt.attempt_no)
            )
        )


async def _status(sessions: async_sessionmaker[AsyncSession], campaign_id: str) -> Campaign:
    async with sessions() as session:
        campaign = await session.get(Campaign, UUID(campaign_id))
        assert campaign is not None
        return campaign


async def _tick(scheduler: Scheduler) -> float:
    """One tick, then let the dials it started reach the dialer."""
    delay = await scheduler.tick()
    await asyncio.sleep(0.05)
    return delay


async def _run(scheduler: Scheduler, clock: Clock, step: timedelta, rounds: int) -> None:
    """Tick, let the calls end, move the clock; a bounded number of rounds."""
    for _ in range(rounds):
        await scheduler.tick()
        await scheduler.settle()
        clock.now += step


async def test_retries_by_outcome_dnc_round_robin_and_completion(
    app: Litestar, client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, auth = await new_account(app)
    busy, late, quick, dnc, opts_out = "+12125550101", "+12125550102", "+12125550103", "+12125550104", "+12125550105"
    world = await _setup(client, auth, [busy, late, quick, dnc, opts_out])
    r = await client.patch(f"/api/crm/contacts/{world['contacts'][3]['id']}", json={"do_not_call": True}, headers=auth)
    assert r.status_code == 200
    body = _campaign_body(world, max_attempts=3, retry_busy_s=60, retry_no_answer_s=120, max_concurrent_calls=10)
    cid = (await _post(client, auth, "/api/crm/campaigns", body))["id"]
    assert (await client.post(f"/api/crm/campaigns/{cid}/launch", headers=auth)).status_code == 200

    seen: list[dict[str, Any]] = []
    unsubscribe = events.subscribe(lambda name, payload: seen.append({"event": name, **payload}))
    clock = Clock()
    dialer = FakeDialer(
        script={busy: [CallStatus.BUSY] * 5, late: [CallStatus.NO_ANSWER], opts_out: [CallStatus.NO_ANSWER]},
        opt_out={opts_out},
        sessions=sessions,
    )
    scheduler = Scheduler(sessions, dialer, node_id="test", clock=clock)
    try:
        await _run(scheduler, clock, timedelta(seconds=60), rounds=8)
    finally:
        unsubscribe()

    campaign = await _status(sessions, cid)
    assert campaign.status is CampaignStatus.COMPLETED and campaign.completed_at is not None
    transitions = [(e["from"], e["to"]) for e in seen if e["campaign_id"] == cid]
    assert transitions == [("scheduled", "running"), ("running", "completed")]
    by_contact: dict[str, list[CampaignAttempt]] = {}
    phone_of = {c["id"]: c["phone"] for c in world["contacts"]}
    for attempt in await _attempts(sessions, cid):
        by_contact.setdefault(phone_of[str(attempt.contact_id)], []).append(attempt)
    assert [a.outcome for a in by_contact[busy]] == [CallStatus.BUSY] * 3  # max attempts, no more
    assert [a.sip_code for a in by_contact[busy]] == [486] * 3
    assert by_contact[busy][1].started_at - by_contact[busy][0].ended_at >= timedelta(seconds=60)
    assert [a.outcome for a in by_contact[late]] == [CallStatus.NO_ANSWER, CallStatus.ANSWERED]
    assert by_contact[late][1].started_at - by_contact[late][0].ended_at >= timedelta(seconds=120)
    assert [a.outcome for a in by_contact[quick]] == [CallStatus.ANSWERED]
    assert by_contact[quick][0].duration_s == 3.0 and by_contact[quick][0].caller_id is not None
    assert dnc not in by_contact  # DNC contacts are not in the audience
    assert [a.outcome for a in by_contact[opts_out]] == [CallStatus.NO_ANSWER]  # opted out: no retry
    # Round robin over the campaign's numbers skips the suspended one.
    used = [d.caller_id for d in dialer.dialled]
    assert set(used) == {"+14155550170", "+14155550172"}
    assert len(used) == 7 and all(a != b for a, b in itertools.pairwise(used))

    stats = (await client.get(f"/api/crm/campaigns/{cid}/stats", headers=auth)).json()
    assert stats["status"] == "completed" and stats["contacts"] == 4
    assert stats["outcomes"] == {"busy": 3, "no_answer": 2, "answered": 2}
    assert stats["answer_rate"] == pytest.approx(2 / 7, abs=1e-3) and stats["completion_rate"] == 1.0
    assert stats["queue_size"] == 0 and stats["calls_in_progress"] == 0 and len(stats["recent_calls"]) == 7
    r = await client.get(f"/api/crm/campaigns/{cid}/stats/stream", params={"max_events": 3}, headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.text.count("event: stats") == 1  # a completed campaign sends its final figures once, then ends
    assert '"answer_rate"' in r.text


async def test_dnc_is_checked_again_at_dial_time(
    app: Litestar, client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, auth = await new_account(app)
    world = await _setup(client, auth, ["+12125550101", "+12125550102"])
    body = _campaign_body(world, max_concurrent_calls=1)
    cid = (await _post(client, auth, "/api/crm/campaigns", body))["id"]
    await client.post(f"/api/crm/campaigns/{cid}/launch", headers=auth)
    clock = Clock()
    dialer = FakeDialer(hold=asyncio.Event())
    scheduler = Scheduler(sessions, dialer, node_id="test", clock=clock)
    await _tick(scheduler)  # one call up (concurrency 1), the other contact queued
    assert len(dialer.dialled) == 1
    queued = next(c for c in world["contacts"] if c["id"] != str(dialer.dialled[0].contact_id))
    r = await client.patch(f"/api/crm/contacts/{queued['id']}", json={"lead_status": "dnc"}, headers=auth)
    assert r.status_code == 200
    dialer.hold.set()  # type: ignore[union-attr]
    await _run(scheduler, clock, timedelta(seconds=1), rounds=3)
    assert len(dialer.dialled) == 1
    states = {str(a.contact_id): a.status for a in await _attempts(sessions, cid)}
    assert states[queued["id"]] is AttemptStatus.CANCELLED
    assert (await _status(sessions, cid)).status is CampaignStatus.COMPLETED


async def test_concurrency_window_and_credit_hook(
    app: Litestar, client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    account_id, auth = await new_account(app)
    phones = [f"+1212555{i:04d}" for i in range(101, 106)]
    world = await _setup(client, auth, phones)
    body = _campaign_body(world, max_concurrent_calls=2, window_start="09:00:00", window_end="17:00:00")
    cid = (await _post(client, auth, "/api/crm/campaigns", body))["id"]
    await client.post(f"/api/crm/campaigns/{cid}/launch", headers=auth)

    # 03:00 in New York: nothing is dialled, every attempt waits for 09:00 local (13:00 UTC).
    clock = Clock(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))
    dialer = FakeDialer(hold=asyncio.Event(), capacity=50)
    scheduler = Scheduler(sessions, dialer, node_id="test", clock=clock)
    assert await _tick(scheduler) > 0
    assert dialer.dialled == []
    attempts = await _attempts(sessions, cid)
    assert len(attempts) == 5 and {a.due_at for a in attempts} == {datetime(2026, 6, 10, 13, 0, tzinfo=UTC)}
    stats = (await client.get(f"/api/crm/campaigns/{cid}/stats", headers=auth)).json()
    assert stats["queue_size"] == 5 and stats["next_attempts"][0]["due_at"].startswith("2026-06-10T13:00:00")

    clock.now = datetime(2026, 6, 10, 13, 0, tzinfo=UTC)
    await _tick(scheduler)
    await _tick(scheduler)
    assert len(dialer.dialled) == 2 and dialer.active == 2  # the campaign's concurrency, not the node's 50
    stats = (await client.get(f"/api/crm/campaigns/{cid}/stats", headers=auth)).json()
    assert stats["calls_in_progress"] == 2 and stats["queue_size"] == 3
    dialer.hold.set()  # type: ignore[union-attr]
    await scheduler.settle()

    # The node's capacity caps too: one free slot, one call.
    dialer.hold = asyncio.Event()
    dialer.capacity = 1
    await _tick(scheduler)
    assert len(dialer.dialled) == 3 and dialer.active == 1
    dialer.hold.set()
    await scheduler.settle()

    # A ledger at zero pauses the campaign and says why.
    async with sessions() as session, session.begin():
        moves = [Movement(LedgerEntryKind.PURCHASE, Decimal(10)), Movement(LedgerEntryKind.CALL_CHARGE, Decimal(-10))]
        await post(session, account_id, moves, Pricing())
    dialer.capacity = 50
    await _tick(scheduler)
    campaign = await _status(sessions, cid)
    assert campaign.status is CampaignStatus.PAUSED and "credit" in (campaign.status_reason or "")
    assert len(dialer.dialled) == 3


async def test_restart_closes_in_flight_attempts_as_errors_and_retries_them(
    app: Litestar, client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, auth = await new_account(app)
    world = await _setup(client, auth, ["+12125550101", "+12125550102"])
    body = _campaign_body(world, max_concurrent_calls=2, max_attempts=2, retry_error_s=30)
    cid = (await _post(client, auth, "/api/crm/campaigns", body))["id"]
    await client.post(f"/api/crm/campaigns/{cid}/launch", headers=auth)
    clock = Clock()
    first = Scheduler(sessions, FakeDialer(hold=asyncio.Event()), node_id="node-a", clock=clock)
    await _tick(first)
    assert {a.status for a in await _attempts(sessions, cid)} == {AttemptStatus.DIALING}
    other = Scheduler(sessions, FakeDialer(), node_id="node-b", clock=clock)
    assert await other.recover() == 0  # another node's calls are not ours to close
    await first.stop()
    for task in list(first._dials):  # the process dies: its calls never report
        task.cancel()

    restarted = Scheduler(sessions, FakeDialer(), node_id="node-a", clock=clock)
    assert await restarted.recover() == 2
    attempts = await _attempts(sessions, cid)
    closed = [a for a in attempts if a.attempt_no == 1]
    retries = [a for a in attempts if a.attempt_no == 2]
    assert all(a.status is AttemptStatus.DONE and a.outcome is CallStatus.ERROR for a in closed)
    assert len(retries) == 2 and all(a.due_at == T0 + timedelta(seconds=30) for a in retries)
    clock.now += timedelta(seconds=30)
    await _run(restarted, clock, timedelta(seconds=30), rounds=3)
    attempts = await _attempts(sessions, cid)
    assert len(attempts) == 4 and max(a.attempt_no for a in attempts) == 2
    assert (await _status(sessions, cid)).status is CampaignStatus.COMPLETED


async def test_a_scheduled_start_waits_for_its_time(
    app: Litestar, client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, auth = await new_account(app)
    world = await _setup(client, auth, ["+12125550101"])
    start = T0 + timedelta(minutes=30)
    cid = (await _post(client, auth, "/api/crm/campaigns", _campaign_body(world, scheduled_at=start.isoformat())))["id"]
    await client.post(f"/api/crm/campaigns/{cid}/launch", headers=auth)
    clock = Clock()
    dialer = FakeDialer()
    scheduler = Scheduler(sessions, dialer, node_id="test", clock=clock)
    assert await _tick(scheduler) == 2.0  # capped at the poll interval, not a busy loop
    assert (await _status(sessions, cid)).status is CampaignStatus.SCHEDULED and dialer.dialled == []
    clock.now = start
    await _run(scheduler, clock, timedelta(seconds=1), rounds=2)
    campaign = await _status(sessions, cid)
    assert campaign.status is CampaignStatus.COMPLETED and campaign.started_at == start
    assert len(dialer.dialled) == 1
