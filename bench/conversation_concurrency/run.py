"""Benchmark N concurrent conversations over real SIP calls, with zero-latency protocol servers as providers.

Run as ``python -m bench.conversation_concurrency.run --calls 10,25,50 --rounds 2``. Every call speaks the recorded
utterances in turn; the server's VAD and Smart Turn are the real local models, STT/LLM/TTS answer at once from a
local OpenAI-protocol server in another process. Reports the server's CPU per call, its event-loop lag p99,
and how many turns were answered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.model_assets import model_paths
from bench.servers import ConversationServer, ProtocolServer, caller_engine, free_port
from bench.voice_caller import percentile, piper_utterances, run_caller

RESULTS = Path(__file__).resolve().parents[1] / "results"
IDLE_S = 5.0
DIAL_GAP_S = 0.1  # calls start 100 ms apart, so greetings do not all land on the same tick


async def measure(n: int, rounds: int, models: Path, utterances: list[Any]) -> dict[str, Any]:
    """Run ``n`` calls at once and collect both sides' figures."""
    protocol = ProtocolServer()
    server = ConversationServer(free_port(), "protocol", models, protocol.base_url, max_calls=n + 10)
    try:
        engine = await caller_engine()
        try:
            # The server's cost with no call (its loop, the SIP stack's threads) is paid once, not per call.
            idle_cpu0, idle_t0 = server.cpu(), time.monotonic()
            await asyncio.sleep(IDLE_S)
            idle_pct = 100 * (server.cpu() - idle_cpu0) / (time.monotonic() - idle_t0)
            cpu0, loop0, t0 = server.cpu(), server.loop_cpu(), time.monotonic()
            tasks = []
            for i in range(n):
                uri = f"sip:bench{i}@127.0.0.1:{server.port}"
                tasks.append(asyncio.ensure_future(run_caller(engine, uri, utterances, rounds=rounds, timeout_s=300)))
                await asyncio.sleep(DIAL_GAP_S)
            results = await asyncio.gather(*tasks)
            cpu, loop_cpu, wall = server.cpu() - cpu0, server.loop_cpu() - loop0, time.monotonic() - t0
        finally:
            await engine.stop()
        for _ in range(50):  # each ended call prints its counters once its hang-up is through
            if len(server.records("CALL")) >= n:
                break
            await asyncio.sleep(0.1)
    finally:
        server.stop()
        protocol.stop()
    lag = (server.records("LAG") or [{}])[-1]
    turn_model = (server.records("SMART_TURN") or [{}])[-1]
    calls = server.records("CALL")
    caller_turns = sum(c.get("caller_turns", 0) for c in calls) or 1
    server_pct = 100 * cpu / wall
    wire = [x * 1000 for r in results for x in r.latencies_s]
    expected = n * rounds * len(utterances)
    return {
        "calls": n,
        "turns_expected": expected,
        "turns_answered": len(wire),
        "unanswered": sum(r.unanswered for r in results),
        "errors": [r.error for r in results if r.error][:5],
        "server_cpu_pct_of_core": round(server_pct, 1),
        "idle_cpu_pct_of_core": round(idle_pct, 1),
        "cpu_per_call_pct": round(server_pct / n, 2),
        "cpu_per_call_above_idle_pct": round((server_pct - idle_pct) / n, 2),
        "smart_turn_runs_per_caller_turn": round(sum(c.get("turn_checks", 0) for c in calls) / caller_turns, 2),
        "smart_turn_cpu_pct_of_core": round(100 * turn_model.get("cpu_s", float("nan")) / wall, 1),
        "event_loop_cpu_pct_of_core": round(100 * loop_cpu / wall, 1),
        "other_threads_cpu_pct_of_core": round(100 * (cpu - loop_cpu - turn_model.get("cpu_s", 0.0)) / wall, 1),
        "smart_turn_ms_per_run": round(1000 * turn_model.get("cpu_s", 0) / max(1, turn_model.get("runs", 0)), 1),
        "turns_ended_by_cap": sum(c.get("turns_capped", 0) for c in calls),
        "vad_inferences_per_call_s": round(sum(c.get("vad_inferences", 0) for c in calls) / (wall * n), 1),
        "loop_lag_p50_ms": round(lag.get("p50_ms", float("nan")), 2),
        "loop_lag_p99_ms": round(lag.get("p99_ms", float("nan")), 2),
        "reply_p50_ms": (percentile(wire, 50)),
        "reply_p90_ms": (percentile(wire, 90)),
    }


def main() -> None:
    """Parse arguments, run each N, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="10,25,50")
    parser.add_argument("--rounds", type=int, default=1, help="times each call goes through the utterances")
    parser.add_argument("--utterances", type=int, default=6)
    parser.add_argument("--models", default="~/.cache/trunkline-test-models")
    args = parser.parse_args()
    models = Path(args.models).expanduser()
    utterances = piper_utterances(model_paths(models).piper_model)[: args.utterances]
    rows = []
    for n in (int(x) for x in args.calls.split(",")):
        row = asyncio.run(measure(n, args.rounds, models, utterances))
        print(json.dumps(row), flush=True)
        rows.append(row)
    machine = f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores"
    RESULTS.mkdir(exist_ok=True)
    out = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine, "rows": rows}
    (RESULTS / "conversation_concurrency.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
