"""The speech-to-text, language-model and text-to-speech providers an assistant can choose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LlmProviderName = Literal["local", "openai", "openai-compatible", "anthropic", "gemini", "deepseek", "qwen", "kimi"]
TtsProviderName = Literal["piper", "openai", "elevenlabs", "cartesia"]
SttProviderName = Literal["faster-whisper", "openai", "deepgram"]


@dataclass(frozen=True)
class ProviderInfo:
    """What the API needs to know about a provider before the conversation engine uses it."""

    name: str
    default_model: str
    runs_locally: bool = False
    needs_base_url: bool = False
    base_url: str | None = None


LLM_PROVIDERS: dict[str, ProviderInfo] = {
    p.name: p
    for p in (
        ProviderInfo("local", "smollm2-135m-instruct", runs_locally=True),
        ProviderInfo("openai", "gpt-4o-mini"),
        ProviderInfo("openai-compatible", "", needs_base_url=True),
        ProviderInfo("anthropic", "claude-3-5-haiku-latest"),
        # Gemini, DeepSeek, Qwen and Kimi speak the OpenAI chat protocol at these documented endpoints.
        ProviderInfo("gemini", "gemini-2.0-flash", base_url="https://generativelanguage.googleapis.com/v1beta/openai/"),
        ProviderInfo("deepseek", "deepseek-chat", base_url="https://api.deepseek.com/v1"),
        ProviderInfo("qwen", "qwen-plus", base_url="https://dashscope-intl.aliyuncs.com/compatible-mode/v1"),
        ProviderInfo("kimi", "moonshot-v1-8k", base_url="https://api.moonshot.ai/v1"),
    )
}
TTS_PROVIDERS: dict[str, ProviderInfo] = {
    p.name: p
    for p in (
        ProviderInfo("piper", "en_US-joe-medium", runs_locally=True),
        ProviderInfo("openai", "gpt-4o-mini-tts"),
        ProviderInfo("elevenlabs", "eleven_flash_v2_5"),
        ProviderInfo("cartesia", "sonic-2"),
    )
}
STT_PROVIDERS: dict[str, ProviderInfo] = {
    p.name: p
    for p in (
        ProviderInfo("faster-whisper", "base", runs_locally=True),
        ProviderInfo("openai", "gpt-4o-mini-transcribe"),
        ProviderInfo("deepgram", "nova-3"),
    )
}
