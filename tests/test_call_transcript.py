"""api/telephony/transcripts.py: turns land on the call as they happen; an opt-out marks the contact do-not-call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from api.telephony.call_records import CallRecords
from api.telephony.transcripts import CallTranscript
from models import CallDirection, CallStatus, Contact, LeadStatus
from tests.conftest import db_session, new_account


def _sessions(app: Litestar) -> async_sessionmaker:
    """Sessions for this test's event loop (the app's own pool belongs to the loop the app serves on)."""
    engine = create_async_engine(app.state.settings.database_url, poolclass=NullPool)
    return async_sessionmaker(engine, expire_on_commit=False)


async def test_turns_are_stored_in_order_and_shown_while_the_call_runs(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    account_id, auth = await new_account(app)
    sessions = _sessions(app)
    call_id = await CallRecords(sessions).open(
        account_id=account_id,
        direction=CallDirection.INBOUND,
        from_number="+14155550142",
        to_number="+14155550100",
        status=CallStatus.IN_PROGRESS,
    )
    transcript = CallTranscript(sessions, call_id=call_id, account_id=account_id, contact_id=None, caller_number=None)
    t0 = datetime.now(UTC)
    await transcript.turn("assistant", "Hello, how can I help?", t0, t0 + timedelta(seconds=2), False)
    await transcript.turn(
        "user", "I'd like an appointment.", t0 + timedelta(seconds=3), t0 + timedelta(seconds=5), False
    )
    await transcript.turn("assistant", "Sure, when", t0 + timedelta(seconds=6), t0 + timedelta(seconds=7), True)

    row = (await client.get(f"/api/calls/{call_id}", headers=auth)).json()
    assert row["status"] == "in_progress"
    shown = [(t["role"], t["text"], t["interrupted"]) for t in row["transcript"]]
    assert shown == [
        ("assistant", "Hello, how can I help?", False),
        ("user", "I'd like an appointment.", False),
        ("assistant", "Sure, when", True),
    ]


async def test_an_opt_out_marks_the_callers_contact_do_not_call(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    account_id, auth = await new_account(app)
    _, other_auth = await new_account(app, "Other")
    contacts = {}
    for who, headers in (("mine", auth), ("theirs", other_auth)):
        company = (await client.post("/api/crm/companies", json={"name": "Acme"}, headers=headers)).json()
        r = await client.post(
            "/api/crm/contacts",
            json={"company_id": company["id"], "first_name": "Ann", "phone": "+14155550142"},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        contacts[who] = r.json()["id"]
    sessions = _sessions(app)
    call_id = await CallRecords(sessions).open(
        account_id=account_id,
        direction=CallDirection.INBOUND,
        from_number="+14155550142",
        to_number="+14155550100",
        status=CallStatus.IN_PROGRESS,
    )
    # Inbound: no contact on the call; the caller's number finds it, in this account only.
    transcript = CallTranscript(
        sessions, call_id=call_id, account_id=account_id, contact_id=None, caller_number="+14155550142"
    )
    await transcript.opt_out()

    async with db_session(app) as session:
        rows = {c.id: c for c in await session.scalars(select(Contact))}
    mine = next(c for c in rows.values() if str(c.id) == contacts["mine"])
    theirs = next(c for c in rows.values() if str(c.id) == contacts["theirs"])
    assert mine.do_not_call is True and mine.lead_status == LeadStatus.DNC
    assert theirs.do_not_call is False
