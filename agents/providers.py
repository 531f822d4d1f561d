"""Build an assistant's speech-to-text, language model and text-to-speech from its layers.

Local engines are loaded once per process (``LocalModels``) and shared by every call; cloud providers get the
account's key and the provider's base URL (a node may point a provider at another endpoint, e.g. a proxy).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.catalogue import LLM_PROVIDERS, STT_PROVIDERS, TTS_PROVIDERS
from agents.clients import SharedClients
from agents.llm.base import LanguageModel
from agents.model_assets import ModelPaths
from agents.stt.base import SpeechToText
from agents.tts.base import TextToSpeech
from agents.turn.smart_turn import SmartTurn
from agents.turn.vad import SileroModel

DEFAULT_ENDPOINTS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "deepgram": "wss://api.deepgram.com",
    "elevenlabs": "https://api.elevenlabs.io",
    "cartesia": "https://api.cartesia.ai",
}


class ProviderUnavailable(Exception):
    """An assistant's provider cannot be built: no key for it, no endpoint, or local models not assembled."""


@dataclass(frozen=True)
class ProviderAccess:
    """How this node reaches cloud providers for one account: its decrypted keys and endpoint overrides."""

    keys: Mapping[str, str] = field(default_factory=dict)
    endpoints: Mapping[str, str] = field(default_factory=dict)
    clients: SharedClients | None = None
    """The process's shared HTTP clients; without them each provider makes its own."""

    def endpoint(self, provider: str) -> str:
        """The base URL to use for ``provider``: the node's override, the catalogue's, or the default."""
        info = LLM_PROVIDERS.get(provider)
        url = self.endpoints.get(provider) or (info.base_url if info else None) or DEFAULT_ENDPOINTS.get(provider)
        if not url:
            raise ProviderUnavailable(f"no endpoint configured for provider {provider!r}")
        return url

    def key(self, provider: str, required: bool = True) -> str | None:
        """The account's key for ``provider``; a missing required key is an error naming the provider."""
        key = self.keys.get(provider)
        if required and not key:
            raise ProviderUnavailable(
                f"no API key stored for provider {provider!r} (PUT /api/provider-keys/{provider})"
            )
        return key


class LocalModels:
    """The local engines of this process, each loaded on first use off the event loop and then shared."""

    def __init__(self, paths: ModelPaths, cpu_threads: int = 2) -> None:
        self.paths = paths
        self.cpu_threads = cpu_threads
        self._loaded: dict[str, Any] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def _get(self, name: str, path: Path, load: Any) -> Any:
        if name in self._loaded:
            return self._loaded[name]
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            if name not in self._loaded:
                if not await asyncio.to_thread(path.exists):
                    raise ProviderUnavailable(f"local model {name} is not assembled at {path} (run `trunkline models`)")
                self._loaded[name] = await asyncio.to_thread(load)
        return self._loaded[name]

    async def vad(self) -> SileroModel:
        """The shared Silero VAD model."""
        return await self._get("vad", self.paths.silero_vad, lambda: SileroModel(self.paths.silero_vad))

    async def smart_turn(self) -> SmartTurn:
        """The shared Smart Turn v3 model."""
        return await self._get("smart-turn", self.paths.smart_turn, lambda: SmartTurn(self.paths.smart_turn))

    async def whisper(self) -> Any:
        """The shared whisper model host."""
        from agents.stt.faster_whisper import WhisperModelHost

        return await self._get(
            "whisper",
            self.paths.whisper_dir / "model.bin",
            lambda: WhisperModelHost(self.paths.whisper_dir, self.cpu_threads),
        )

    async def piper(self) -> Any:
        """The shared Piper voice host."""
        from agents.tts.piper import PiperVoiceHost

        return await self._get("piper", self.paths.piper_model, lambda: PiperVoiceHost(self.paths.piper_model))

    async def llama(self) -> Any:
        """The shared llama.cpp model host."""
        from agents.llm.llama_cpp import LlamaModelHost

        return await self._get(
            "llama", self.paths.llm_gguf, lambda: LlamaModelHost(self.paths.llm_gguf, threads=self.cpu_threads)
        )

    async def preload(self) -> None:
        """Load every local engine now, so the first call does not wait for them."""
        for load in (self.vad, self.smart_turn, self.whisper, self.piper, self.llama):
            await load()


def _model(layer: Mapping[str, Any], catalogue: Mapping[str, Any]) -> str:
    return str(layer.get("model") or catalogue[layer["provider"]].default_model)


async def build_stt(layer: Mapping[str, Any], access: ProviderAccess, local: LocalModels) -> SpeechToText:
    """The speech-to-text an assistant's transcriber layer asks for."""
    provider, language = layer["provider"], str(layer.get("language") or "en")
    if provider == "faster-whisper":
        from agents.stt.faster_whisper import FasterWhisperSpeechToText

        return FasterWhisperSpeechToText(host=await local.whisper(), language=language)
    if provider == "openai":
        from agents.stt.openai import OpenAISpeechToText

        return OpenAISpeechToText(
            api_key=access.key("openai"),
            base_url=access.endpoint("openai"),
            model=_model(layer, STT_PROVIDERS),
            language=language,
            clients=access.clients,
        )
    if provider == "deepgram":
        from agents.stt.deepgram import DeepgramSpeechToText

        return DeepgramSpeechToText(
            api_key=str(access.key("deepgram")),
            base_url=access.endpoint("deepgram"),
            model=_model(layer, STT_PROVIDERS),
            language=language,
        )
    raise ProviderUnavailable(f"unknown transcriber provider {provider!r}")


async def build_llm(layer: Mapping[str, Any], access: ProviderAccess, local: LocalModels) -> LanguageModel:
    """The language model an assistant's LLM layer asks for."""
    provider = layer["provider"]
    temperature = float(layer.get("temperature", 0.6))
    max_tokens = int(layer.get("max_tokens", 200))
    if provider == "local":
        from agents.llm.llama_cpp import LlamaCppLanguageModel

        return LlamaCppLanguageModel(host=await local.llama(), temperature=temperature, max_tokens=max_tokens)
    if provider == "anthropic":
        from agents.llm.anthropic import AnthropicLanguageModel

        return AnthropicLanguageModel(
            api_key=str(access.key("anthropic")),
            base_url=access.endpoint("anthropic"),
            model=_model(layer, LLM_PROVIDERS),
            temperature=temperature,
            max_tokens=max_tokens,
            clients=access.clients,
        )
    if provider in LLM_PROVIDERS:
        from agents.llm.openai import OpenAILanguageModel

        # Everything else speaks the OpenAI chat protocol; a layer's own base URL wins (openai-compatible).
        base_url = layer.get("base_url") or access.endpoint(provider)
        return OpenAILanguageModel(
            api_key=access.key(provider, required=provider != "openai-compatible"),
            base_url=str(base_url),
            model=_model(layer, LLM_PROVIDERS),
            temperature=temperature,
            max_tokens=max_tokens,
            clients=access.clients,
        )
    raise ProviderUnavailable(f"unknown LLM provider {provider!r}")


async def build_tts(layer: Mapping[str, Any], access: ProviderAccess, local: LocalModels) -> TextToSpeech:
    """The text-to-speech an assistant's voice layer asks for."""
    provider, speed = layer["provider"], float(layer.get("speed", 1.0))
    voice = str(layer.get("voice") or "")
    if provider == "piper":
        from agents.tts.piper import PiperTextToSpeech

        return PiperTextToSpeech(host=await local.piper(), speed=speed)
    model = str(layer.get("model") or TTS_PROVIDERS[provider].default_model) if provider in TTS_PROVIDERS else ""
    if provider == "openai":
        from agents.tts.openai import OpenAITextToSpeech

        return OpenAITextToSpeech(
            api_key=access.key("openai"),
            base_url=access.endpoint("openai"),
            model=model,
            voice=voice or "alloy",
            speed=speed,
            clients=access.clients,
        )
    if provider == "elevenlabs":
        from agents.tts.elevenlabs import ElevenLabsTextToSpeech

        return ElevenLabsTextToSpeech(
            api_key=str(access.key("elevenlabs")),
            base_url=access.endpoint("elevenlabs"),
            model=model,
            voice=voice or "21m00Tcm4TlvDq8ikWAM",
            speed=speed,
            clients=access.clients,
        )
    if provider == "cartesia":
        from agents.tts.cartesia import CartesiaTextToSpeech

        return CartesiaTextToSpeech(
            api_key=str(access.key("cartesia")),
            base_url=access.endpoint("cartesia"),
            model=model,
            voice=voice,
            speed=speed,
            clients=access.clients,
        )
    raise ProviderUnavailable(f"unknown voice provider {provider!r}")
