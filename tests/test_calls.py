"""Call records: list, filters and transcript through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from litestar import Litestar
from litestar.testing import AsyncTestClient

from models import Call, CallDirection, CallStatus, CallTurn
from tests.conftest import db_session, new_account


async def _calls(app: Litestar, account_id: UUID) -> list[UUID]:
    t0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    async with db_session(app) as session:
        calls = [
            Call(
                account_id=account_id,
                direction=CallDirection.INBOUND,
                from_number="+14155550100",
                to_number="+14155550170",
                status=CallStatus.ANSWERED,
                started_at=t0,
                answered_at=t0,
                ended_at=t0 + timedelta(seconds=75),
                duration_s=75,
                sip_code=200,
                hangup_by="caller",
                recording_path="rec.wav",
                summary="Asked about opening hours.",
            ),
            Call(
                account_id=account_id,
                direction=CallDirection.OUTBOUND,
                from_number="+14155550170",
                to_number="+14155550101",
                status=CallStatus.BUSY,
                sip_code=486,
                started_at=t0,
            ),
        ]
        session.add_all(calls)
        await session.flush()
        session.add_all(
            [
                CallTurn(call_id=calls[0].id, seq=1, role="assistant", text="Hello, how can I help?", started_at=t0),
                CallTurn(
                    call_id=calls[0].id,
                    seq=2,
                    role="user",
                    text="When are you open?",
                    started_at=t0 + timedelta(seconds=3),
                    ended_at=t0 + timedelta(seconds=5),
                ),
            ]
        )
        await session.commit()
        return [c.id for c in calls]


async def test_calls_are_listed_filtered_and_show_their_transcript(app: Litestar, client: AsyncTestClient) -> None:
    account_id, auth = await new_account(app)
    answered, busy = await _calls(app, account_id)
    listed = (await client.get("/api/calls", headers=auth)).json()
    assert listed["count"] == 2
    r = await client.get("/api/calls", params={"status": "busy"}, headers=auth)
    assert [c["id"] for c in r.json()["items"]] == [str(busy)]
    assert r.json()["items"][0]["sip_code"] == 486
    r = await client.get("/api/calls", params={"direction": "inbound"}, headers=auth)
    assert [c["id"] for c in r.json()["items"]] == [str(answered)]
    detail = (await client.get(f"/api/calls/{answered}", headers=auth)).json()
    assert [(t["role"], t["text"]) for t in detail["transcript"]] == [
        ("assistant", "Hello, how can I help?"),
        ("user", "When are you open?"),
    ]
    assert detail["has_recording"] is True and "recording_path" not in detail
    assert detail["duration_s"] == 75 and detail["summary"] == "Asked about opening hours."
    r = await client.get("/api/calls", params={"status": "exploded"}, headers=auth)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "status"
    _, other = await new_account(app, "Other")
    assert (await client.get(f"/api/calls/{answered}", headers=other)).status_code == 404
