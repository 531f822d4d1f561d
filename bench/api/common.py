"""Helpers shared by the API benchmarks: the benchmark database, child processes, figures and result files."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg

BENCH_DATABASE = "trunkline_bench"
POSTGRES_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{BENCH_DATABASE}"
REPO_DIR = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO_DIR / "bench" / "results"
TRUNKLINE = Path(sys.executable).parent / "trunkline"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Databases a benchmark must never reset: the test suite owns ``test``.
PROTECTED_DATABASES = frozenset({"test", "postgres", "template0", "template1"})


class BenchError(Exception):
    """A benchmark cannot run or its result is not trustworthy; the message says why."""


def asyncpg_dsn(url: str) -> str:
    """The plain ``postgresql://`` DSN asyncpg takes, from a SQLAlchemy URL."""
    return "postgresql://" + url.split("://", 1)[1]


def bench_database_name(url: str) -> str:
    """The database name of a PostgreSQL URL, refusing non-local hosts and the databases others own."""
    parts = urlsplit(url)
    if parts.hostname not in LOCAL_HOSTS:
        raise BenchError(f"refusing a non-local database host {parts.hostname!r}: benchmarks only use 127.0.0.1")
    name = parts.path.lstrip("/")
    if not name or name in PROTECTED_DATABASES:
        raise BenchError(f"refusing to reset database {name!r}: use a database of its own such as {BENCH_DATABASE}")
    return name


async def reset_postgres(url: str) -> None:
    """Create the benchmark database when missing, then drop and recreate its ``public`` schema."""
    name = bench_database_name(url)
    dsn = asyncpg_dsn(url)
    admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres", timeout=10)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


def child_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a ``trunkline`` child: this one without TRUNKLINE_* settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUNKLINE_")}
    env["TRUNKLINE_DATA_DIR"] = str(data_dir)
    env["TRUNKLINE_DATABASE__URL"] = database_url
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


@dataclass
class ChildResult:
    """How a finished child process went: exit code, wall and CPU time, peak memory and its output."""

    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mib: float
    stdout: str
    stderr: str


def run_child(cmd: list[str], env: dict[str, str], cwd: Path, timeout_s: float, log_prefix: Path) -> ChildResult:
    """Run ``cmd`` to completion (killed after ``timeout_s``), measuring it alone with ``os.wait4``."""
    out_path = log_prefix.with_suffix(".stdout.txt")
    err_path = log_prefix.with_suffix(".stderr.txt")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        timed_out = threading.Event()

        def _kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout_s, _kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            timer.cancel()
            if proc.returncode is None:
                proc.kill()
                proc.wait(timeout=10)
    if timed_out.is_set():
        raise BenchError(f"{' '.join(cmd)} did not finish within {timeout_s:.0f} s (killed)")
    return ChildResult(
        returncode=proc.returncode,
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        max_rss_mib=usage.ru_maxrss / 1024,  # Linux reports KiB
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


def interrupt_on_sigterm() -> None:
    """Turn SIGTERM (and SIGINT, even when a shell ignored it) into KeyboardInterrupt so ``finally`` stops children."""

    def _raise(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _raise)
    signal.signal(signal.SIGINT, _raise)


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """Stop one child we started: SIGTERM, then SIGKILL after ``grace_s``; a no-op when it has ended."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace_s)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(ordered: list[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) of an ascending list, interpolating between neighbours; NaN when empty."""
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def git_commit() -> str | None:
    """The commit the working tree is at, or None outside git."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_DIR, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def machine() -> dict[str, Any]:
    """What the figures were measured on; the load average tells whether the machine was shared."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": list(os.getloadavg()),
        "commit": git_commit(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write ``data`` as ``bench/results/<name>.json`` and return the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, ChildResult):
        return {k: v for k, v in asdict(value).items() if k not in ("stdout", "stderr")}
    if isinstance(value, Path):
        return str(value)
    return str(value)


def run_benchmark(prefix: str, keep: bool, body: Callable[[Path], int]) -> int:
    """Run ``body`` in a scratch directory; BenchError exits 2, Ctrl-C or SIGTERM 130, the directory goes."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return body(work)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; child processes stopped", file=sys.stderr)
        return 130
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
