"""Webhooks of real SIP calls: a receiver on 127.0.0.1 verifies every signature and sees each call's events in order.

A real ``trunkline serve`` node dials a sipp UAS (outbound, ``POST /api/calls``) and answers a sipp UAC (inbound).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.peers import sipp
from tests.peers.ports import free_sip_port, free_udp_port
from tests.peers.server import running_node
from tests.peers.webhook_receiver import Received, Receiver, receiving

pytestmark = pytest.mark.slow

DID = "+14155550100"
CALL_EVENTS = ["call.initiated", "call.answered", "call.completed"]


@dataclass
class Node:
    """The running node, its SIP port, the receiver and what the tests set up."""

    api: httpx.Client
    sip_port: int
    peer_port: int
    receiver: Receiver
    ids: dict[str, str]


def _post(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post(path, json=body)
    assert r.status_code == 201, f"{path}: {r.status_code} {r.text}"
    return r.json()


@pytest.fixture(scope="module")
def node(backend: str, migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """A node with an IP trunk to a sipp peer, a DID answered by an echo assistant, and a webhook to the receiver."""
    peer_port = free_sip_port()
    tmp = tmp_path_factory.mktemp(f"webhooks-{backend}")
    with (
        receiving(Receiver()) as receiver,
        running_node(
            backend,
            migrated,
            tmp,
            TRUNKLINE_SIP__AUDIO_HANDLER="echo",
            TRUNKLINE_SIP__RING_TIMEOUT_S="5",
            TRUNKLINE_OUTBOUND__ALLOWED_NETWORKS='["127.0.0.1"]',
            TRUNKLINE_WEBHOOKS__RETRY_SCHEDULE_S="[0.5, 0.5]",
        ) as running,
    ):
        api = running.api
        trunk = _post(
            api,
            "/api/trunks",
            {
                "name": "peer",
                "kind": "ip",
                "peer_host": "127.0.0.1",
                "peer_port": peer_port,
                "allowed_cidrs": ["127.0.0.0/8"],
            },
        )
        talker = _post(api, "/api/assistants", {"name": "talker", "inbound_enabled": True, "outbound_enabled": True})
        _post(api, "/api/phone-numbers", {"number": DID, "trunk_id": trunk["id"], "assistant_id": talker["id"]})
        hook = _post(api, "/api/webhooks", {"url": receiver.url, "events": CALL_EVENTS, "description": "test"})
        receiver.secret = hook["secret"]
        time.sleep(0.5)  # the node applies the routing edits within its refresh debounce
        yield Node(api, running.sip_port, peer_port, receiver, {"talker": talker["id"], "hook": hook["id"]})


def _events_of(received: list[Received], call_id: str) -> list[dict[str, Any]]:
    return [r.payload for r in received if r.payload["data"]["call"]["id"] == call_id]


def _completed(call_id: str) -> Any:
    return lambda seen: any(p["event"] == "call.completed" for p in _events_of(seen, call_id))


def test_an_outbound_call_sends_initiated_answered_completed_in_order(node: Node) -> None:
    with sipp.uas(node.peer_port, "answer_hangup", media_port=free_udp_port(), hangup_after_s=1.0) as peer:
        r = node.api.post("/api/calls", json={"assistant_id": node.ids["talker"], "to_number": "+14155550199"})
        assert r.status_code == 201, r.text
        call_id = r.json()["id"]
        seen = node.receiver.wait_for(_completed(call_id), timeout=30)
        peer.wait(timeout=20)
    got = [r for r in seen if r.payload["data"]["call"]["id"] == call_id]
    assert [r.payload["event"] for r in got] == CALL_EVENTS, [r.payload for r in got]
    assert all(r.signature_ok for r in got), [r.headers for r in got]
    assert len({r.payload["id"] for r in got}) == 3
    assert all(r.headers["trunkline-event-id"] == r.payload["id"] for r in got)
    initiated, answered, completed = (r.payload["data"]["call"] for r in got)
    assert initiated["direction"] == "outbound" and initiated["status"] == "queued"
    assert initiated["to_number"] == "+14155550199" and initiated["answered_at"] is None
    assert answered["status"] == "in_progress" and answered["answered_at"] is not None
    assert completed["status"] == "answered" and completed["hangup_by"] == "customer", completed
    assert completed["ended_at"] is not None and 0.5 <= completed["duration_s"] <= 5.0
    shown = node.api.get("/api/calls", params={"limit": 1}).json()["items"][0]
    assert set(completed) == set(shown)  # the call as the API lists it
    listed = node.api.get(f"/api/webhooks/{node.ids['hook']}/deliveries", params={"limit": 500}).json()["items"]
    mine = [d for d in listed if d["payload"]["data"]["call"]["id"] == call_id]
    assert sorted(d["event"] for d in mine) == sorted(CALL_EVENTS)
    assert all(d["status"] == "delivered" and [a["status_code"] for a in d["attempts"]] == [200] for d in mine), mine


def test_an_inbound_call_sends_its_events_in_order(node: Node) -> None:
    with sipp.uac_silent_hold(DID, node.sip_port, free_sip_port(), hold_s=1.0) as caller:
        caller.assert_success(timeout=20)
    row = node.api.get("/api/calls", params={"direction": "inbound", "limit": 1}).json()["items"][0]
    seen = node.receiver.wait_for(_completed(row["id"]), timeout=20)
    got = [r for r in seen if r.payload["data"]["call"]["id"] == row["id"]]
    assert [r.payload["event"] for r in got] == CALL_EVENTS, [r.payload for r in got]
    assert all(r.signature_ok for r in got)
    assert got[0].payload["data"]["call"]["status"] == "ringing"
    assert got[0].payload["data"]["call"]["from_number"] and got[0].payload["data"]["call"]["to_number"] == DID
    assert got[2].payload["data"]["call"]["hangup_by"] == "customer"


def test_an_unanswered_call_sends_initiated_then_completed(node: Node) -> None:
    with sipp.uas(node.peer_port, "busy") as peer:
        r = node.api.post("/api/calls", json={"assistant_id": node.ids["talker"], "to_number": "+14155550198"})
        assert r.status_code == 201, r.text
        call_id = r.json()["id"]
        seen = node.receiver.wait_for(_completed(call_id), timeout=30)
        peer.wait(timeout=20)
    got = [r.payload for r in seen if r.payload["data"]["call"]["id"] == call_id]
    assert [p["event"] for p in got] == ["call.initiated", "call.completed"], got
    assert got[1]["data"]["call"]["status"] == "busy" and got[1]["data"]["call"]["sip_code"] == 486
