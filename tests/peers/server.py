"""A real ``trunkline serve`` with SIP on 127.0.0.1, on a copy of the migrated database, for module fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import httpx

from tests.peers.ports import free_sip_port
from tests.test_cli import _env, _start, _stop


@dataclass
class RunningNode:
    """A started node: its API client (admin key), SIP port, process and data directory."""

    api: httpx.Client
    sip_port: int
    proc: Popen[str]
    data_dir: Path


@contextmanager
def running_node(
    backend: str, migrated: str, tmp: Path, models_from: Path | None = None, **env: str
) -> Iterator[RunningNode]:
    """Start a node with SIP on; afterwards stop it, fail on any traceback in its log, and empty PostgreSQL."""
    if backend == "sqlite":
        db = tmp / "trunkline.db"
        db.write_bytes(Path(migrated).read_bytes())
        url = f"sqlite+aiosqlite:///{db}"
    else:
        url = migrated
    if models_from is not None:
        (tmp / "var").mkdir(exist_ok=True)
        (tmp / "var" / "models").symlink_to(models_from / "models")
    sip_port = free_sip_port()
    settings = {
        "TRUNKLINE_SIP__ENABLED": "true",
        "TRUNKLINE_SIP__HOST": "127.0.0.1",
        "TRUNKLINE_SIP__PORT": str(sip_port),
        **env,
    }
    proc, api_port = _start(_env(tmp, url, **settings), tmp)
    key = (tmp / "var" / "admin-api-key").read_text().strip()
    api = httpx.Client(base_url=f"http://127.0.0.1:{api_port}", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    try:
        yield RunningNode(api=api, sip_port=sip_port, proc=proc, data_dir=tmp / "var")
    finally:
        api.close()
        log = _stop(proc)
        if backend == "postgresql":
            import models
            from tests.conftest import _psql

            _psql(f"TRUNCATE {', '.join(sorted(models.Base.metadata.tables))} CASCADE;")
        assert "Traceback" not in log, log[-4000:]
