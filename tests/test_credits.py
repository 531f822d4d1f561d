"""Credits: the exact ledger under concurrent charges, idempotent charging, auto-reload, the API and the call meter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.billing.ledger import Movement, ledger_sum, post
from api.billing.meter import CallMeter, charge_call
from api.billing.rates import Pricing, RateCard, billable_minutes
from api.config import CreditSettings
from api.database import make_engine, make_sessionmaker
from api.telephony.metering import REFUSAL, CallMetering
from api.telephony.routing import InboundRoute
from models import (
    Account,
    Assistant,
    AssistantTemplate,
    Call,
    CallDirection,
    CallStatus,
    CreditLedgerEntry,
    LedgerEntryKind,
)
from scheduler import events
from tests.conftest import new_account

LOCAL = Decimal("0.7")  # the default rate card's telephony 0.40 + whisper 0.10 + local LLM 0.10 + Piper 0.10


@pytest.fixture
async def sessions(app: Litestar) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on this test's event loop, with a pool big enough for 40 concurrent charges."""
    engine = make_engine(app.state.settings.database_url, pool_size=25)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def low_events() -> Any:
    """Every ``credits.low`` event emitted during the test."""
    seen: list[dict[str, Any]] = []
    unsubscribe = events.subscribe(lambda name, payload: seen.append(payload) if name == "credits.low" else None)
    yield seen
    unsubscribe()


async def _assistant(sessions: async_sessionmaker[AsyncSession], account_id: UUID, **layers: Any) -> UUID:
    async with sessions() as session, session.begin():
        assistant = Assistant(
            account_id=account_id,
            name="metered",
            template=AssistantTemplate.CUSTOM,
            system_prompt="",
            llm=layers.get("llm", {"provider": "local"}),
            voice=layers.get("voice", {"provider": "piper"}),
            transcriber=layers.get("transcriber", {"provider": "faster-whisper"}),
        )
        session.add(assistant)
    return assistant.id


async def _ended_calls(
    sessions: async_sessionmaker[AsyncSession], account_id: UUID, assistant_id: UUID, seconds: list[float]
) -> list[UUID]:
    """Calls that ended at the same moment after talking ``seconds`` each."""
    end = datetime.now(UTC)
    async with sessions() as session, session.begin():
        calls = [
            Call(
                account_id=account_id,
                assistant_id=assistant_id,
                direction=CallDirection.INBOUND,
                from_number="+14155550100",
                to_number="+14155550101",
                status=CallStatus.ANSWERED,
                answered_at=end - timedelta(seconds=s),
                ended_at=end,
            )
            for s in seconds
        ]
        session.add_all(calls)
    return [c.id for c in calls]


async def _top_up(sessions: async_sessionmaker[AsyncSession], account_id: UUID, amount: Decimal) -> None:
    async with sessions() as session, session.begin():
        await post(session, account_id, [Movement(LedgerEntryKind.PURCHASE, amount)], Pricing())


async def _balance(sessions: async_sessionmaker[AsyncSession], account_id: UUID) -> tuple[Decimal | None, Decimal]:
    """The cached balance and the sum of the entries."""
    async with sessions() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        return account.credit_balance, await ledger_sum(session, account_id) or Decimal(0)


def test_minutes_round_up_from_answer_to_hangup() -> None:
    assert [billable_minutes(s) for s in (0, 0.3, 59.999, 60.0, 60.0000001, 60.001, 119, 121)] == [
        0,
        1,
        1,
        1,
        1,
        2,
        2,
        3,
    ]
    card = RateCard()
    assert card.per_minute({"provider": "faster-whisper"}, {"provider": "local"}, {"provider": "piper"}) == LOCAL
    cloud = card.per_minute(
        {"provider": "deepgram"}, {"provider": "openai", "model": "gpt-4o"}, {"provider": "elevenlabs"}
    )
    assert cloud == Decimal("1.8") and cloud > LOCAL  # a model's own rate beats its provider's
    assert card.per_minute({}, {"provider": "someday"}, {}) == Decimal("0.40") + 3 * card.unknown_cloud


async def test_twenty_calls_ending_at_once_leave_the_ledger_exact_and_retries_charge_nothing(
    app: Litestar, sessions: async_sessionmaker[AsyncSession]
) -> None:
    account_id, _ = await new_account(app)
    assistant_id = await _assistant(sessions, account_id)
    await _top_up(sessions, account_id, Decimal(1000))
    seconds = [0.4 + 13.7 * i for i in range(20)]  # 1 to 5 minutes each
    call_ids = await _ended_calls(sessions, account_id, assistant_id, seconds)
    rates, pricing = RateCard(), Pricing()

    # Every call's end-of-call handler runs twice at the same moment: 40 concurrent charges of 20 calls.
    charges = await asyncio.gather(*(charge_call(sessions, c, rates, pricing) for c in call_ids + call_ids))
    posted = [c for c in charges if c is not None and c.posted is not None]
    assert len(posted) == 20 and len({c.posted.entries[0].call_id for c in posted if c.posted}) == 20

    expected = sum((LOCAL * billable_minutes(s) for s in seconds), Decimal(0))
    assert expected == LOCAL * sum(billable_minutes(s) for s in seconds) and expected > 0
    cached, summed = await _balance(sessions, account_id)
    assert cached == summed == Decimal(1000) - expected
    async with sessions() as session:
        entries = list(
            await session.scalars(
                select(CreditLedgerEntry).where(CreditLedgerEntry.kind == LedgerEntryKind.CALL_CHARGE)
            )
        )
        charged = {c.id: c.credits_charged for c in await session.scalars(select(Call))}
    assert len(entries) == 20
    for call_id, s in zip(call_ids, seconds, strict=True):
        assert charged[call_id] == LOCAL * billable_minutes(s)

    # A later retry finds the charge and posts nothing.
    again = await charge_call(sessions, call_ids[0], rates, pricing)
    assert again is not None and again.posted is None and again.credits == charged[call_ids[0]]
    assert await _balance(sessions, account_id) == (cached, summed)


async def test_unanswered_calls_and_unmetered_accounts_are_not_charged(
    app: Litestar, sessions: async_sessionmaker[AsyncSession]
) -> None:
    account_id, _ = await new_account(app)
    assistant_id = await _assistant(sessions, account_id)
    [talked] = await _ended_calls(sessions, account_id, assistant_id, [30.0])
    async with sessions() as session, session.begin():
        missed = Call(
            account_id=account_id,
            direction=CallDirection.OUTBOUND,
            from_number="+14155550100",
            to_number="+14155550101",
            status=CallStatus.NO_ANSWER,
            ended_at=datetime.now(UTC),
        )
        session.add(missed)
    # No ledger yet: the account is not metered, so the call's charge is computed but not posted.
    charge = await charge_call(sessions, talked, RateCard(), Pricing())
    assert charge is not None and charge.credits == LOCAL and charge.posted is None
    assert await _balance(sessions, account_id) == (None, Decimal(0))
    await _top_up(sessions, account_id, Decimal(5))
    assert await charge_call(sessions, missed.id, RateCard(), Pricing()) is None
    charge = await charge_call(sessions, talked, RateCard(), Pricing())
    assert charge is not None and charge.posted is not None
    assert await _balance(sessions, account_id) == (Decimal(5) - LOCAL, Decimal(5) - LOCAL)


async def _auto_reload(
    sessions: async_sessionmaker[AsyncSession], account_id: UUID, threshold: int, amount: int
) -> None:
    async with sessions() as session, session.begin():
        account = await session.get(Account, account_id)
        assert account is not None
        account.low_balance_threshold = Decimal(threshold)
        account.auto_reload_credits = Decimal(amount)
        account.auto_reload_enabled = True


async def test_auto_reload_fires_once_per_crossing_under_concurrent_charges(
    app: Litestar, sessions: async_sessionmaker[AsyncSession], low_events: list[dict[str, Any]]
) -> None:
    account_id, _ = await new_account(app)
    assistant_id = await _assistant(sessions, account_id)
    metering = CallMetering(sessions, CreditSettings(rates=RateCard(telephony=Decimal("2.7"))))  # 3 credits/min
    await _top_up(sessions, account_id, Decimal(100))
    await _auto_reload(sessions, account_id, threshold=50, amount=100)

    # 20 one-minute calls end together: 100 → 40 crosses 50 once, so exactly one reload of 100.
    calls = await _ended_calls(sessions, account_id, assistant_id, [30.0] * 20)
    await asyncio.gather(*(metering.charge(c) for c in calls))
    async with sessions() as session:
        reloads = list(
            await session.scalars(
                select(CreditLedgerEntry).where(CreditLedgerEntry.kind == LedgerEntryKind.AUTO_RELOAD)
            )
        )
    assert len(reloads) == 1 and reloads[0].credits == 100 and reloads[0].amount_cents == 5000
    assert await _balance(sessions, account_id) == (Decimal(140), Decimal(140))
    assert len(low_events) == 1 and low_events[0]["auto_reload_credits"] == "100.0000"

    # 140 → 80: above the threshold all along, nothing fires. 80 → 20: the second crossing, the second reload.
    await asyncio.gather(
        *(metering.charge(c) for c in await _ended_calls(sessions, account_id, assistant_id, [5.0] * 20))
    )
    assert len(low_events) == 1
    await asyncio.gather(
        *(metering.charge(c) for c in await _ended_calls(sessions, account_id, assistant_id, [5.0] * 20))
    )
    assert len(low_events) == 2 and await _balance(sessions, account_id) == (Decimal(120), Decimal(120))


async def test_a_reload_too_small_to_lift_the_balance_never_storms(
    app: Litestar, sessions: async_sessionmaker[AsyncSession], low_events: list[dict[str, Any]]
) -> None:
    account_id, _ = await new_account(app)
    assistant_id = await _assistant(sessions, account_id)
    metering = CallMetering(sessions, CreditSettings(rates=RateCard(telephony=Decimal("2.7"))))
    await _top_up(sessions, account_id, Decimal(100))
    await _auto_reload(sessions, account_id, threshold=90, amount=1)
    calls = await _ended_calls(sessions, account_id, assistant_id, [10.0] * 20)
    await asyncio.gather(*(metering.charge(c) for c in calls))
    # One crossing (100 → 97 → 94 → 91 → 88, +1 → 89): one reload, although 16 more charges stayed below 90.
    assert len(low_events) == 1
    assert await _balance(sessions, account_id) == (Decimal(41), Decimal(41))
    # A purchase lifts it above the threshold: armed again, and the next crossing fires once more.
    await _top_up(sessions, account_id, Decimal(50))
    await asyncio.gather(
        *(metering.charge(c) for c in await _ended_calls(sessions, account_id, assistant_id, [10.0] * 3))
    )
    assert len(low_events) == 2 and await _balance(sessions, account_id) == (Decimal(83), Decimal(83))


# --- the API -------------------------------------------------------------------------------------


async def test_packages_top_ups_ledger_and_estimates(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    _, auth = await new_account(app)
    packages = (await client.get("/api/billing/packages", headers=auth)).json()
    p10, p25 = packages[0], packages[1]
    assert (p10["id"], Decimal(p10["credits"]), Decimal(p10["bonus_credits"])) == ("p10", 20, 0)  # $1 = 2 credits
    assert (Decimal(p25["credits"]), Decimal(p25["bonus_credits"]), Decimal(p25["total_credits"])) == (50, 2.5, 52.5)

    summary = (await client.get("/api/billing/credits", headers=auth)).json()
    assert summary["balance"] is None and summary["metered"] is False

    r = await client.post("/api/billing/top-ups", headers=auth, json={"package": "p25", "reference": "inv-1"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert Decimal(body["balance"]) == Decimal("52.5")
    assert [(e["kind"], Decimal(e["credits"])) for e in body["entries"]] == [("purchase", 50), ("bonus", 2.5)]
    assert body["entries"][0]["amount_cents"] == 2500
    r = await client.post("/api/billing/top-ups", headers=auth, json={"amount": "12.34"})
    assert r.status_code == 201 and Decimal(r.json()["balance"]) == Decimal("77.18")
    r = await client.post("/api/billing/top-ups", headers=auth, json={"credits": -1.5, "note": "goodwill reversal"})
    assert r.status_code == 201 and Decimal(r.json()["balance"]) == Decimal("75.68")

    page = (await client.get("/api/billing/ledger?limit=2", headers=auth)).json()
    assert page["count"] == 4 and len(page["items"]) == 2 and page["items"][0]["kind"] == "adjustment"
    bonuses = (await client.get("/api/billing/ledger?kind=bonus", headers=auth)).json()
    assert bonuses["count"] == 1

    assistant = (await client.post("/api/assistants", headers=auth, json={"name": "Desk"})).json()
    assert Decimal(assistant["credits_per_minute"]) == LOCAL
    summary = (await client.get("/api/billing/credits", headers=auth)).json()
    [estimate] = summary["estimates"]
    assert Decimal(estimate["credits_per_minute"]) == LOCAL and estimate["minutes_left"] == 108  # 75.68 / 0.7
    assert Decimal(summary["balance"]) == Decimal(summary["available"]) == Decimal("75.68")


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({}, "package", 422),
        ({"package": "p10", "credits": 5}, "package", 422),
        ({"package": "p999"}, "package", 422),
        ({"amount": 0}, "amount", 422),
        ({"amount": "-5"}, "amount", 422),
        ({"amount": "1.001"}, "amount", 422),
        ({"amount": "1e400"}, "amount", 422),
        ({"amount": "NaN"}, "amount", 422),
        ({"credits": 0}, "credits", 422),
        ({"credits": "0.00001"}, "credits", 422),
        ({"credits": 5, "colour": "red"}, "colour", 400),
        ({"amount": "ten"}, "amount", 400),
    ],
)
async def test_top_up_validation_names_the_field(
    app: Litestar, client: AsyncTestClient[Litestar], body: dict[str, Any], field: str, status: int
) -> None:
    _, auth = await new_account(app)
    r = await client.post("/api/billing/top-ups", headers=auth, json=body)
    assert r.status_code == status, r.text
    assert field in {e["field"] for e in r.json()["errors"]}, r.text
    assert (await client.get("/api/billing/ledger", headers=auth)).json()["count"] == 0


async def test_auto_reload_settings_and_scopes(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    _, auth = await new_account(app)
    r = await client.put("/api/billing/auto-reload", headers=auth, json={"enabled": True, "threshold": 10})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "credits"
    r = await client.put(
        "/api/billing/auto-reload", headers=auth, json={"enabled": True, "threshold": -1, "credits": 5}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "threshold"
    r = await client.put(
        "/api/billing/auto-reload", headers=auth, json={"enabled": True, "threshold": 10, "credits": 40}
    )
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is True and r.json()["price_cents"] == 2000
    got = (await client.get("/api/billing/auto-reload", headers=auth)).json()
    assert Decimal(got["threshold"]) == 10 and Decimal(got["credits"]) == 40

    key = (await client.post("/api/api-keys", headers=auth, json={"name": "w", "scopes": ["write"]})).json()["key"]
    writer = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/api/billing/credits", headers=writer)).status_code == 200
    assert (await client.post("/api/billing/top-ups", headers=writer, json={"package": "p10"})).status_code == 403
    r = await client.put("/api/billing/auto-reload", headers=writer, json={"enabled": False, "threshold": 1})
    assert r.status_code == 403


async def test_ledgers_are_per_account(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    _, mine = await new_account(app, "Mine")
    _, theirs = await new_account(app, "Theirs")
    assert (await client.post("/api/billing/top-ups", headers=mine, json={"package": "p10"})).status_code == 201
    assert (await client.get("/api/billing/ledger", headers=theirs)).json()["count"] == 0
    assert (await client.get("/api/billing/credits", headers=theirs)).json()["balance"] is None


# --- zero balance and the meter --------------------------------------------------------------------


async def _live_call(sessions: async_sessionmaker[AsyncSession], account_id: UUID, assistant_id: UUID) -> UUID:
    async with sessions() as session, session.begin():
        call = Call(
            account_id=account_id,
            assistant_id=assistant_id,
            direction=CallDirection.INBOUND,
            from_number="+14155550100",
            to_number="+14155550101",
            status=CallStatus.IN_PROGRESS,
            answered_at=datetime.now(UTC),
        )
        session.add(call)
    return call.id


async def test_the_inbound_gate_counts_the_minutes_live_calls_have_begun(
    app: Litestar, sessions: async_sessionmaker[AsyncSession]
) -> None:
    account_id, _ = await new_account(app)
    assistant_id = await _assistant(sessions, account_id)
    metering = CallMetering(sessions, CreditSettings())
    route = InboundRoute(
        account_id=account_id,
        phone_number_id=uuid4(),
        number="+14155550101",
        trunk_id=uuid4(),
        assistant_id=assistant_id,
        inbound_enabled=True,
        trunk_is_ip=True,
        allowed=(),
    )
    assert await metering.inbound_gate(route) is None  # not metered
    await _top_up(sessions, account_id, Decimal("1.4"))
    assert await metering.inbound_gate(route) is None
    await _live_call(sessions, account_id, assistant_id)
    assert await metering.inbound_gate(route) is None  # 1.4 - 0.7 left
    await _live_call(sessions, account_id, assistant_id)
    assert await metering.inbound_gate(route) == REFUSAL  # two live calls hold all of it


class _Call:
    """The parts of a SIP call the meter touches."""

    def __init__(self) -> None:
        self.answered_at = time.time()
        self.closed = False
        self.hung_up_at: float | None = None

    async def hangup(self, by: Any) -> None:
        self.hung_up_at = time.time() - self.answered_at
        self.closed = True


class _Talker:
    """A handler that notes when it is told to say its last words."""

    def __init__(self, call: _Call) -> None:
        self.call = call
        self.said: list[tuple[float, str]] = []

    def finish_with(self, text: str) -> None:
        self.said.append((time.time() - self.call.answered_at, text))


async def test_a_call_that_drains_the_balance_hears_a_warning_and_ends_at_the_next_minute_boundary(
    app: Litestar, sessions: async_sessionmaker[AsyncSession]
) -> None:
    account_id, _ = await new_account(app)
    assistant_id = await _assistant(sessions, account_id)
    await _top_up(sessions, account_id, Decimal("1.0"))
    call_id = await _live_call(sessions, account_id, assistant_id)
    settings = CreditSettings()
    metering = CallMetering(sessions, settings)
    call = _Call()
    talker = _Talker(call)
    # A 1-second "minute" keeps the test short; the arithmetic is the same as with 60.
    meter = CallMeter(
        sessions,
        settings.rates,
        call_id=call_id,
        account_id=account_id,
        rate=LOCAL,
        answered_at=call.answered_at,
        minute_s=1.0,
        warn_lead_s=0.3,
        end_margin_s=0.05,
    )
    await asyncio.wait_for(metering.watch(meter, call, talker), timeout=10)  # type: ignore[arg-type]
    # Minute 1 leaves 0.3, minute 2 would leave -0.4: the second minute is the last, overdrawn by less than one.
    assert meter.drained_at_minute == 2
    [(said_at, text)] = talker.said
    assert text == settings.drain_warning and 1.6 <= said_at < 1.95
    assert call.hung_up_at is not None and 1.9 <= call.hung_up_at < 2.0


async def test_a_funded_call_is_never_warned(app: Litestar, sessions: async_sessionmaker[AsyncSession]) -> None:
    account_id, _ = await new_account(app)
    assistant_id = await _assistant(sessions, account_id)
    await _top_up(sessions, account_id, Decimal(100))
    call_id = await _live_call(sessions, account_id, assistant_id)
    call = _Call()
    talker = _Talker(call)
    meter = CallMeter(
        sessions,
        RateCard(),
        call_id=call_id,
        account_id=account_id,
        rate=LOCAL,
        answered_at=call.answered_at,
        minute_s=0.2,
        max_minutes=8,
    )
    await asyncio.wait_for(CallMetering(sessions, CreditSettings()).watch(meter, call, talker), timeout=10)  # type: ignore[arg-type]
    assert meter.drained_at_minute is None and talker.said == [] and call.hung_up_at is None
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CreditLedgerEntry)) == 1
