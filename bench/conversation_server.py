"""The voice benchmarks' server: a SipEngine that answers every call with a conversation.

Run as ``python -m bench.conversation_server --port P --providers local|protocol [--endpoint URL]``. Providers
``local`` are whisper + SmolLM2 + Piper from ``--models``; ``protocol`` are the OpenAI STT, chat and speech APIs at
``--endpoint`` (the zero-latency local protocol server). Prints ``READY`` once listening, one ``TIMING {json}`` per
reply, one ``CALL {json}`` per ended call, and ``LAG {json}`` (event-loop lag percentiles) when stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import signal
import sys
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import numpy as np

from agents.conversation import Conversation, ConversationSettings, Providers, TurnTiming
from agents.model_assets import model_paths
from agents.providers import LocalModels, ProviderAccess, build_llm, build_stt, build_tts
from media.session import MediaSession
from sip_engine.calls import SipCall
from sip_engine.engine import EngineConfig, SipEngine
from sip_engine.screening import InboundOffer

GREETING = "Hello, thanks for calling. How can I help you today?"
PROMPT = "You are a helpful receptionist on the phone. Answer in one short sentence."


def emit(kind: str, payload: dict[str, object]) -> None:
    """Print one result line for the runner."""
    sys.stdout.write(f"{kind} {json.dumps(payload)}\n")
    sys.stdout.flush()


class Events:
    """Counts one call's turns and prints its reply timings."""

    def __init__(self) -> None:
        self.user_turns = 0
        self.agent_turns = 0

    async def turn(self, role: str, text: str, started_at: datetime, ended_at: datetime, interrupted: bool) -> None:
        """Count a turn."""
        if role == "user":
            self.user_turns += 1
        else:
            self.agent_turns += 1

    async def opt_out(self) -> None:
        """Not expected in the benchmark."""

    def timing(self, timing: TurnTiming) -> None:
        """Print the reply's latency breakdown."""
        emit("TIMING", asdict(timing))


async def build_providers(kind: str, local: LocalModels, endpoint: str | None) -> Providers:
    """The providers of every benchmark call."""
    if kind == "local":
        stt_layer, llm_layer, tts_layer = (
            {"provider": "faster-whisper"},
            {"provider": "local", "max_tokens": 60},
            {"provider": "piper"},
        )
        access = ProviderAccess()
    else:
        stt_layer, llm_layer, tts_layer = {"provider": "openai"}, {"provider": "openai"}, {"provider": "openai"}
        access = ProviderAccess(keys={"openai": "bench-key"}, endpoints={"openai": str(endpoint)})
    return Providers(
        stt=await build_stt(stt_layer, access, local),
        llm=await build_llm(llm_layer, access, local),
        tts=await build_tts(tts_layer, access, local),
        vad=await local.vad(),
        smart_turn=await local.smart_turn(),
    )


async def lag_monitor(samples: list[float]) -> None:
    """Measure how late a 10 ms sleep wakes up, all the time."""
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(0.01)
        samples.append(max(0.0, loop.time() - start - 0.01))


async def serve(args: argparse.Namespace) -> None:
    """Answer calls until SIGTERM."""
    local = LocalModels(model_paths(Path(args.models)))
    await local.vad()
    await local.smart_turn()
    if args.providers == "local":
        await local.preload()
    providers = await build_providers(args.providers, local, args.endpoint)

    async def on_call(call: SipCall) -> None:
        events = Events()
        media: MediaSession | None = None
        conversation: Conversation | None = None
        error = None
        try:
            await call.answer()
            media = MediaSession(call)
            settings = ConversationSettings(system_prompt=PROMPT, first_message=GREETING, silence_timeout_s=120)
            conversation = Conversation(settings, providers, events)
            await conversation.run(media, call)
        except Exception as exc:  # one broken call must not take the benchmark server down
            error = f"{type(exc).__name__}: {exc}"
        finally:
            await call.hangup()
        stats = asdict(media.stats) if media is not None else {}
        if conversation is not None:
            stats |= asdict(conversation.stats)
        emit("CALL", {"user_turns": events.user_turns, "agent_turns": events.agent_turns, **stats, "error": error})

    def router(offer: InboundOffer) -> str:
        return offer.dialled

    engine = SipEngine(
        EngineConfig(host="127.0.0.1", port=args.port, max_concurrent_calls=args.max_calls), router, on_call
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    lags: list[float] = []
    await engine.start()
    emit("READY", {"pid": os.getpid()})
    monitor = asyncio.ensure_future(lag_monitor(lags))
    try:
        await stop.wait()
    finally:
        monitor.cancel()
        await asyncio.wait_for(engine.stop(), 15)
        values = np.array(lags or [0.0]) * 1000
        emit("LAG", {"p50_ms": float(np.percentile(values, 50)), "p99_ms": float(np.percentile(values, 99))})
        turn_model = await local.smart_turn()
        emit("SMART_TURN", {"runs": turn_model.runs, "cpu_s": turn_model.cpu_s})


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--providers", choices=("local", "protocol"), default="local")
    parser.add_argument("--endpoint", help="base URL of the OpenAI-protocol server (providers=protocol)")
    parser.add_argument("--models", default=str(Path("~/.cache/trunkline-test-models").expanduser()))
    parser.add_argument("--max-calls", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    profile_to = os.environ.get("TRUNKLINE_BENCH_PROFILE")
    if not profile_to:
        asyncio.run(serve(args))
        return
    # The event loop's own CPU, function by function (thread time, so waiting for the CPU is not counted).
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    try:
        asyncio.run(serve(args))
    finally:
        profiler.disable()
        profiler.dump_stats(profile_to)


if __name__ == "__main__":
    main()
