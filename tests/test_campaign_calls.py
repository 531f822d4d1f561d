"""Campaigns on a real node: calls to sipp UAS peers that answer, are busy or ring out, and their retries.

Contacts live in an ``Etc/GMT±N`` zone where it is about noon now, so the 08:00-21:00 ceiling never blocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.peers import sipp
from tests.peers.ports import free_sip_port
from tests.peers.server import RunningNode, running_node

pytestmark = pytest.mark.slow

NODE_ENV = {
    "TRUNKLINE_SIP__AUDIO_HANDLER": "echo",
    "TRUNKLINE_SIP__RING_TIMEOUT_S": "5",
    "TRUNKLINE_PROVIDERS__PRELOAD_LOCAL": "false",
}


def noon_zone() -> str:
    """A fixed-offset zone where the local hour is about 12 right now."""
    offset = 12 - datetime.now(UTC).hour
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def _post(api: httpx.Client, path: str, body: dict[str, Any] | None = None, status: int = 201) -> Any:
    r = api.post(path, json=body)
    assert r.status_code == status, f"{path}: {r.status_code} {r.text}"
    return r.json()


def _world(api: httpx.Client, peer_port: int, phones: list[str], numbers: list[str], tag: str) -> dict[str, Any]:
    """An IP trunk to the sipp peer, caller numbers, an outbound assistant and a company of contacts."""
    trunk = _post(
        api,
        "/api/trunks",
        {
            "name": f"peer {tag}",
            "kind": "ip",
            "peer_host": "127.0.0.1",
            "peer_port": peer_port,
            "allowed_cidrs": ["127.0.0.0/8"],
        },
    )
    assistant = _post(api, "/api/assistants", {"name": f"caller {tag}", "outbound_enabled": True})
    nums = [_post(api, "/api/phone-numbers", {"number": n, "trunk_id": trunk["id"]}) for n in numbers]
    company = _post(api, "/api/crm/companies", {"name": f"Company {tag}"})
    zone = noon_zone()
    for i, phone in enumerate(phones):
        _post(
            api,
            "/api/crm/contacts",
            {"company_id": company["id"], "first_name": f"P{i}", "phone": phone, "timezone": zone},
        )
    time.sleep(0.3)  # the node applies trunk edits within its refresh debounce
    return {"assistant": assistant, "numbers": nums, "company": company}


def _campaign(api: httpx.Client, world: dict[str, Any], **extra: Any) -> str:
    body = {
        "name": "calls",
        "assistant_id": world["assistant"]["id"],
        "caller_number_ids": [n["id"] for n in world["numbers"]],
        "audience_company_id": world["company"]["id"],
        "window_start": "00:00:00",
        "window_end": "23:59:00",
        **extra,
    }
    return str(_post(api, "/api/crm/campaigns", body)["id"])


def _stats(api: httpx.Client, cid: str) -> dict[str, Any]:
    r = api.get(f"/api/crm/campaigns/{cid}/stats")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _wait(api: httpx.Client, cid: str, done: Callable[[dict[str, Any]], bool], timeout: float = 40) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    stats = _stats(api, cid)
    while not done(stats) and time.monotonic() < deadline:
        time.sleep(0.2)
        stats = _stats(api, cid)
    return stats


def _attempts(stats: dict[str, Any]) -> list[tuple[int, str | None, int | None]]:
    """(attempt number, outcome, SIP code) of each dialled attempt, oldest first."""
    return sorted((c["attempt_no"], c["outcome"], c["sip_code"]) for c in stats["recent_calls"])


@pytest.fixture(scope="module")
def peer_port() -> int:
    """Where the module's sipp UAS peers listen."""
    return free_sip_port()


@pytest.fixture(scope="module")
def node(backend: str, migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """One real node for the call tests."""
    with running_node(backend, migrated, tmp_path_factory.mktemp(f"campaign-{backend}"), **NODE_ENV) as running:
        yield running


def test_busy_then_answered_first_invite_within_a_second(node: RunningNode, peer_port: int) -> None:
    world = _world(node.api, peer_port, ["+12125550101"], ["+14155550180"], "busy")
    cid = _campaign(node.api, world, max_attempts=3, retry_busy_s=2)
    with sipp.uas(peer_port, "busy", calls=1, timeout_s=20) as busy:
        launched = time.monotonic()
        assert _post(node.api, f"/api/crm/campaigns/{cid}/launch", status=200)["status"] == "scheduled"
        while busy.poll() is None and time.monotonic() - launched < 10:
            time.sleep(0.01)
        answered_by_peer = time.monotonic() - launched
        assert busy.returncode == 0, busy.report()
    # sipp exits once it has answered the INVITE with 486 and seen the ACK: the INVITE came before that.
    assert answered_by_peer < 1.0, f"first INVITE only {answered_by_peer:.2f} s after launch"
    with sipp.uas(peer_port, "answer_hangup", calls=1, timeout_s=30, hangup_after_s=1.0) as callee:
        stats = _wait(node.api, cid, lambda s: s["status"] == "completed")
        callee.assert_success(timeout=20)
    assert _attempts(stats) == [(1, "busy", 486), (2, "answered", 200)]
    answered = next(c for c in stats["recent_calls"] if c["outcome"] == "answered")
    assert answered["duration_s"] > 0.5 and answered["caller_id"] == "+14155550180"
    assert stats["answer_rate"] == 0.5 and stats["completion_rate"] == 1.0 and stats["contacts_reached"] == 1
    calls = node.api.get("/api/calls", params={"campaign_id": cid}).json()
    assert calls["count"] == 2 and {c["status"] for c in calls["items"]} == {"busy", "answered"}
    assert answered["call_id"] in {c["id"] for c in calls["items"]}


def test_ring_out_is_retried_until_max_attempts(node: RunningNode, peer_port: int) -> None:
    world = _world(node.api, peer_port, ["+12125550102"], ["+14155550181"], "ring")
    cid = _campaign(node.api, world, max_attempts=2, retry_no_answer_s=1)
    with sipp.uas(peer_port, "ring_no_answer", calls=2, timeout_s=40) as callee:
        _post(node.api, f"/api/crm/campaigns/{cid}/launch", status=200)
        stats = _wait(node.api, cid, lambda s: s["status"] == "completed", timeout=40)
        callee.assert_success(timeout=20)
    assert [(n, outcome) for n, outcome, _ in _attempts(stats)] == [(1, "no_answer"), (2, "no_answer")]
    assert stats["outcomes"] == {"no_answer": 2} and stats["answer_rate"] == 0.0
    assert stats["completion_rate"] == 1.0 and stats["contacts_reached"] == 0
