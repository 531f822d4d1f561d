"""Off-loop workers for CPU-heavy inference, so whisper, Piper, llama.cpp and Smart Turn never stall call audio."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class ModelWorker:
    """One thread that runs one model's calls in order; the native code releases the GIL while it works."""

    def __init__(self, name: str) -> None:
        # One thread per model, not per call: the local models are not re-entrant (llama.cpp, Piper) or already
        # use every core on their own (CTranslate2), so queueing calls is both safe and as fast as it gets.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"model-{name}")

    async def run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``fn`` on this model's thread and wait for its result without blocking the event loop."""
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self._pool, lambda: ctx.run(fn, *args, **kwargs))

    def submit(self, fn: Callable[[], R]) -> asyncio.Future[R]:
        """Start ``fn`` on this model's thread and return an asyncio future for its result."""
        return asyncio.wrap_future(self._pool.submit(fn))

    def shutdown(self) -> None:
        """Stop the thread once queued work is done."""
        self._pool.shutdown(wait=False, cancel_futures=True)
