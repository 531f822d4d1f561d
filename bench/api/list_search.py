"""Benchmark: latency and throughput of contact list, filter, search and get against a real server on PostgreSQL.

Run ``python -m bench.api.list_search --rows 1000000 --duration 20 --concurrency 8``; see bench/api/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from uuid_utils.compat import uuid7

from bench.api.common import (
    POSTGRES_URL,
    RESULTS_DIR,
    TRUNKLINE,
    BenchError,
    asyncpg_dsn,
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
from bench.api.import_csv import (
    AREA_CODES,
    DOMAINS,
    FIRST_NAMES,
    JOB_TITLES,
    LEAD_STATUSES,
    LEAD_WEIGHTS,
    SOURCES,
    TAGS,
    company_names,
)
from models import Company, Contact

CONTACTS = "/api/crm/contacts"
COPY_CHUNK = 50_000
SAMPLED_IDS = 2_000
OPT_IN_KINDS = frozenset({"healthz"})
# Last names weighted roughly like the US census: "smi" (Smith, Smithson, Smits) is a big prefix on purpose.
LAST_NAMES = (
    ("Smith", 10),
    ("Johnson", 8),
    ("Williams", 7),
    ("Brown", 6),
    ("Jones", 6),
    ("Garcia", 5),
    ("Miller", 5),
    ("Davis", 5),
    ("Rodriguez", 4),
    ("Martinez", 4),
    ("Wilson", 3),
    ("Anderson", 3),
    ("Taylor", 3),
    ("Thomas", 3),
    ("Moore", 3),
    ("Jackson", 3),
    ("Lee", 3),
    ("Nguyen", 3),
    ("Patel", 3),
    ("Kim", 2),
    ("Smithson", 1),
    ("Smits", 1),
    ("Cooper", 2),
    ("Reed", 2),
    ("Murphy", 2),
    ("Rivera", 2),
    ("Morgan", 2),
    ("Bailey", 2),
    ("Hughes", 2),
    ("O'Brien", 1),
    ("Müller", 1),
)
TIMEZONES = {
    212: "America/New_York",
    415: "America/Los_Angeles",
    312: "America/Chicago",
    617: "America/New_York",
    206: "America/Los_Angeles",
    305: "America/New_York",
    512: "America/Chicago",
    303: "America/Denver",
    404: "America/New_York",
    702: "America/Los_Angeles",
    213: "America/Los_Angeles",
    646: "America/New_York",
    718: "America/New_York",
    917: "America/New_York",
}
INDUSTRIES = ("Software", "Logistics", "Healthcare", "Retail", "Manufacturing", "Finance", "Real estate", None)


@dataclass
class Seeded:
    """What the seeding step put in the database and what requests may refer to."""

    account_id: UUID
    api_key: str
    company_ids: list[UUID]
    contact_ids: list[UUID]
    email_prefix: str
    seconds: float
    sizes: dict[str, Any] = field(default_factory=dict)


def _weights(pairs: tuple[tuple[str, int], ...]) -> tuple[list[str], list[int]]:
    return [p[0] for p in pairs], [p[1] for p in pairs]


def contact_records(
    rng: random.Random, account_id: UUID, company_ids: list[UUID], rows: int, now: datetime
) -> Iterator[list[dict[str, Any]]]:
    """Yield chunks of contacts by column name: ``rows`` of them with unique E.164 phones, skewed over companies."""
    last_names, last_weights = _weights(LAST_NAMES)
    # A few big companies and a long tail, as real CRMs have.
    company_weights = [1 / (rank + 1) ** 0.8 for rank in range(len(company_ids))]
    space = len(AREA_CODES) * 800 * 10_000
    if rows > space:
        raise BenchError(f"--rows: at most {space} rows have unique phone numbers")
    phone_ids = rng.sample(range(space), rows)
    chunk: list[dict[str, Any]] = []
    for i in range(rows):
        first = rng.choice(FIRST_NAMES)
        last = rng.choices(last_names, last_weights)[0]
        area_index, rest = divmod(phone_ids[i], 800 * 10_000)
        exchange, subscriber = divmod(rest, 10_000)
        area = AREA_CODES[area_index]
        status = rng.choices(LEAD_STATUSES, LEAD_WEIGHTS)[0]
        tags = rng.sample(TAGS, rng.choices((0, 1, 2, 3), (30, 40, 20, 10))[0])
        local = "".join(c for c in f"{first}.{last}".lower() if c.isascii() and (c.isalnum() or c == "."))
        chunk.append(
            {
                "id": uuid7(),
                "company_id": rng.choices(company_ids, company_weights)[0],
                "first_name": first,
                "last_name": last,
                "email": f"{local}{i}@{rng.choice(DOMAINS)}",
                "phone": f"+1{area}{exchange + 200}{subscriber:04d}",
                "job_title": rng.choice(JOB_TITLES) or None,
                "timezone": TIMEZONES[area],
                "lead_status": status,
                "do_not_call": status == "dnc" or rng.random() < 0.01,
                "tags": json.dumps(tags),
                "custom_fields": "{}",
                "source": rng.choice(SOURCES) or None,
                "account_id": account_id,
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(chunk) >= COPY_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def copy_rows(conn: asyncpg.Connection, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """COPY rows given by column name into ``model``'s table; columns they leave out are NULL."""
    columns = [column.name for column in model.__table__.columns]
    unknown = set(rows[0]) - set(columns) if rows else set()
    if unknown:
        raise BenchError(f"{model.__tablename__} has no column {', '.join(sorted(unknown))}")
    await conn.copy_records_to_table(
        model.__tablename__, columns=columns, records=[tuple(row.get(c) for c in columns) for row in rows]
    )


async def seed(url: str, rows: int, companies: int, seed_value: int, vacuum: bool) -> Seeded:
    """Reset and migrate the benchmark database, create an account and its key, COPY the companies and contacts."""
    from api.database import make_engine, make_sessionmaker
    from api.services.api_keys import create_account

    await reset_postgres(url)
    await asyncio.to_thread(_migrate, url)
    started = time.perf_counter()
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            account, key = await create_account(session, "Bench")
    finally:
        await engine.dispose()
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
    try:
        names = company_names(rng, companies)
        company_ids = [uuid7() for _ in names]
        await copy_rows(
            conn,
            Company,
            [
                {
                    "id": cid,
                    "name": name,
                    "website": _website(name),
                    "industry": rng.choice(INDUSTRIES),
                    "account_id": account.id,
                    "created_at": now,
                    "updated_at": now,
                }
                for cid, name in zip(company_ids, names, strict=True)
            ],
        )
        contact_ids: list[UUID] = []
        every = max(1, rows // SAMPLED_IDS)
        email_prefix = ""
        done = 0
        for chunk in contact_records(rng, account.id, company_ids, rows, now):
            await copy_rows(conn, Contact, chunk)
            contact_ids.extend(r["id"] for r in chunk[::every])
            if not email_prefix:  # e.g. "mary.jo": a prefix of emails only, never of a name
                first, last = str(chunk[len(chunk) // 2]["email"]).split("@")[0].split(".")[:2]
                email_prefix = f"{first}.{last[:2]}"
            done += len(chunk)
            print(f"  seeded {done}/{rows} contacts", end="\r", flush=True)
        print()
        await conn.execute("VACUUM (ANALYZE) contact, company" if vacuum else "ANALYZE contact, company")
        seconds = time.perf_counter() - started
        sizes = dict(
            await conn.fetchrow(
                "SELECT pg_total_relation_size('contact') AS total_bytes, pg_relation_size('contact') AS heap_bytes,"
                " pg_indexes_size('contact') AS indexes_bytes, pg_size_pretty(pg_total_relation_size('contact'))"
                " AS total_pretty, (SELECT count(*) FROM contact) AS contacts, (SELECT count(*) FROM company)"
                " AS companies"
            )
        )
    finally:
        await conn.close()
    return Seeded(account.id, key.secret, company_ids, contact_ids, email_prefix, seconds, sizes)


def _website(name: str) -> str:
    return f"https://{name.split()[0].lower()}.example"


def _migrate(url: str) -> None:
    from api.database import migrate

    migrate(url)


@dataclass(frozen=True)
class Kind:
    """One kind of request: a name, how to build its next URL, and the parameters it varies."""

    name: str
    describe: str
    next_request: Callable[[], tuple[str, dict[str, str]]]


def request_kinds(seeded: Seeded, rows: int, deep_offset: int, rng: random.Random) -> list[Kind]:
    """The request kinds measured, in order; each builds its URL and query parameters per request."""
    offset = min(deep_offset, rows // 2)
    statuses = list(LEAD_STATUSES)

    def fixed(params: dict[str, str]) -> Callable[[], tuple[str, dict[str, str]]]:
        """A request builder that always asks for the contact list with ``params``."""
        return lambda: (CONTACTS, params)

    return [
        Kind("list", "limit=50", fixed({"limit": "50"})),
        Kind("deep_page", f"limit=50&offset={offset}", fixed({"limit": "50", "offset": str(offset)})),
        Kind(
            "by_company",
            "company_id=<random of the companies>",
            lambda: (CONTACTS, {"limit": "50", "company_id": str(rng.choice(seeded.company_ids))}),
        ),
        Kind(
            "by_lead_status",
            "lead_status=<random status>",
            lambda: (CONTACTS, {"limit": "50", "lead_status": rng.choice(statuses)}),
        ),
        Kind("by_tag", "tag=vip", fixed({"limit": "50", "tag": "vip"})),
        Kind("q_last_name", "q=smi", fixed({"limit": "50", "q": "smi"})),
        Kind("q_phone", "q=555012", fixed({"limit": "50", "q": "555012"})),
        Kind("q_email", f"q={seeded.email_prefix}", fixed({"limit": "50", "q": seeded.email_prefix})),
        Kind(
            "get_by_id",
            "/{id} of a random contact",
            lambda: (f"{CONTACTS}/{rng.choice(seeded.contact_ids)}", {}),
        ),
        # Not run unless named in --kinds: the cost of the HTTP stack alone (no API key check, no query).
        Kind("healthz", "/healthz (baseline, opt-in)", lambda: ("/healthz", {})),
    ]


@dataclass
class KindResult:
    """The figures of one request kind."""

    name: str
    request: str
    matches: int | None
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_request: float | None
    client_cpu_ms_per_request: float
    statuses: dict[str, int]


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds a process has used so far (from /proc), or None when unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure_kind(
    client: httpx.AsyncClient, kind: Kind, seconds: float, concurrency: int, max_requests: int, server_pid: int
) -> KindResult:
    """Drive one kind with ``concurrency`` workers for ``seconds`` (at most ``max_requests``) and summarise."""
    path, params = kind.next_request()
    warm = await client.get(path, params=params)  # warm-up; also shows how many rows match
    if warm.status_code != 200:
        raise BenchError(f"{kind.name}: GET {warm.request.url} answered {warm.status_code}: {warm.text[:300]}")
    body = warm.json()
    matches = body.get("count") if isinstance(body, dict) and "items" in body else None
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    issued = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        """Send requests one after the other until the deadline or the request budget is reached."""
        nonlocal issued
        while issued < max_requests and time.perf_counter() < deadline:
            issued += 1
            path, params = kind.next_request()
            sent = time.perf_counter()
            try:
                response = await client.get(path, params=params)
                status = str(response.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            elapsed = time.perf_counter() - sent
            statuses[status] += 1
            if status == "200":
                latencies.append(elapsed)

    server_cpu = process_cpu_seconds(server_pid)
    client_cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    server_after = process_cpu_seconds(server_pid)
    latencies.sort()
    done = len(latencies)
    total = sum(statuses.values())
    return KindResult(
        name=kind.name,
        request=kind.describe,
        matches=matches,
        requests=done,
        errors=total - done,
        seconds=wall,
        rps=done / wall if wall > 0 else float("nan"),
        p50_ms=percentile(latencies, 50) * 1000,
        p90_ms=percentile(latencies, 90) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=(latencies[-1] * 1000) if latencies else float("nan"),
        server_cpu_ms_per_request=(
            (server_after - server_cpu) * 1000 / total if server_cpu is not None and server_after and total else None
        ),
        client_cpu_ms_per_request=client_cpu * 1000 / total if total else float("nan"),
        statuses=dict(statuses),
    )


def start_server(url: str, work: Path, port: int, echo: bool) -> subprocess.Popen[bytes]:
    """Start ``trunkline serve`` on 127.0.0.1:``port`` as a separate process, logging to files in ``work``."""
    env = child_env(
        work / "var",
        url,
        TRUNKLINE_API__HOST="127.0.0.1",
        TRUNKLINE_API__PORT=str(port),
        TRUNKLINE_LOG__LEVEL="info" if echo else "warning",
        TRUNKLINE_DATABASE__ECHO="true" if echo else "false",
    )
    with (work / "server.stdout.txt").open("wb") as out, (work / "server.stderr.txt").open("wb") as err:
        return subprocess.Popen(
            [str(TRUNKLINE), "serve"], env=env, cwd=work, stdout=out, stderr=err, stdin=subprocess.DEVNULL
        )


async def wait_healthy(proc: subprocess.Popen[bytes], base_url: str, timeout_s: float, work: Path) -> float:
    """Poll ``/healthz`` until it answers 200; returns the seconds it took, raises when the server died or hung."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while time.perf_counter() - started < timeout_s:
            if proc.poll() is not None:
                tail = (work / "server.stderr.txt").read_text(errors="replace")[-1500:]
                raise BenchError(f"the server exited with {proc.returncode} before answering:\n{tail}")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise BenchError(f"the server did not answer /healthz within {timeout_s:.0f} s")


async def explain_kinds(url: str, seeded: Seeded, kinds: list[Kind]) -> dict[str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) the exact SQL the product's ContactService runs for one request of each kind."""
    from sqlalchemy import event

    from api.database import make_engine, make_sessionmaker
    from api.pagination import PageParams
    from api.services.contacts import ContactFilters, ContactService
    from models import LeadStatus

    engine = make_engine(url)
    plans: dict[str, str] = {}
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        """Remember each statement the driver is about to run, with its parameters."""
        captured.append((statement, parameters))

    try:
        for kind in kinds:
            path, params = kind.next_request()
            async with make_sessionmaker(engine)() as session:
                service = ContactService(session, seeded.account_id)
                await session.connection()  # connect (and pre-ping) before capturing
                captured.clear()
                event.listen(engine.sync_engine, "before_cursor_execute", capture)
                try:
                    if path == CONTACTS:
                        filters = ContactFilters(
                            company_id=UUID(params["company_id"]) if "company_id" in params else None,
                            lead_status=LeadStatus(params["lead_status"]) if "lead_status" in params else None,
                            tag=params.get("tag"),
                            q=params.get("q"),
                        )
                        page = PageParams(limit=int(params.get("limit", 50)), offset=int(params.get("offset", 0)))
                        await service.page(page, *service.where(filters))
                    else:
                        await service.get(UUID(path.rsplit("/", 1)[1]))
                finally:
                    event.remove(engine.sync_engine, "before_cursor_execute", capture)
                conn = await session.connection()
                texts = []
                for statement, parameters in list(captured):
                    result = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                    texts.append(statement + "\n" + "\n".join(row[0] for row in result))
                plans[kind.name] = "\n\n".join(texts)
    finally:
        await engine.dispose()
    return plans


def plan_digest(plan: str) -> str:
    """The plan nodes (with rows filtered away and temp-file use) and the execution time, on one line."""
    parts: list[str] = []
    for line in plan.splitlines():
        text = line.strip().removeprefix("->").strip()
        if "(cost=" in text and not text.startswith("Limit"):
            parts.append(text.split("  (")[0])
        elif text.startswith("Rows Removed by Filter:"):
            parts[-1] += f" [removed {text.rsplit(' ', 1)[1]}]"
        elif text.startswith("Buffers:") and "temp" in text and parts:
            parts[-1] += f" [temp {text.split('temp ', 1)[1]}]"
        elif text.startswith("Execution Time"):
            parts.append(text.replace("Execution Time: ", ""))
    return " > ".join(parts)


def print_table(results: list[KindResult]) -> None:
    """Print one line of figures per request kind."""
    head = (
        f"{'kind':<15} {'request':<38} {'matches':>8} {'n':>6} {'err':>4} {'req/s':>8} "
        f"{'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'srv cpu':>8} {'cli cpu':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        srv = f"{r.server_cpu_ms_per_request:8.2f}" if r.server_cpu_ms_per_request is not None else f"{'-':>8}"
        print(
            f"{r.name:<15} {r.request[:38]:<38} {r.matches if r.matches is not None else '-':>8} {r.requests:>6} "
            f"{r.errors:>4} {r.rps:8.1f} {r.p50_ms:8.1f} {r.p90_ms:8.1f} {r.p99_ms:8.1f} {r.max_ms:8.1f} "
            f"{srv} {r.client_cpu_ms_per_request:8.2f}"
        )


async def run_load(
    base_url: str, api_key: str, kinds: list[Kind], args: argparse.Namespace, server_pid: int
) -> list[KindResult]:
    """Measure each kind in turn for ``duration / len(kinds)`` seconds against the running server."""
    per_kind = args.duration / len(kinds)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    headers = {"Authorization": f"Bearer {api_key}"}
    results = []
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=args.request_timeout
    ) as client:
        for kind in kinds:
            result = await measure_kind(client, kind, per_kind, args.concurrency, args.max_requests, server_pid)
            print(
                f"  {kind.name:<15} {result.requests:>6} requests  p50 {result.p50_ms:7.1f} ms  "
                f"p99 {result.p99_ms:7.1f} ms  {result.rps:7.1f} req/s"
            )
            results.append(result)
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of the list and search benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.api.list_search", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="contacts to seed (default 1000000)")
    parser.add_argument("--companies", type=int, default=1000, help="companies the contacts belong to")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load in all, split over the kinds")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once")
    parser.add_argument("--max-requests", type=int, default=100_000, help="at most this many requests per kind")
    parser.add_argument("--deep-offset", type=int, default=500_000, help="offset of the deep page (<= rows/2)")
    parser.add_argument("--kinds", default="", help="comma-separated subset of the request kinds to run")
    parser.add_argument("--request-timeout", type=float, default=60, help="seconds before one request gives up")
    parser.add_argument("--startup-timeout", type=float, default=90, help="seconds the server may take to start")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the data and the request mix")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="benchmark database (never the tests' one)")
    parser.add_argument("--vacuum", action="store_true", help="VACUUM (ANALYZE) after seeding instead of ANALYZE")
    parser.add_argument("--explain", action="store_true", help="also EXPLAIN ANALYZE one query of each kind")
    parser.add_argument("--server-echo", action="store_true", help="log the server's SQL (TRUNKLINE_DATABASE__ECHO)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs)")
    args = parser.parse_args(argv)
    if not 100 <= args.rows <= 50_000_000:
        parser.error("--rows must be between 100 and 50000000")
    if not 1 <= args.companies <= 5000:
        parser.error("--companies must be between 1 and 5000")
    if not 1 <= args.concurrency <= 256:
        parser.error("--concurrency must be between 1 and 256")
    if not 0 < args.duration <= 3600:
        parser.error("--duration must be more than 0 and at most 3600 seconds")
    if args.max_requests < 1:
        parser.error("--max-requests must be at least 1")
    return args


async def _main(args: argparse.Namespace, work: Path, result: dict[str, Any]) -> None:
    print(f"seeding {args.rows} contacts over {args.companies} companies into {args.postgres_url} ...")
    seeded = await seed(args.postgres_url, args.rows, args.companies, args.seed, args.vacuum)
    result["seed"] = {"seconds": seeded.seconds, **seeded.sizes}
    print(
        f"seeded in {seeded.seconds:.1f} s; contact table {seeded.sizes['total_pretty']} "
        f"(heap {seeded.sizes['heap_bytes'] / 2**20:.1f} MiB, indexes {seeded.sizes['indexes_bytes'] / 2**20:.1f} MiB)"
    )
    rng = random.Random(args.seed)
    kinds = request_kinds(seeded, args.rows, args.deep_offset, rng)
    if args.kinds:
        wanted = {k.strip() for k in args.kinds.split(",") if k.strip()}
        unknown = wanted - {k.name for k in kinds}
        if unknown:
            raise BenchError(
                f"--kinds: unknown {', '.join(sorted(unknown))}; known: {', '.join(k.name for k in kinds)}"
            )
        kinds = [k for k in kinds if k.name in wanted]
    else:
        kinds = [k for k in kinds if k.name not in OPT_IN_KINDS]
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = start_server(args.postgres_url, work, port, args.server_echo)
    try:
        result["server"] = {"pid": server.pid, "port": port}
        result["server"]["startup_s"] = await wait_healthy(server, base_url, args.startup_timeout, work)
        print(f"server pid {server.pid} on {base_url}, up in {result['server']['startup_s']:.1f} s")
        per_kind = args.duration / len(kinds)
        print(f"load: {len(kinds)} kinds x {per_kind:.1f} s, concurrency {args.concurrency}")
        results = await run_load(base_url, seeded.api_key, kinds, args, server.pid)
    finally:
        stop_process(server)
    result["kinds"] = [r.__dict__ for r in results]
    print()
    print_table(results)
    if args.explain:
        plans = await explain_kinds(args.postgres_url, seeded, kinds)
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        plan_path = RESULTS_DIR / "list_search-postgresql-plans.txt"
        plan_path.write_text("\n\n".join(f"== {name}\n{plan}" for name, plan in plans.items()) + "\n")
        result["plans"] = {name: plan_digest(plan) for name, plan in plans.items()}
        print(f"\nquery plans (full text in {plan_path}):")
        for name, digest in result["plans"].items():
            print(f"  {name:<15} {digest}")


def _run(args: argparse.Namespace, work: Path) -> int:
    """Seed, serve, load, report; returns the exit code."""
    result: dict[str, Any] = {
        "benchmark": "list_search",
        "backend": "postgresql",
        "rows": args.rows,
        "companies": args.companies,
        "duration_s": args.duration,
        "concurrency": args.concurrency,
        "machine": machine(),
    }
    asyncio.run(_main(args, work, result))
    errors = sum(k["errors"] for k in result.get("kinds", []))
    path = write_result("list_search-postgresql", result)
    print(f"\nresult: {path}")
    if errors:
        print(f"PROBLEM: {errors} requests failed (see 'statuses' in the result)")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    """Seed, start the server, drive the load, print the table and write the JSON result."""
    args = parse_args(argv)
    interrupt_on_sigterm()
    return run_benchmark("trunkline-list-search-", args.keep, lambda work: _run(args, work))


if __name__ == "__main__":
    sys.exit(main())
