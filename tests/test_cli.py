"""The ``trunkline`` command as a user runs it: a real process, real database, one-line errors."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

TRUNKLINE = str(Path(sys.executable).with_name("trunkline"))


def _env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUNKLINE_")}
    # These tests are about the CLI and the API; SIP has its own tests with real peers.
    env.update(
        {
            "TRUNKLINE_DATA_DIR": str(tmp_path / "var"),
            "TRUNKLINE_DATABASE__URL": database_url,
            "TRUNKLINE_SIP__ENABLED": "false",
            **extra,
        }
    )
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRUNKLINE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    # A file, not a pipe: nobody reads a pipe while the server runs, and a full pipe would block its logging.
    log = open(cwd / "server.log", "w")  # noqa: SIM115 (closed by _stop)
    proc = subprocess.Popen(
        [TRUNKLINE, "serve"],
        env={**env, "TRUNKLINE_API__PORT": str(port)},
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    proc.log_path = cwd / "server.log"  # type: ignore[attr-defined]
    proc.log_file = log  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}: {_stop(proc)}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc, port
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("serve did not answer /healthz within 60 s")


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.log_file.close()  # type: ignore[attr-defined]
    return proc.log_path.read_text(errors="replace")  # type: ignore[attr-defined]


@pytest.mark.slow
def test_first_start_creates_an_admin_key_and_serves_the_api(database_url: str, tmp_path: Path) -> None:
    env = _env(tmp_path, database_url)
    proc, port = _start(env, tmp_path)
    try:
        key_file = tmp_path / "var" / "admin-api-key"
        key = key_file.read_text().strip()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        r = httpx.get(f"http://127.0.0.1:{port}/api/assistants", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200 and r.json()["count"] == 0
        assert httpx.get(f"http://127.0.0.1:{port}/api/assistants").status_code == 401
    finally:
        first = _stop(proc)
    assert key in first and first.count("tlk_") == 1  # printed once
    proc, _ = _start(env, tmp_path)
    second = _stop(proc)
    assert "tlk_" not in second and key_file.read_text().strip() == key


def test_bad_configuration_stops_with_one_line(tmp_path: Path) -> None:
    env = _env(tmp_path, "sqlite:///" + str(tmp_path / "x.db"), TRUNKLINE_API__PORT="seventy")
    r = _run(["serve"], env, tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0
    assert "api.port" in r.stderr and "TRUNKLINE_API__PORT" in r.stderr
    (tmp_path / "t.toml").write_text('[sip]\nmax_concurrent_calls = 0\n[api]\nhost = "127.0.0.1"\n')
    r = _run(["migrate", "--config", "t.toml"], _env(tmp_path, "sqlite:///" + str(tmp_path / "x.db")), tmp_path)
    assert r.returncode == 2 and "sip.max_concurrent_calls" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "broken.toml").write_text("[api\nport = 1")
    r = _run(["migrate", "--config", "broken.toml"], env, tmp_path)
    assert r.returncode == 2 and "config file" in r.stderr and "Traceback" not in r.stderr
    r = _run(["migrate"], _env(tmp_path, "postgresql://postgres@127.0.0.1:1/none"), tmp_path)
    assert r.returncode == 2 and "database" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_api_keys_accounts_and_contact_import_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    env = _env(tmp_path, database_url)
    r = _run(["api-key", "list"], env, tmp_path)
    assert r.returncode == 2 and "no account yet" in r.stderr and "Traceback" not in r.stderr
    r = _run(["accounts", "create", "Acme"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    admin = re.search(r"tlk_\w+", r.stdout)
    assert admin
    r = _run(["api-key", "create", "--name", "reporting", "--scopes", "read"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip()
    prefix = secret[:12]
    r = _run(["api-key", "create", "--name", "x", "--scopes", "root"], env, tmp_path)
    assert r.returncode == 2 and "--scopes" in r.stderr
    listed = _run(["api-key", "list"], env, tmp_path).stdout
    assert prefix in listed and "reporting" in listed and secret not in listed
    assert _run(["api-key", "revoke", prefix], env, tmp_path).returncode == 0
    row = next(line for line in _run(["api-key", "list"], env, tmp_path).stdout.splitlines() if prefix in line)
    revoked_cell = [cell.strip() for cell in row.split("│") if cell.strip()][-1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", revoked_cell), row
    r = _run(["api-key", "revoke", "tlk_nothere"], env, tmp_path)
    assert r.returncode == 2 and "no API key" in r.stderr
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "first_name,last_name,phone,email\nAda,L,+14155550181,a@x.io\nBob,M,bogus,b@x.io\nCy,N,+14155550182,c@x.io\n"
    )
    r = _run(["contacts", "import", str(csv_file), "--company", "Widgets"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "imported 2 contacts, rejected 1 rows" in r.stdout
    assert "row 3: phone:" in r.stderr
    r = _run(["contacts", "import", str(tmp_path / "missing.csv"), "--company", "W"], env, tmp_path)
    assert r.returncode == 2 and "no such file" in r.stderr
    assert _run(["accounts", "create", "Second"], env, tmp_path).returncode == 0
    r = _run(["api-key", "list"], env, tmp_path)
    assert r.returncode == 2 and "--account" in r.stderr
