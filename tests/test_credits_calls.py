"""Zero balance on a real node: an inbound sipp caller hears the not-available tone and is refused; a running
campaign pauses and says why; with credit again both go through and the call is charged."""

from __future__ import annotations

import io
import time
import wave
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import numpy as np
import pytest

from tests.peers import sipp
from tests.peers.ports import free_sip_port
from tests.peers.server import RunningNode, running_node
from tests.test_campaign_calls import NODE_ENV, _campaign, _post, _wait, _world

pytestmark = pytest.mark.slow

DID = "+14155550170"
LOCAL = Decimal("0.7")  # the default rates of an assistant on local providers
SIT_HZ = (913.8, 1370.6, 1776.7)


@pytest.fixture(scope="module")
def peer_port() -> int:
    """Where the module's sipp UAS peer listens."""
    return free_sip_port()


@pytest.fixture(scope="module")
def node(backend: str, migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """One real node (echo on answered calls) for the module."""
    with running_node(backend, migrated, tmp_path_factory.mktemp(f"credits-{backend}"), **NODE_ENV) as running:
        yield running


def _balance(api: httpx.Client) -> Decimal | None:
    raw = api.get("/api/billing/credits").json()["balance"]
    return None if raw is None else Decimal(raw)


def _set_balance(api: httpx.Client, target: Decimal) -> None:
    """Bring the account's balance to ``target`` with an adjustment (a top-up first if it has no ledger)."""
    if _balance(api) is None:
        _post(api, "/api/billing/top-ups", {"package": "p10"})
    current = _balance(api)
    assert current is not None
    if current != target:
        _post(api, "/api/billing/top-ups", {"credits": str(target - current), "note": "test"})
    assert _balance(api) == target


def _inbound_world(api: httpx.Client, peer_port: int) -> None:
    trunk = _post(
        api,
        "/api/trunks",
        {
            "name": "inbound peer",
            "kind": "ip",
            "peer_host": "127.0.0.1",
            "peer_port": peer_port + 2,
            "allowed_cidrs": ["127.0.0.0/8"],
        },
    )
    desk = _post(api, "/api/assistants", {"name": "desk", "inbound_enabled": True, "recording_enabled": True})
    _post(api, "/api/phone-numbers", {"number": DID, "trunk_id": trunk["id"], "assistant_id": desk["id"]})
    time.sleep(0.5)  # the node applies the edits within its refresh debounce


def _last_inbound(api: httpx.Client, charged: bool, timeout: float = 15) -> dict[str, Any]:
    """The newest inbound call once it has ended (and, when ``charged``, once its charge is written)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = api.get("/api/calls", params={"direction": "inbound", "limit": 1}).json()["items"]
        if items and items[0]["ended_at"] is not None and (not charged or items[0]["credits_charged"] is not None):
            return dict(items[0])
        time.sleep(0.2)
    raise AssertionError("no ended inbound call")


def _dominant_hz(api: httpx.Client, call_id: str) -> float:
    """The strongest frequency on the agent's channel of a call's recording."""
    r = api.get(f"/api/calls/{call_id}/recording")
    assert r.status_code == 200, r.text
    with wave.open(io.BytesIO(r.content)) as wav:
        rate = wav.getframerate()
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    agent = frames[:, 1].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(agent))
    return float(np.fft.rfftfreq(agent.size, 1 / rate)[int(np.argmax(spectrum))])


def test_zero_balance_inbound_caller_hears_not_available_and_is_refused(node: RunningNode, peer_port: int) -> None:
    _inbound_world(node.api, peer_port)
    _set_balance(node.api, Decimal(0))
    with sipp.uac_silent_hold(DID, node.sip_port, free_sip_port(), hold_s=12.0, callee_may_hang_up=True) as caller:
        caller.assert_success(timeout=30)
    refused = _last_inbound(node.api, charged=False)
    # The node answered, played the special information tone and hung up itself, long before the caller would.
    assert refused["hangup_by"] == "agent" and refused["duration_s"] < 6.0, refused
    assert min(abs(_dominant_hz(node.api, refused["id"]) - hz) for hz in SIT_HZ) < 15
    assert refused["credits_charged"] is None and _balance(node.api) == 0
    ledger = node.api.get("/api/billing/ledger", params={"kind": "call_charge"}).json()
    assert ledger["count"] == 0

    # With credit the same number is served, and the call is charged one minute at the assistant's rate.
    _set_balance(node.api, Decimal(10))
    with sipp.uac_silent_hold(DID, node.sip_port, free_sip_port(), hold_s=1.5) as caller:
        caller.assert_success(timeout=30)
    served = _last_inbound(node.api, charged=True)
    assert served["id"] != refused["id"] and served["hangup_by"] == "customer", served
    assert Decimal(served["credits_charged"]) == LOCAL
    assert _balance(node.api) == Decimal(10) - LOCAL
    ledger = node.api.get("/api/billing/ledger", params={"kind": "call_charge"}).json()
    assert ledger["count"] == 1 and ledger["items"][0]["call_id"] == served["id"]


def test_running_campaign_pauses_at_zero_balance_and_resumes_after_a_top_up(node: RunningNode, peer_port: int) -> None:
    _set_balance(node.api, Decimal(0))
    world = _world(node.api, peer_port, ["+12125550171"], ["+14155550172"], "credits")
    cid = _campaign(node.api, world, max_attempts=1)
    _post(node.api, f"/api/crm/campaigns/{cid}/launch", status=200)
    stats = _wait(node.api, cid, lambda s: s["status"] == "paused", timeout=15)
    campaign = node.api.get(f"/api/crm/campaigns/{cid}").json()
    assert campaign["status"] == "paused" and "credit balance is zero" in campaign["status_reason"], campaign
    assert stats["recent_calls"] == []  # nothing was dialled

    _set_balance(node.api, Decimal(5))
    with sipp.uas(peer_port, "answer_hangup", calls=1, timeout_s=30, hangup_after_s=1.0) as callee:
        assert _post(node.api, f"/api/crm/campaigns/{cid}/resume", status=200)["status"] == "running"
        stats = _wait(node.api, cid, lambda s: s["status"] == "completed")
        callee.assert_success(timeout=20)
    assert [c["outcome"] for c in stats["recent_calls"]] == ["answered"]
    call_id = stats["recent_calls"][0]["call_id"]
    deadline = time.monotonic() + 10
    while node.api.get(f"/api/calls/{call_id}").json()["credits_charged"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert Decimal(node.api.get(f"/api/calls/{call_id}").json()["credits_charged"]) == LOCAL
    assert _balance(node.api) == Decimal(5) - LOCAL
