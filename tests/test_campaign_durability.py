"""Campaign durability on real nodes: kill -9 mid-campaign and restart; two nodes sharing one PostgreSQL.

A module of its own: a node left running by another module on the shared PostgreSQL database would join in.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

import models
from api.database import migrate
from tests.conftest import POSTGRES_URL, _psql
from tests.peers import sipp
from tests.peers.ports import free_sip_port
from tests.test_campaign_calls import NODE_ENV, _attempts, _campaign, _post, _wait, _world
from tests.test_cli import _env, _start, _stop

pytestmark = pytest.mark.slow


@pytest.fixture
def peer_port() -> int:
    """Where the test's sipp UAS peers listen."""
    return free_sip_port()


def _serve(url: str, tmp: Path, sip_port: int, **env: str) -> tuple[Any, httpx.Client]:
    settings = {
        "TRUNKLINE_SIP__ENABLED": "true",
        "TRUNKLINE_SIP__HOST": "127.0.0.1",
        "TRUNKLINE_SIP__PORT": str(sip_port),
        **NODE_ENV,
        **env,
    }
    proc, port = _start(_env(tmp, url, **settings), tmp)
    key = (tmp / "var" / "admin-api-key").read_text().strip()
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    return proc, api


def test_kill_9_mid_campaign_closes_and_retries_in_flight_attempts(
    backend: str, migrated: str, tmp_path: Path, peer_port: int
) -> None:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'trunkline.db'}"
        (tmp_path / "trunkline.db").write_bytes(Path(migrated).read_bytes())
    else:
        url = migrated
    sip_port = free_sip_port()
    phones = ["+12125550111", "+12125550112", "+12125550113"]
    proc, api = _serve(url, tmp_path, sip_port, TRUNKLINE_SCHEDULER__NODE_ID="node-a")
    started = [proc]
    try:
        world = _world(api, peer_port, phones, ["+14155550190", "+14155550191"], "kill")
        cid = _campaign(api, world, max_attempts=2, max_concurrent_calls=3, retry_error_s=1)
        # The peer answers and holds every call: the node dies with three calls up.
        with sipp.uas(peer_port, "answer_echo", calls=3, timeout_s=60):
            _post(api, f"/api/crm/campaigns/{cid}/launch", status=200)
            stats = _wait(api, cid, lambda s: s["calls_in_progress"] == 3 and len(s["recent_calls"]) == 3)
            assert stats["calls_in_progress"] == 3, stats
            time.sleep(1.0)  # the calls are answered and talking
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        _stop(proc)
        api.close()

        proc, api = _serve(url, tmp_path, sip_port, TRUNKLINE_SCHEDULER__NODE_ID="node-a")
        started.append(proc)
        with sipp.uas(peer_port, "answer_hangup", calls=3, timeout_s=40, hangup_after_s=0.5) as callee:
            stats = _wait(api, cid, lambda s: s["status"] == "completed", timeout=40)
            callee.assert_success(timeout=20)
        assert stats["status"] == "completed", stats
        assert sorted(_attempts(stats)) == sorted([(1, "error", None)] * 3 + [(2, "answered", 200)] * 3)
        per_contact: dict[str, int] = {}
        for call in stats["recent_calls"]:
            per_contact[call["contact_id"]] = per_contact.get(call["contact_id"], 0) + 1
        assert sorted(per_contact.values()) == [2, 2, 2]  # every contact retried once, none beyond max_attempts
        calls = api.get("/api/calls", params={"campaign_id": cid}).json()["items"]
        assert len(calls) == 6 and all(c["ended_at"] is not None for c in calls)  # the dead calls were closed
        assert sorted(c["status"] for c in calls) == ["answered"] * 3 + ["error"] * 3
    finally:
        api.close()
        for each in started[:-1]:
            if each.poll() is None:  # the first node outlived a failed step: stop it too
                _stop(each)
        log = _stop(started[-1])
        if backend == "postgresql":
            _psql(f"TRUNCATE {', '.join(sorted(models.Base.metadata.tables))} CASCADE;")
    assert "Traceback" not in log, log[-4000:]


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[str]:
    """A freshly migrated PostgreSQL database shared by two nodes (SQLite is single-node by design)."""
    _psql("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    migrate(POSTGRES_URL)
    yield POSTGRES_URL
    _psql(f"TRUNCATE {', '.join(sorted(models.Base.metadata.tables))} CASCADE;")


def test_two_nodes_on_one_postgresql_never_dial_an_attempt_twice(postgres: str, tmp_path: Path) -> None:
    peer_port = free_sip_port()
    contacts = [f"+1212555{i:04d}" for i in range(1201, 1213)]
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        (d / "var").mkdir(parents=True)
    # Each node carries at most 3 calls, the campaign allows 6, calls last 4 s and an idle node looks every 2 s:
    # node b must find free campaign slots while node a is full.
    limits = {"TRUNKLINE_SIP__MAX_CONCURRENT_CALLS": "3"}
    procs: list[Any] = []
    apis: list[httpx.Client] = []
    try:
        proc, api = _serve(postgres, dirs[0], free_sip_port(), TRUNKLINE_SCHEDULER__NODE_ID="node-a", **limits)
        procs.append(proc)
        apis.append(api)
        (dirs[1] / "var" / "admin-api-key").write_text((dirs[0] / "var" / "admin-api-key").read_text())
        proc, api = _serve(postgres, dirs[1], free_sip_port(), TRUNKLINE_SCHEDULER__NODE_ID="node-b", **limits)
        procs.append(proc)
        apis.append(api)
        world = _world(apis[0], peer_port, contacts, ["+14155550195"], "two")
        cid = _campaign(apis[0], world, max_attempts=1, max_concurrent_calls=6)
        workdir = tmp_path / "uas"
        with sipp.uas(
            peer_port, "answer_hangup", calls=len(contacts), timeout_s=60, hangup_after_s=4.0, workdir=workdir
        ) as callee:
            _post(apis[0], f"/api/crm/campaigns/{cid}/launch", status=200)
            stats = _wait(apis[1], cid, lambda s: s["status"] == "completed", timeout=60)
            assert stats["outcomes"] == {"answered": len(contacts)}, stats
            callee.assert_success(timeout=30)
            invites = re.findall(r"^INVITE sip:", callee.messages(), flags=re.MULTILINE)
            call_ids = set(re.findall(r"^Call-ID:\s*(\S+)", callee.messages(), flags=re.MULTILINE | re.IGNORECASE))
        assert stats["status"] == "completed" and stats["outcomes"] == {"answered": len(contacts)}, stats
        assert len(invites) == len(contacts) and len(call_ids) == len(contacts)
        calls = apis[0].get("/api/calls", params={"campaign_id": cid, "limit": 100}).json()
        assert calls["count"] == len(contacts)
        assert len({c["contact_id"] for c in calls["items"]}) == len(contacts)  # each contact dialled once
        claims = _claims(cid)
        assert set(claims) == {"node-a", "node-b"}, claims  # both schedulers really dialled
    finally:
        logs = []
        for api in apis:
            api.close()
        for proc in procs:
            logs.append(_stop(proc))
    for log in logs:
        assert "Traceback" not in log, log[-4000:]


def _claims(campaign_id: str) -> dict[str, int]:
    """How many attempts each node claimed, read with psql."""
    out = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-At",
            "-F",
            "|",
            "-c",
            f"SELECT claimed_by, count(*) FROM campaign_attempt WHERE campaign_id = '{UUID(campaign_id)}' GROUP BY 1",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {name: int(n) for name, n in (line.split("|") for line in out.split()) if name}
