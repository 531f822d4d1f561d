"""Benchmark the time from the end of the caller's speech to the agent's first audio on the wire.

Run as ``python -m bench.voice_latency.run --providers local`` (whisper + SmolLM2 + Piper) or ``--providers
protocol`` (zero-latency local OpenAI-protocol servers: what is left is the engine's own overhead and the
turn-detection wait). A real SIP call carries 24 recorded utterances (Piper's voice and espeak-ng's); the server
reports each reply's breakdown: turn detection, STT, LLM first sentence, TTS first audio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.model_assets import model_paths
from bench.conversation_server import GREETING
from bench.servers import ConversationServer, ProtocolServer, caller_engine, free_port
from bench.voice_caller import espeak_utterances, percentile, piper_utterances, run_caller

RESULTS = Path(__file__).resolve().parents[1] / "results"


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run one call through every utterance and collect both sides' figures."""
    models = Path(args.models)
    utterances = piper_utterances(model_paths(models).piper_model) + espeak_utterances()
    protocol = ProtocolServer() if args.providers == "protocol" else None
    server = ConversationServer(free_port(), args.providers, models, protocol.base_url if protocol else None)
    try:
        engine = await caller_engine()
        try:
            result = await run_caller(engine, f"sip:bench@127.0.0.1:{server.port}", utterances, timeout_s=900)
        finally:
            await engine.stop()
    finally:
        server.stop()
        if protocol is not None:
            protocol.stop()
    timings = server.timings

    def stage(name: str) -> dict[str, float]:
        values = [t[name] * 1000 for t in timings]
        return {"p50_ms": (percentile(values, 50)), "p90_ms": (percentile(values, 90))}

    wire = [x * 1000 for x in result.latencies_s]
    return {
        "providers": args.providers,
        "utterances": len(utterances),
        "answered": len(wire),
        "unanswered": result.unanswered,
        "error": result.error,
        "wire_p50_ms": (percentile(wire, 50)),
        "wire_p90_ms": (percentile(wire, 90)),
        "turn_detected": stage("turn_detected"),
        "transcript_ready": stage("transcript_ready"),
        "first_sentence": stage("first_sentence"),
        "first_audio": stage("first_audio"),
        "server_calls": server.records("CALL"),
        "greeting": GREETING,
    }


def main() -> None:
    """Parse arguments, run, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", choices=("local", "protocol"), default="local")
    parser.add_argument("--models", default="~/.cache/trunkline-test-models")
    args = parser.parse_args()
    args.models = os.path.expanduser(args.models)
    figures = asyncio.run(measure(args))
    figures["machine"] = f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    figures["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(json.dumps(figures, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"voice_latency-{args.providers}.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
