"""The benchmark's server: a SipEngine that answers every call and echoes its audio until the call ends.

Run as ``python -m bench.sip_concurrency.server --port P --max-calls 200``. It prints ``READY`` once listening
and, for every call that ends, one ``STATS {json}`` line with that call's media counters; SIGTERM or SIGINT stop
the engine cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from dataclasses import asdict

from media.handlers.echo import EchoHandler
from media.session import MediaSession
from sip_engine.calls import SipCall
from sip_engine.engine import EngineConfig, SipEngine
from sip_engine.screening import InboundOffer

log = logging.getLogger("bench.sip_concurrency.server")


def _emit(kind: str, payload: dict[str, object]) -> None:
    sys.stdout.write(f"{kind} {json.dumps(payload)}\n")
    sys.stdout.flush()


async def _echo_call(call: SipCall) -> None:
    """Answer, echo until the far end hangs up, then report the call's media counters."""
    error = None
    media: MediaSession | None = None
    try:
        await call.answer()
        media = MediaSession(call)
        await EchoHandler().run(media, call)
    except Exception as exc:  # one broken call must not take the benchmark server down
        error = f"{type(exc).__name__}: {exc}"
    finally:
        await call.hangup()
    stats = asdict(media.stats) if media is not None else {}
    _emit("STATS", {"dialled": str(call.route), **stats, "error": error})


async def serve(port: int, max_calls: int) -> None:
    """Run the echo engine on 127.0.0.1:``port`` until SIGTERM/SIGINT."""

    def router(offer: InboundOffer) -> str:
        return offer.dialled  # every DID is taken; the route carries the number for the STATS line

    engine = SipEngine(EngineConfig(host="127.0.0.1", port=port, max_concurrent_calls=max_calls), router, _echo_call)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await engine.start()
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await asyncio.wait_for(engine.stop(), 15)


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-calls", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(serve(args.port, args.max_calls))


if __name__ == "__main__":
    main()
