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
        finally:
            stop.set()
            await asyncio.shield(done)
