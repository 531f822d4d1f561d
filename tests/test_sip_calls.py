"""A real ``trunkline serve`` node with SIP on 127.0.0.1, driven by sipp and kamailio through the API.

Covers inbound routing answers (404, 480, 403, 503), inbound calls with real recorded speech and their
stereo recording, outbound outcomes (answered, busy, declined, no answer, max duration), registered
trunks against a kamailio digest registrar applied without a restart, and the RFC 4475 torture
messages followed by a call that must still succeed.
"""

from __future__ import annotations

import io
import subprocess
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.peers import sipp
from tests.peers.kamailio import Registrar
from tests.peers.ports import free_sip_port, free_udp_port
from tests.peers.server import running_node
from tests.peers.torture import TORTURE, flood, retarget, send_all

pytestmark = pytest.mark.slow

DID = "+14155550100"
DID_NO_INBOUND = "+14155550101"
DID_FOREIGN = "+14155550102"


@dataclass
class Node:
    """A running node: its API, its SIP port, and the ids of what the tests set up."""

    api: httpx.Client
    sip_port: int
    proc: subprocess.Popen[str]
    data_dir: Path
    ids: dict[str, str]

    def call_row(self, call_id: str) -> dict[str, Any]:
        """The call as the API shows it."""
        r = self.api.get(f"/api/calls/{call_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def latest_call(self, **filters: str) -> dict[str, Any] | None:
        """The newest call matching the filters."""
        r = self.api.get("/api/calls", params={"limit": 1, **filters})
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        return items[0] if items else None

    def wait_call(self, call_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict[str, Any]:
        """Poll a call row until ``done`` says so."""
        deadline = time.monotonic() + timeout
        row = self.call_row(call_id)
        while not done(row) and time.monotonic() < deadline:
            time.sleep(0.2)
            row = self.call_row(call_id)
        return row


def _post(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post(path, json=body)
    assert r.status_code == 201, f"{path}: {r.status_code} {r.text}"
    return r.json()


@pytest.fixture(scope="module")
def peer_port() -> int:
    """The SIP port the outbound tests' sipp UAS listens on (the IP trunk's peer)."""
    return free_sip_port()


@pytest.fixture(scope="module")
def node(backend: str, migrated: str, tmp_path_factory: pytest.TempPathFactory, peer_port: int) -> Iterator[Node]:
    """One node for the module, with an IP trunk to ``peer_port``, three DIDs and two assistants."""
    tmp = tmp_path_factory.mktemp(f"sipnode-{backend}")
    with running_node(
        backend,
        migrated,
        tmp,
        TRUNKLINE_SIP__AUDIO_HANDLER="echo",
        TRUNKLINE_SIP__MAX_CONCURRENT_CALLS="3",
        TRUNKLINE_SIP__RING_TIMEOUT_S="5",
        TRUNKLINE_SIP__REGISTER_RETRY_S="1",
    ) as running:
        api, sip_port, proc = running.api, running.sip_port, running.proc
        trunk = _post(
            api,
            "/api/trunks",
            {
                "name": "loopback peer",
                "kind": "ip",
                "peer_host": "127.0.0.1",
                "peer_port": peer_port,
                "allowed_cidrs": ["127.0.0.0/8"],
            },
        )
        foreign = _post(
            api,
            "/api/trunks",
            {"name": "elsewhere", "kind": "ip", "peer_host": "127.0.0.1", "allowed_cidrs": ["192.0.2.0/24"]},
        )
        talker = _post(
            api,
            "/api/assistants",
            {"name": "talker", "inbound_enabled": True, "outbound_enabled": True, "recording_enabled": True},
        )
        silent = _post(api, "/api/assistants", {"name": "no inbound", "inbound_enabled": False})
        number = _post(
            api, "/api/phone-numbers", {"number": DID, "trunk_id": trunk["id"], "assistant_id": talker["id"]}
        )
        _post(
            api, "/api/phone-numbers", {"number": DID_NO_INBOUND, "trunk_id": trunk["id"], "assistant_id": silent["id"]}
        )
        _post(
            api, "/api/phone-numbers", {"number": DID_FOREIGN, "trunk_id": foreign["id"], "assistant_id": talker["id"]}
        )
        time.sleep(0.5)  # the node applies the edits within its refresh debounce
        yield Node(
            api=api,
            sip_port=sip_port,
            proc=proc,
            data_dir=tmp / "var",
            ids={"trunk": trunk["id"], "talker": talker["id"], "number": number["id"]},
        )


def _expect(node: Node, user: str, code: int) -> None:
    with sipp.uac_expect(user, "127.0.0.1", node.sip_port, code, free_sip_port()) as proc:
        proc.assert_success(timeout=20)


# --- inbound ---------------------------------------------------------------------------------------


def test_unknown_did_is_answered_404(node: Node) -> None:
    _expect(node, "+14155559999", 404)


def test_assistant_with_inbound_disabled_answers_480(node: Node) -> None:
    _expect(node, DID_NO_INBOUND, 480)


def test_ip_trunk_refuses_sources_outside_its_allowed_networks(node: Node) -> None:
    _expect(node, DID_FOREIGN, 403)


def test_inbound_call_is_answered_recorded_in_stereo_and_served(node: Node) -> None:
    with sipp.uac_pcap(DID, node.sip_port, free_sip_port(), hold_s=1.0) as caller:
        caller.assert_success(timeout=40)
    row = node.latest_call(direction="inbound")
    assert row is not None
    row = node.wait_call(row["id"], lambda r: r["ended_at"] is not None)
    assert row["status"] == "answered"
    assert row["to_number"] == DID and row["sip_code"] == 200
    assert row["hangup_by"] == "customer"
    assert row["duration_s"] > 6.0, row  # ≈7 s of speech plus the hold
    assert row["has_recording"] is True

    r = node.api.get(f"/api/calls/{row['id']}/recording")
    assert r.status_code == 200 and r.headers["content-type"].startswith("audio/wav")
    with wave.open(io.BytesIO(r.content)) as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 16000
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    caller_rms = float(np.sqrt(np.mean(frames[:, 0].astype(np.float64) ** 2)))
    assert frames.shape[0] / 16000 > 6.0
    assert caller_rms > 300, f"the caller's channel is silent (rms {caller_rms:.0f})"
    # The echo handler returns the caller's speech, so the agent side carries it too.
    agent_rms = float(np.sqrt(np.mean(frames[:, 1].astype(np.float64) ** 2)))
    assert agent_rms > 100, f"the agent's channel is silent (rms {agent_rms:.0f})"


def test_recording_needs_an_api_key(node: Node) -> None:
    row = node.latest_call(direction="inbound")
    assert row is not None
    r = httpx.get(str(node.api.base_url).rstrip("/") + f"/api/calls/{row['id']}/recording")
    assert r.status_code == 401


def test_calls_beyond_the_node_limit_get_503(node: Node) -> None:
    holders = [sipp.uac_silent_hold(DID, node.sip_port, free_sip_port(), hold_s=6.0) for _ in range(3)]
    for proc in holders:
        proc.start()
    try:
        time.sleep(2.0)
        _expect(node, DID, 503)
    finally:
        for proc in holders:
            proc.wait(timeout=30)
            proc.cleanup()


# --- outbound --------------------------------------------------------------------------------------


def _place(node: Node, number: str = "+14155550199", **extra: Any) -> dict[str, Any]:
    body = {"assistant_id": node.ids["talker"], "to_number": number, **extra}
    r = node.api.post("/api/calls", json=body)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize(
    ("scenario", "status", "code"),
    [("busy", "busy", 486), ("decline", "declined", 603), ("error_503", "error", 503)],
)
def test_outbound_failures_are_mapped(node: Node, peer_port: int, scenario: str, status: str, code: int) -> None:
    with sipp.uas(peer_port, scenario) as peer:  # type: ignore[arg-type]
        call = _place(node)
        assert call["direction"] == "outbound" and call["status"] in ("queued", "ringing")
        row = node.wait_call(call["id"], lambda r: r["ended_at"] is not None)
        peer.wait(timeout=20)
    assert (row["status"], row["sip_code"]) == (status, code), row


def test_outbound_ring_timeout_is_no_answer(node: Node, peer_port: int) -> None:
    with sipp.uas(peer_port, "ring_no_answer") as peer:
        call = _place(node)
        row = node.wait_call(call["id"], lambda r: r["ended_at"] is not None, timeout=20)
        peer.wait(timeout=20)
    assert row["status"] == "no_answer", row
    assert row["answered_at"] is None


def test_outbound_answered_call_ends_at_max_duration(node: Node, peer_port: int) -> None:
    r = node.api.patch(f"/api/assistants/{node.ids['talker']}", json={"max_call_duration_s": 10})
    assert r.status_code == 200, r.text
    try:
        with sipp.uas(peer_port, "answer_echo", media_port=free_udp_port(), timeout_s=40) as peer:
            call = _place(node)
            row = node.wait_call(call["id"], lambda r: r["ended_at"] is not None, timeout=30)
            peer.wait(timeout=20)
    finally:
        node.api.patch(f"/api/assistants/{node.ids['talker']}", json={"max_call_duration_s": 600})
    assert row["status"] == "answered" and row["sip_code"] == 200, row
    assert row["hangup_by"] == "system"
    assert 9.0 <= row["duration_s"] <= 12.0, {
        k: row[k] for k in ("created_at", "started_at", "answered_at", "ended_at", "duration_s")
    }


def test_a_did_that_has_dialled_out_still_answers_inbound_calls(node: Node, peer_port: int) -> None:
    # Dialling out with the DID as caller ID makes the stack keep a user agent for that user; inbound INVITEs to
    # the DID then reach that agent rather than the listener, and once rang unanswered for ever.
    with sipp.uas(peer_port, "busy") as peer:
        call = _place(node)
        node.wait_call(call["id"], lambda r: r["ended_at"] is not None)
        peer.wait(timeout=20)
    assert call["from_number"] == DID
    with sipp.uac_pcap(DID, node.sip_port, free_sip_port(), hold_s=0.5) as caller:
        caller.assert_success(timeout=40)
    row = node.latest_call(direction="inbound")
    assert row is not None
    assert node.wait_call(row["id"], lambda r: r["ended_at"] is not None)["status"] == "answered"


def test_outbound_request_errors_name_the_field(node: Node) -> None:
    r = node.api.post("/api/calls", json={"assistant_id": node.ids["talker"], "to_number": "12"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to_number"
    r = node.api.post("/api/calls", json={"assistant_id": node.ids["number"], "to_number": "+14155550199"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "assistant_id"


# --- registered trunks -----------------------------------------------------------------------------


def _trunk_state(node: Node, trunk_id: str, want: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        trunk = node.api.get(f"/api/trunks/{trunk_id}").json()
        if trunk["registration_state"] == want or time.monotonic() > deadline:
            return trunk
        time.sleep(0.2)


def test_registered_trunk_registers_fails_with_a_wrong_password_and_recovers_without_restart(node: Node) -> None:
    port = free_sip_port()
    with Registrar(port, {"acme": "right-secret"}):
        trunk = _post(
            node.api,
            "/api/trunks",
            {
                "name": "kamailio",
                "kind": "registered",
                "registrar": f"127.0.0.1:{port}",
                "username": "acme",
                "password": "wrong-secret",
            },
        )
        failed = _trunk_state(node, trunk["id"], "failed")
        assert failed["registration_state"] == "failed", failed
        assert failed["last_error"] and ("401" in failed["last_error"] or "403" in failed["last_error"]), failed
        assert "wrong-secret" not in str(failed)

        r = node.api.patch(f"/api/trunks/{trunk['id']}", json={"password": "right-secret"})
        assert r.status_code == 200, r.text
        ok = _trunk_state(node, trunk["id"], "registered")
        assert ok["registration_state"] == "registered", ok
        assert ok["registered_at"] is not None

        assert node.api.delete(f"/api/trunks/{trunk['id']}").status_code == 204


# --- robustness ------------------------------------------------------------------------------------


def test_torture_messages_and_floods_do_not_stop_a_valid_call(node: Node) -> None:
    messages = {name: retarget(message, "127.0.0.1", node.sip_port) for name, message in TORTURE.items()}
    send_all("127.0.0.1", node.sip_port, messages)
    flood("127.0.0.1", node.sip_port, count=2000)
    assert node.proc.poll() is None, "the server died"
    assert node.api.get("/healthz").status_code == 200
    with sipp.uac_pcap(DID, node.sip_port, free_sip_port(), hold_s=0.5) as caller:
        caller.assert_success(timeout=40)
    row = node.latest_call(direction="inbound")
    assert row is not None
    assert node.wait_call(row["id"], lambda r: r["ended_at"] is not None)["status"] == "answered"
