"""Benchmark a 100k-contact campaign: launch to first INVITE, scheduler cost per tick, dial rate, memory.

Run ``python -m bench.campaign.run --backend postgresql --contacts 100000``. Phase 1 drives the scheduler in this
process with an instant fake dialer on audiences of growing size (1k, 10k, the full size) and times its ticks. Phase 2
starts a real ``trunkline serve`` node with a sipp UAS as the trunk's peer, launches the full-size campaign through
the API and reads the first INVITE's arrival from sipp's message trace.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from api.database import migrate
from api.services.api_keys import create_account
from bench.api.common import (
    POSTGRES_URL,
    TRUNKLINE,
    BenchError,
    child_env,
    free_port,
    interrupt_on_sigterm,
    machine,
    percentile,
    reset_postgres,
    run_benchmark,
    stop_process,
    write_result,
)
from models import (
    Assistant,
    AssistantTemplate,
    CallStatus,
    Campaign,
    CampaignStatus,
    Company,
    Contact,
    PhoneNumber,
    Trunk,
    TrunkKind,
)
from scheduler import DialRequest, DialResult, Scheduler
from tests.peers import sipp
from tests.peers.ports import free_sip_port

TICKS = 40  # steady-state ticks timed per audience size
CONCURRENCY = 10


def noon_zone() -> str:
    """A fixed-offset zone where it is about noon now, so the call window never blocks the benchmark."""
    offset = 12 - datetime.now(UTC).hour
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


class InstantDialer:
    """Every call is answered at once: the scheduler's own cost is all that is measured."""

    def __init__(self) -> None:
        self.dialled = 0

    def free_slots(self) -> int:
        """Unbounded node capacity."""
        return 1000

    async def dial(self, request: DialRequest, on_call: Any) -> DialResult:
        """Answer at once."""
        self.dialled += 1
        return DialResult(outcome=CallStatus.ANSWERED, sip_code=200, duration_s=0.0)


async def seed(url: str, sizes: list[int], peer_port: int) -> dict[str, Any]:
    """An account and key, an outbound assistant, an IP trunk to the sipp peer, a number, one company per size."""
    engine = create_async_engine(url, poolclass=NullPool)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    zone = noon_zone()
    async with sessions() as session:
        account, key = await create_account(session, "Bench")
    async with sessions() as session, session.begin():
        assistant = Assistant(
            account_id=account.id,
            name="Bench caller",
            template=AssistantTemplate.CUSTOM,
            system_prompt="",
            llm={},
            voice={},
            transcriber={},
            outbound_enabled=True,
            recording_enabled=False,  # the node's echo handler talks; the assistant's layers are never built
        )
        trunk = Trunk(account_id=account.id, name="sipp", kind=TrunkKind.IP, peer_host="127.0.0.1", peer_port=peer_port)
        session.add_all([assistant, trunk])
        await session.flush()
        number = PhoneNumber(account_id=account.id, number="+14155550100", trunk_id=trunk.id)
        companies = [Company(account_id=account.id, name=f"Audience {n}") for n in sizes]
        session.add_all([number, *companies])
    started = time.perf_counter()
    serial = 0
    for company, size in zip(companies, sizes, strict=True):
        for first in range(0, size, 5000):
            rows = []
            for _ in range(min(5000, size - first)):
                serial += 1
                rows.append(
                    {
                        "id": uuid.uuid4(),
                        "account_id": account.id,
                        "company_id": company.id,
                        "first_name": f"C{serial}",
                        "phone": f"+1{2000000000 + serial}",
                        "timezone": zone,
                    }
                )
            async with sessions() as session, session.begin():
                await session.execute(insert(Contact), rows)
    seeded_s = time.perf_counter() - started
    await engine.dispose()
    return {
        "account_id": account.id,
        "key": key.secret,
        "assistant_id": assistant.id,
        "number_id": number.id,
        "companies": {size: company.id for company, size in zip(companies, sizes, strict=True)},
        "seed_s": round(seeded_s, 1),
    }


def campaign_row(world: dict[str, Any], company_id: uuid.UUID, status: CampaignStatus) -> Campaign:
    """A campaign over one company, open all day in the contacts' zone, one attempt each."""
    return Campaign(
        account_id=world["account_id"],
        name="bench",
        assistant_id=world["assistant_id"],
        status=status,
        audience_company_id=company_id,
        caller_number_ids=[str(world["number_id"])],
        window_start=datetime.min.time(),
        window_end=datetime.max.time().replace(microsecond=0),
        window_timezone="UTC",
        max_concurrent_calls=CONCURRENCY,
        max_attempts=1,
    )


async def tick_costs(url: str, world: dict[str, Any], sizes: list[int]) -> list[dict[str, Any]]:
    """Per audience size: time to load the audience into attempts, then the cost of steady-state ticks."""
    engine = create_async_engine(url, pool_size=5) if "postgresql" in url else create_async_engine(url)
    sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(engine, expire_on_commit=False)
    results = []
    for size in sizes:
        async with sessions() as session, session.begin():
            campaign = campaign_row(world, world["companies"][size], CampaignStatus.SCHEDULED)
            session.add(campaign)
        scheduler = Scheduler(sessions, InstantDialer(), node_id="bench", local_hours=False)
        first_claim: float | None = None
        started = time.perf_counter()
        load_ticks = 0
        while True:  # the audience loads in chunks while the first calls go out
            await scheduler.tick()
            load_ticks += 1
            if first_claim is None and scheduler.dialling:
                first_claim = time.perf_counter() - started
            await scheduler.settle()
            async with sessions() as session:
                loaded = await session.scalar(select(Campaign.audience_loaded).where(Campaign.id == campaign.id))
            if loaded:
                break
        load_s = time.perf_counter() - started
        costs = []
        for _ in range(TICKS):
            t = time.perf_counter()
            await scheduler.tick()
            costs.append((time.perf_counter() - t) * 1000)
            await scheduler.settle()
        async with sessions() as session, session.begin():
            row = await session.get(Campaign, campaign.id)
            assert row is not None
            row.status = CampaignStatus.CANCELLED  # out of the way of the node run
        costs.sort()
        results.append(
            {
                "contacts": size,
                "first_claim_ms": round((first_claim or 0) * 1000, 1),
                "audience_load_s": round(load_s, 2),
                "load_ticks": load_ticks,
                "tick_ms_p50": round(percentile(costs, 50), 2),
                "tick_ms_p95": round(percentile(costs, 95), 2),
                "claims_per_tick": CONCURRENCY,
            }
        )
        print(
            f"  {size:>7} contacts: audience loaded in {load_s:.2f} s ({load_ticks} ticks), "
            f"first claim {results[-1]['first_claim_ms']} ms, tick p50 {results[-1]['tick_ms_p50']} ms "
            f"p95 {results[-1]['tick_ms_p95']} ms (claiming {CONCURRENCY})",
            flush=True,
        )
    await engine.dispose()
    return results


def rss_mib(pid: int) -> float:
    """Resident memory of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


INVITE_AT = re.compile(r"^-+ (\d{4}-\d\d-\d\d)\s+(\d\d:\d\d:\d\d\.\d+)\s.*\n(?:.*\n){0,2}?INVITE sip:", re.MULTILINE)


def first_invite(messages: str) -> datetime | None:
    """When sipp logged the first INVITE it received (its trace stamps each message with local wall time)."""
    found = INVITE_AT.search(messages)
    if found is None:
        return None
    return datetime.fromisoformat(f"{found.group(1)}T{found.group(2)}").astimezone(UTC)


def node_run(url: str, world: dict[str, Any], size: int, peer_port: int, seconds: float, work: Path) -> dict[str, Any]:
    """Launch the full campaign on a real node against a sipp UAS: first INVITE, dial rate, memory."""
    data_dir = work / "node"
    (data_dir).mkdir()
    (data_dir / "admin-api-key").write_text(world["key"])
    api_port = free_port()
    env = child_env(
        data_dir,
        url,
        TRUNKLINE_API__PORT=str(api_port),
        TRUNKLINE_SIP__HOST="127.0.0.1",
        TRUNKLINE_SIP__PORT=str(free_sip_port()),
        TRUNKLINE_SIP__AUDIO_HANDLER="echo",
        TRUNKLINE_SIP__RING_TIMEOUT_S="5",
        TRUNKLINE_PROVIDERS__PRELOAD_LOCAL="false",
        TRUNKLINE_LOG__LEVEL="warning",
    )
    import subprocess

    log = open(work / "node.log", "wb")  # noqa: SIM115 (closed below)
    node = subprocess.Popen([str(TRUNKLINE), "serve"], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    api = httpx.Client(base_url=f"http://127.0.0.1:{api_port}", headers={"Authorization": f"Bearer {world['key']}"})
    uas = sipp.uas(
        peer_port, "answer_hangup", calls=1_000_000, timeout_s=seconds + 120, hangup_after_s=0.5, workdir=work / "uas"
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if api.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise BenchError("the node did not answer /healthz within 60 s")
        time.sleep(1.0)  # trunks applied
        uas.start()
        body = {
            "name": "bench 100k",
            "assistant_id": str(world["assistant_id"]),
            "caller_number_ids": [str(world["number_id"])],
            "audience_company_id": str(world["companies"][size]),
            "window_start": "00:00:00",
            "window_end": "23:59:59",
            "window_timezone": "UTC",
            "max_concurrent_calls": CONCURRENCY,
            "max_attempts": 1,
        }
        r = api.post("/api/crm/campaigns", json=body)
        if r.status_code != 201:
            raise BenchError(f"campaign not created: {r.status_code} {r.text}")
        cid = r.json()["id"]
        rss_before = rss_mib(node.pid)
        launched = datetime.now(UTC)
        r = api.post(f"/api/crm/campaigns/{cid}/launch")
        if r.status_code != 200:
            raise BenchError(f"launch failed: {r.status_code} {r.text}")
        invite: datetime | None = None
        while invite is None and datetime.now(UTC) - launched < timedelta(seconds=10):
            time.sleep(0.05)
            invite = first_invite(
                (work / "uas" / "messages.log").read_text(errors="replace")
                if (work / "uas" / "messages.log").exists()
                else ""
            )
        if invite is None:
            raise BenchError("no INVITE reached sipp within 10 s of launch")
        rss_peak = rss_before
        start_stats = api.get(f"/api/crm/campaigns/{cid}/stats").json()
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            time.sleep(1.0)
            rss_peak = max(rss_peak, rss_mib(node.pid))
        stats = api.get(f"/api/crm/campaigns/{cid}/stats").json()
        elapsed = time.monotonic() - t0
        api.post(f"/api/crm/campaigns/{cid}/cancel")
        done = sum(stats["outcomes"].values()) - sum(start_stats["outcomes"].values())
        return {
            "launch_to_first_invite_ms": round((invite - launched).total_seconds() * 1000, 1),
            "dial_window_s": round(elapsed, 1),
            "calls_completed": done,
            "dial_rate_per_s": round(done / elapsed, 2),
            "outcomes": stats["outcomes"],
            "queue_size": stats["queue_size"],
            "node_rss_mib_before_launch": round(rss_before, 1),
            "node_rss_mib_peak": round(rss_peak, 1),
        }
    finally:
        uas.cleanup()
        api.close()
        stop_process(node)
        log.close()


def main() -> int:
    """Parse the arguments, run both phases, print and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--dial-seconds", type=float, default=30.0)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    interrupt_on_sigterm()
    sizes = sorted({min(1000, args.contacts), min(10_000, args.contacts), args.contacts})

    def body(work: Path) -> int:
        """Both phases in the scratch directory ``work``."""
        if args.backend == "postgresql":
            asyncio.run(reset_postgres(POSTGRES_URL))
            url = POSTGRES_URL
        else:
            url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
        migrate(url)
        peer_port = free_sip_port()
        print(f"seeding {sum(sizes):,} contacts ({args.backend}) …", flush=True)
        world = asyncio.run(seed(url, sizes, peer_port))
        print(f"  seeded in {world['seed_s']} s", flush=True)
        print("scheduler in process, instant dialer:", flush=True)
        ticks = asyncio.run(tick_costs(url, world, sizes))
        print(f"real node, sipp UAS (answer, 0.5 s hold), concurrency {CONCURRENCY}, {args.dial_seconds:.0f} s:")
        run = node_run(url, world, args.contacts, peer_port, args.dial_seconds, work)
        for name, value in run.items():
            print(f"  {name}: {value}")
        path = write_result(
            f"campaign-{args.backend}",
            {"machine": machine(), "backend": args.backend, "contacts": args.contacts, "ticks": ticks, "node": run},
        )
        print(f"wrote {path}")
        return 0

    return run_benchmark("trunkline-bench-campaign-", args.keep, body)


if __name__ == "__main__":
    sys.exit(main())
