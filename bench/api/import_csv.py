"""Benchmark: import a realistic contact CSV through ``trunkline contacts import`` and in process.

Run ``python -m bench.api.import_csv --backend sqlite|postgresql --rows 100000``; see bench/api/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import csv
import io
import pstats
import random
import re
import resource
import shlex
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api.common import (
    POSTGRES_URL,
    RESULTS_DIR,
    TRUNKLINE,
    BenchError,
    ChildResult,
    child_env,
    interrupt_on_sigterm,
    machine,
    reset_postgres,
    run_benchmark,
    run_child,
    write_result,
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


GOAL_ROWS = 100_000
GOAL_SECONDS = 10.0
DEFAULT_COMPANY = "Bench Imports"
RESULT_LINE = re.compile(r"imported (\d+) contacts, rejected (\d+) rows")

FIRST_NAMES = _words(
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra "
    "Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian "
    "Melissa George Deborah Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan "
    "Kathleen Jacob Amy Gary Angela Nicholas Shirley Eric Anna Jonathan Brenda Stephen Pamela Larry Emma Justin "
    "Nicole Scott Helen Brandon Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel "
    "Frank Carolyn Raymond Janet José María Zoë Björn Siobhan"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
    "Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes "
    "Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard "
    "Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price "
    "Alvarez Castillo Sanders Patel Smithson Smits O'Brien Müller"
)
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "proton.me", "aol.com")
JOB_TITLES = (
    "CEO",
    "CTO",
    "VP of Sales",
    "Sales Manager",
    "Account Executive",
    "Office Manager",
    "Operations Director",
    "Marketing Manager",
    "Head of Procurement",
    "Owner",
    "IT Manager",
    "Customer Success Lead",
    "",
)
LEAD_STATUSES = ("new", "contacted", "qualified", "unqualified", "customer", "churned", "dnc")
LEAD_WEIGHTS = (45, 20, 10, 8, 10, 5, 2)
TAGS = ("vip", "newsletter", "webinar", "trade-show", "inbound", "referral", "enterprise", "smb", "renewal", "q3")
SOURCES = ("website", "trade show", "referral", "linkedin", "cold list", "")
AREA_CODES = (212, 415, 312, 617, 206, 305, 512, 303, 404, 702, 213, 646, 718, 917)
PHONE_FORMATS = ("({a}) {e}-{s:04d}", "{a}-{e}-{s:04d}", "+1 {a} {e} {s:04d}", "{a}{e}{s:04d}", "{a}.{e}.{s:04d}")
COMPANY_WORDS = _words(
    "Acme Globex Initech Umbrella Stark Wayne Wonka Tyrell Cyberdyne Soylent Hooli Vandelay Pied Piper Massive "
    "Dynamic Oscorp Aperture Gringotts Dunder Mifflin Prestige Monarch Blue Sun Nakatomi Virtucon Gekko"
)
COMPANY_SUFFIXES = ("Inc", "LLC", "Corp", "Group", "Partners", "Labs", "Holdings", "& Co", "Systems", "Logistics")
CSV_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "lead_status",
    "do_not_call",
    "tags",
    "company",
    "source",
    "notes",
)
# Share of deliberately bad rows, and what is wrong with them (cycled).
BAD_SHARE = 0.005
BAD_KINDS = ("phone", "email", "lead_status")


@dataclass
class GeneratedCsv:
    """A generated CSV file and what importing it should give."""

    path: Path
    rows: int
    bad_rows: int
    companies: int
    size_bytes: int
    seconds: float


def company_names(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct, plausible company names."""
    names: set[str] = set()
    for _ in range(count * 50):  # bounded; 27*27*10 combinations are far more than needed
        if len(names) >= count:
            break
        first, second = rng.sample(COMPANY_WORDS, 2)
        names.add(f"{first} {second} {rng.choice(COMPANY_SUFFIXES)}")
    return sorted(names)


def generate_csv(path: Path, rows: int, seed: int, companies: int = 200) -> GeneratedCsv:
    """Write ``rows`` contacts (about 0.5% deliberately invalid) with unique, valid US phone numbers to ``path``."""
    started = time.perf_counter()
    rng = random.Random(seed)
    names = company_names(rng, companies)
    bad = set(rng.sample(range(rows), round(rows * BAD_SHARE)))
    # Unique numbers: sample indices over area code x exchange (200-999) x subscriber (0000-9999).
    space = len(AREA_CODES) * 800 * 10_000
    if rows > space:
        raise BenchError(f"--rows: at most {space} rows have unique phone numbers")
    phone_ids = rng.sample(range(space), rows)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        bad_seen = 0
        for i in range(rows):
            first = rng.choice(FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            area_index, rest = divmod(phone_ids[i], 800 * 10_000)
            exchange, subscriber = divmod(rest, 10_000)
            phone = rng.choice(PHONE_FORMATS).format(a=AREA_CODES[area_index], e=exchange + 200, s=subscriber)
            local = re.sub(r"[^a-z]", "", f"{first[0]}{last}".lower()) or "contact"
            email = f"{local}{i}@{rng.choice(DOMAINS)}"
            status = rng.choices(LEAD_STATUSES, LEAD_WEIGHTS)[0]
            if rng.random() < 0.2:
                status = status.capitalize()  # spreadsheets capitalise; the import lower-cases
            tags = rng.sample(TAGS, rng.choices((0, 1, 2, 3), (30, 40, 20, 10))[0])
            company = "" if rng.random() < 0.05 else rng.choice(names)  # blank: the --company default
            notes = "Met at the spring expo, wants a demo" if rng.random() < 0.1 else ""
            if i in bad:
                kind = BAD_KINDS[bad_seen % len(BAD_KINDS)]
                bad_seen += 1
                if kind == "phone":
                    phone = f"555-{rng.randint(10, 99)}"
                elif kind == "email":
                    email = f"{local}.at.example.com"
                else:
                    status = "hot lead"
            writer.writerow(
                [
                    first,
                    last,
                    email,
                    phone,
                    rng.choice(JOB_TITLES),
                    status,
                    "yes" if rng.random() < 0.01 else "",
                    ";".join(tags),
                    company,
                    rng.choice(SOURCES),
                    notes,
                ]
            )
    return GeneratedCsv(
        path=path,
        rows=rows,
        bad_rows=len(bad),
        companies=len(names),
        size_bytes=path.stat().st_size,
        seconds=time.perf_counter() - started,
    )


def database_url(backend: str, directory: Path, postgres_url: str) -> str:
    """The URL of a fresh database for one import: a new SQLite file, or the benchmark PostgreSQL database."""
    if backend == "sqlite":
        directory.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{directory / 'trunkline.db'}"
    return postgres_url


def fresh_database(backend: str, url: str) -> None:
    """Empty the database (delete the SQLite file or reset the PostgreSQL schema) and migrate it to head."""
    from api.database import migrate

    if backend == "sqlite":
        db = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    else:
        asyncio.run(reset_postgres(url))
    migrate(url)


async def count_contacts(url: str) -> int:
    """How many contacts the database holds."""
    from sqlalchemy import func, select

    from api.database import make_engine
    from models import Contact

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(Contact)) or 0)
    finally:
        await engine.dispose()


def cli_import(url: str, work: Path, csv_path: Path, timeout_s: float, suffix: str = "") -> dict[str, Any]:
    """Time ``trunkline contacts import`` as a subprocess on a fresh, migrated database with one account."""
    env = child_env(work / "var", url)
    create = [str(TRUNKLINE), "accounts", "create", "Bench"]
    account = run_child(create, env, work, timeout_s, work / f"accounts{suffix}")
    if account.returncode != 0:
        raise BenchError(f"trunkline accounts create failed: {account.stderr.strip()[-500:]}")
    cmd = [str(TRUNKLINE), "contacts", "import", str(csv_path), "--company", DEFAULT_COMPANY]
    run = run_child(cmd, env, work, timeout_s, work / f"import{suffix}")
    if run.returncode != 0:
        raise BenchError(f"trunkline contacts import exited {run.returncode}: {run.stderr.strip()[-500:]}")
    found = RESULT_LINE.findall(run.stdout)
    if not found:
        raise BenchError(f"no 'imported N contacts, rejected M rows' line in the output: {run.stdout[-500:]!r}")
    imported, rejected = (int(n) for n in found[-1])
    return {
        "command": shlex.join(cmd),
        "process": run,
        "imported": imported,
        "rejected": rejected,
        "accounts_create_wall_s": account.wall_s,
        "accounts_create_max_rss_mib": account.max_rss_mib,
    }


async def _import_in_process(url: str, csv_path: Path, profiler: cProfile.Profile | None) -> dict[str, Any]:
    from api.database import make_engine, make_sessionmaker
    from api.services.api_keys import create_account
    from api.services.companies import CompanyService
    from api.services.contact_csv import import_contacts
    from api.services.contacts import ContactService

    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        async with sessions() as session:
            account, _ = await create_account(session, "Bench")
            company = await CompanyService(session, account.id).add({"name": DEFAULT_COMPANY})
            await session.commit()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started, cpu_started = time.perf_counter(), time.process_time()
        async with sessions() as session:
            with csv_path.open(encoding="utf-8-sig", newline="") as fh:
                if profiler is not None:
                    profiler.enable()
                try:
                    report = await import_contacts(ContactService(session, account.id, "US"), fh, company.id)
                finally:
                    if profiler is not None:
                        profiler.disable()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        await engine.dispose()
    return {
        "wall_s": wall,
        "python_cpu_s": cpu,
        "imported": report.imported,
        "rejected": report.rejected,
        "peak_rss_mib_before": rss_before,
        "peak_rss_mib_after": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def in_process_import(url: str, csv_path: Path, profiler: cProfile.Profile | None = None) -> dict[str, Any]:
    """Time ``import_contacts`` called directly (no CLI start-up, no progress bar) on a fresh database."""
    return asyncio.run(_import_in_process(url, csv_path, profiler))


def profile_summary(profiler: cProfile.Profile, path: Path, top: int) -> str:
    """Save the profile to ``path`` and return its ``top`` functions by cumulative time."""
    profiler.dump_stats(str(path))
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(top)
    return text.getvalue()


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("nan")


def _check(label: str, expected_rejected: int, imported: int, rejected: int, db_rows: int, rows: int) -> list[str]:
    problems = []
    if rejected != expected_rejected:
        problems.append(f"{label}: rejected {rejected} rows, the CSV has {expected_rejected} bad rows")
    if imported + rejected != rows:
        problems.append(f"{label}: imported + rejected = {imported + rejected}, the CSV has {rows} rows")
    if db_rows != imported:
        problems.append(f"{label}: reported {imported} imported but the table holds {db_rows}")
    return problems


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of the import benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.api.import_csv", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--rows", type=int, default=GOAL_ROWS, help="data rows in the CSV (default 100000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated CSV")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="benchmark database (never the tests' one)")
    parser.add_argument("--timeout", type=float, default=1800, help="kill a CLI run after this many seconds")
    parser.add_argument("--repeat", type=int, default=1, help="time each import this many times (median kept)")
    parser.add_argument("--skip-in-process", action="store_true", help="time only the CLI")
    parser.add_argument("--profile", type=int, default=0, metavar="TOP", help="also cProfile an in-process run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (CSV, logs, SQLite)")
    args = parser.parse_args(argv)
    if not 1 <= args.repeat <= 20:
        parser.error("--repeat must be between 1 and 20")
    if not 1 <= args.rows <= 10_000_000:
        parser.error("--rows must be between 1 and 10000000")
    return args


def _summary(runs: list[dict[str, Any]], rows: int) -> dict[str, Any]:
    walls = sorted(r["wall_s"] for r in runs)
    median = statistics.median(walls)
    rate = _rate(rows, median)
    return {
        "median_wall_s": median,
        "best_wall_s": walls[0],
        "rows_per_s": rate,
        "goal_met": rate >= GOAL_ROWS / GOAL_SECONDS,
        "runs": runs,
    }


def time_cli(args: argparse.Namespace, work: Path, generated: GeneratedCsv, run_no: int) -> dict[str, Any]:
    """One timed CLI import on a fresh database, checked against the CSV; prints one line."""
    url = database_url(args.backend, work / "var", args.postgres_url)
    fresh_database(args.backend, url)
    cli = cli_import(url, work, generated.path, args.timeout, suffix=f"-{run_no}")
    run: ChildResult = cli.pop("process")
    db_rows = asyncio.run(count_contacts(url))
    cli.update(
        wall_s=run.wall_s,
        user_s=run.user_s,
        sys_s=run.sys_s,
        max_rss_mib=run.max_rss_mib,
        db_rows=db_rows,
        rows_per_s=_rate(args.rows, run.wall_s),
    )
    cli["problems"] = _check("cli", generated.bad_rows, cli["imported"], cli["rejected"], db_rows, args.rows)
    print(
        f"CLI  #{run_no} {args.backend:<10} wall {run.wall_s:7.2f} s  {cli['rows_per_s']:8.0f} rows/s  "
        f"imported {cli['imported']}  rejected {cli['rejected']}  "
        f"cpu user {run.user_s:.2f} s sys {run.sys_s:.2f} s  peak RSS {run.max_rss_mib:.0f} MiB  "
        f"(start-up reference: 'accounts create' {cli['accounts_create_wall_s']:.2f} s)"
    )
    return cli


def time_in_process(args: argparse.Namespace, work: Path, generated: GeneratedCsv, run_no: int) -> dict[str, Any]:
    """One timed in-process import on a fresh database, checked against the CSV; prints one line."""
    url = database_url(args.backend, work / "inproc", args.postgres_url)
    fresh_database(args.backend, url)
    inproc = in_process_import(url, generated.path)
    inproc["db_rows"] = asyncio.run(count_contacts(url))
    inproc["rows_per_s"] = _rate(args.rows, inproc["wall_s"])
    inproc["problems"] = _check(
        "in-process", generated.bad_rows, inproc["imported"], inproc["rejected"], inproc["db_rows"], args.rows
    )
    print(
        f"PROC #{run_no} {args.backend:<10} wall {inproc['wall_s']:7.2f} s  {inproc['rows_per_s']:8.0f} rows/s  "
        f"imported {inproc['imported']}  rejected {inproc['rejected']}  python cpu {inproc['python_cpu_s']:.2f} s"
    )
    return inproc


def _run(args: argparse.Namespace, work: Path) -> int:
    """Generate, import, check and report; returns the exit code."""
    result: dict[str, Any] = {"benchmark": "import_csv", "backend": args.backend, "rows": args.rows}
    result["repeat"] = args.repeat
    result["machine"] = machine()
    generated = generate_csv(work / "contacts.csv", args.rows, args.seed)
    result["csv"] = {
        "rows": generated.rows,
        "bad_rows": generated.bad_rows,
        "companies": generated.companies,
        "size_mib": generated.size_bytes / 2**20,
        "generate_s": generated.seconds,
    }
    print(
        f"CSV: {generated.rows} rows ({generated.bad_rows} bad), {generated.companies} companies, "
        f"{generated.size_bytes / 2**20:.1f} MiB, generated in {generated.seconds:.1f} s"
    )
    cli_runs: list[dict[str, Any]] = []
    proc_runs: list[dict[str, Any]] = []
    for run_no in range(1, args.repeat + 1):
        cli_runs.append(time_cli(args, work, generated, run_no))
        if not args.skip_in_process:
            proc_runs.append(time_in_process(args, work, generated, run_no))
    result["cli"] = _summary(cli_runs, args.rows)
    if proc_runs:
        result["in_process"] = _summary(proc_runs, args.rows)
        result["cli_overhead_s"] = result["cli"]["median_wall_s"] - result["in_process"]["median_wall_s"]

    if args.profile:
        url = database_url(args.backend, work / "profile", args.postgres_url)
        fresh_database(args.backend, url)
        profiler = cProfile.Profile()
        profiled = in_process_import(url, generated.path, profiler)
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        stats_path = RESULTS_DIR / f"import_csv-{args.backend}.prof"
        print(f"\nprofiled in-process run: {profiled['wall_s']:.2f} s under cProfile; stats in {stats_path}")
        print(profile_summary(profiler, stats_path, args.profile))
        result["profile"] = {"wall_s_under_profiler": profiled["wall_s"], "stats": str(stats_path)}

    goal_rate = GOAL_ROWS / GOAL_SECONDS
    result["goal"] = f"{GOAL_ROWS} rows in <= {GOAL_SECONDS:.0f} s (>= {goal_rate:.0f} rows/s)"
    problems = [p for r in cli_runs + proc_runs for p in r["problems"]]
    result["problems"] = problems
    scale = "" if args.rows == GOAL_ROWS else f"  [extrapolated from {args.rows} rows: run --rows {GOAL_ROWS}]"
    print(f"\n{args.backend}, {args.rows} rows, median of {args.repeat}; goal {result['goal']}:")
    for label, key in (("CLI (end to end)", "cli"), ("in process", "in_process")):
        if key in result:
            summary = result[key]
            verdict = "MET" if summary["goal_met"] else "NOT MET"
            print(
                f"  {label:<17} {summary['median_wall_s']:7.2f} s (best {summary['best_wall_s']:.2f} s)  "
                f"{summary['rows_per_s']:8.0f} rows/s  goal {verdict}{scale}"
            )
    if "cli_overhead_s" in result:
        print(f"  CLI overhead (start-up, progress bar): {result['cli_overhead_s']:+.2f} s")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    path = write_result(f"import_csv-{args.backend}", result)
    print(f"result: {path}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """Generate the CSV, time the CLI and in-process imports, print the figures and write the JSON result."""
    args = parse_args(argv)
    interrupt_on_sigterm()
    return run_benchmark(f"trunkline-import-{args.backend}-", args.keep, lambda work: _run(args, work))


if __name__ == "__main__":
    sys.exit(main())
