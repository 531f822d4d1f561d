"""Local language model: SmolLM2-135M-Instruct (GGUF) through llama-cpp-python."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from llama_cpp import Llama

from agents.inference import ModelWorker
from agents.llm.base import LanguageModel, LlmError, LlmEvent, Message, TextDelta, ToolDefinition

_DONE = object()
# The model runs at most this many tokens ahead of the reply being spoken. While the first sentence is being
# synthesised, generating the rest only slows text-to-speech down on a small machine (both want every core), so
# the thread waits and Piper gets the cores for the sentence the caller is waiting for.
_TOKENS_AHEAD = 6
# How long the thread waits for the reader before it generates on regardless: one model thread serves every call,
# so a stalled reader must not hold the others up.
_READER_WAIT_S = 1.0


class LlamaModelHost:
    """One loaded GGUF model and the thread it runs on, shared by every call that uses it."""

    def __init__(self, gguf: Path, n_ctx: int = 2048, threads: int = 2) -> None:
        self.llama = Llama(model_path=str(gguf), n_ctx=n_ctx, n_threads=threads, verbose=False)
        self.worker = ModelWorker("llama")


class LlamaCppLanguageModel(LanguageModel):
    """Stream chat replies from the local model; it has no usable tool calling, so tools are not offered to it."""

    def __init__(self, *, host: LlamaModelHost, temperature: float = 0.6, max_tokens: int = 200) -> None:
        self._host = host
        self._temperature = temperature
        self._max_tokens = max_tokens

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition] = ()
    ) -> AsyncIterator[LlmEvent]:
        """Stream text deltas produced on the model's thread; stopping early stops generation."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        ahead = threading.Semaphore(_TOKENS_AHEAD)
        chat = [{"role": m["role"], "content": m.get("content") or ""} for m in messages if m["role"] != "tool"]

        def generate() -> None:
            try:
                for chunk in self._host.llama.create_chat_completion(
                    messages=chat, stream=True, temperature=self._temperature, max_tokens=self._max_tokens
                ):
                    if stop.is_set():
                        break
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        ahead.acquire(timeout=_READER_WAIT_S)
                        loop.call_soon_threadsafe(queue.put_nowait, text)
            except Exception as exc:  # the thread must always report back, whatever llama.cpp raised
                loop.call_soon_threadsafe(queue.put_nowait, LlmError(f"local model failed: {exc}"))
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        done = self._host.worker.submit(generate)
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, LlmError):
                    raise item
                yield TextDelta(item)
                ahead.release()
        finally:
            stop.set()
            ahead.release(_TOKENS_AHEAD)  # a thread waiting for the reader sees the stop at once
            await asyncio.shield(done)
