"""Cloud provider plug-ins against local stand-ins that speak each provider's documented wire protocol."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

import pytest

from agents.clients import NO_KEY, SharedClients
from agents.llm.anthropic import CALL_STARTED, AnthropicLanguageModel, to_anthropic_messages
from agents.llm.base import LlmError, TextDelta, ToolCall, ToolDefinition
from agents.llm.openai import OpenAILanguageModel
from agents.stt.base import SttError
from agents.stt.deepgram import DeepgramSpeechToText
from agents.stt.openai import OpenAISpeechToText
from agents.tts.base import TextToSpeech, TtsError
from agents.tts.cartesia import CartesiaTextToSpeech
from agents.tts.elevenlabs import ElevenLabsTextToSpeech
from agents.tts.openai import OpenAITextToSpeech
from tests.peers.cloud import serve, tone
from tests.peers.cloud.anthropic_server import AnthropicServer, ScriptedToolUse
from tests.peers.cloud.cartesia_server import CartesiaServer
from tests.peers.cloud.deepgram_server import DeepgramServer
from tests.peers.cloud.elevenlabs_server import ElevenLabsServer
from tests.peers.cloud.openai_server import OpenAIServer, ScriptedToolCall
from tests.peers.ports import free_tcp_port

T = TypeVar("T")
WRONG_KEY = "sk-wrong-0123456789abcdef"
HISTORY = [
    {"role": "system", "content": "You are the front desk of a dental practice."},
    {"role": "assistant", "content": "Thanks for calling, how can I help?"},
    {"role": "user", "content": "I'd like to book a cleaning."},
]
BOOK = ToolDefinition(
    name="book_appointment",
    description="Book an appointment slot.",
    parameters={"type": "object", "properties": {"day": {"type": "string"}, "hour": {"type": "integer"}}},
)
CALLER_AUDIO = tone(16000, 0.6, frequency_hz=300.0)


async def collect(stream: AsyncIterator[T]) -> list[T]:
    """Drain an async iterator into a list."""
    return [item async for item in stream]


@pytest.fixture
def dead_url() -> str:
    """A loopback URL nothing listens on."""
    return f"http://127.0.0.1:{free_tcp_port()}"


@pytest.fixture
def openai_server() -> Iterator[tuple[OpenAIServer, str]]:
    """A running OpenAI stand-in and its base URL."""
    server = OpenAIServer()
    with serve(server.app()) as url:
        yield server, url


@pytest.fixture
def anthropic_server() -> Iterator[tuple[AnthropicServer, str]]:
    """A running Anthropic stand-in and its base URL."""
    server = AnthropicServer()
    with serve(server.app()) as url:
        yield server, url


@pytest.fixture
def deepgram_server() -> Iterator[tuple[DeepgramServer, str]]:
    """A running Deepgram stand-in and its ``ws://`` base URL."""
    server = DeepgramServer()
    with serve(server.app()) as url:
        yield server, url.replace("http://", "ws://")


@pytest.fixture
def elevenlabs_server() -> Iterator[tuple[ElevenLabsServer, str]]:
    """A running ElevenLabs stand-in and its base URL."""
    server = ElevenLabsServer()
    with serve(server.app()) as url:
        yield server, url


@pytest.fixture
def cartesia_server() -> Iterator[tuple[CartesiaServer, str]]:
    """A running Cartesia stand-in and its base URL."""
    server = CartesiaServer()
    with serve(server.app()) as url:
        yield server, url


# --- OpenAI-compatible chat completions ---------------------------------------------------------------------------


async def test_openai_llm_streams_text_deltas_in_order(openai_server: tuple[OpenAIServer, str]) -> None:
    """Content deltas arrive in order, and the request carries model, sampling settings, history and the key."""
    server, url = openai_server
    server.reply_chunks = ["Sure", ", what", " day suits", " you?"]
    model = OpenAILanguageModel(
        api_key=server.api_key, base_url=url, model="gpt-4o-mini", temperature=0.2, max_tokens=77
    )
    try:
        events = await collect(model.stream(HISTORY))
    finally:
        await model.aclose()
    assert events == [TextDelta("Sure"), TextDelta(", what"), TextDelta(" day suits"), TextDelta(" you?")]
    (seen,) = server.requests
    assert seen.path == "/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {server.api_key}"
    assert seen.json["model"] == "gpt-4o-mini"
    assert seen.json["stream"] is True
    assert seen.json["temperature"] == 0.2
    assert seen.json["max_tokens"] == 77
    assert seen.json["messages"] == HISTORY
    assert "tools" not in seen.json


async def test_calls_share_one_client_per_endpoint_and_key(
    openai_server: tuple[OpenAIServer, str], elevenlabs_server: tuple[ElevenLabsServer, str]
) -> None:
    """Two calls' providers borrow the same clients; one call ending leaves the other's working; a new key gets
    its own client; closing the pool closes them all."""
    server, url = openai_server
    server.reply_chunks = ["Hello."]
    voices, voice_url = elevenlabs_server
    clients = SharedClients()
    first, second = (
        OpenAILanguageModel(api_key=server.api_key, base_url=url, model="gpt-4o-mini", clients=clients)
        for _ in range(2)
    )
    speech = [
        ElevenLabsTextToSpeech(api_key=voices.api_key, base_url=voice_url, voice="v1", clients=clients)
        for _ in range(2)
    ]
    other_key = OpenAILanguageModel(api_key="another-key", base_url=url, model="gpt-4o-mini", clients=clients)
    assert first._endpoint.client is second._endpoint.client
    assert speech[0]._client is speech[1]._client
    assert other_key._endpoint.client is not first._endpoint.client
    assert await collect(first.stream(HISTORY)) == [TextDelta("Hello.")]
    await first.aclose()  # the first call ends
    await speech[0].aclose()
    assert await collect(second.stream(HISTORY)) == [TextDelta("Hello.")]
    assert b"".join(await collect(speech[1].synthesize("Hi."))), "the second call's voice still speaks"
    shared_openai, shared_http = second._endpoint.client, speech[1]._client
    await clients.aclose()
    assert shared_openai.is_closed() and shared_http.is_closed


async def test_openai_llm_assembles_tool_calls_after_the_text(openai_server: tuple[OpenAIServer, str]) -> None:
    """Tool-call fragments become whole ToolCalls with their JSON arguments, after every text delta."""
    server, url = openai_server
    server.reply = "Let me book that."
    server.tool_calls = [
        ScriptedToolCall("book_appointment", '{"day": "Tuesday", "hour": 10}', id="call_a"),
        ScriptedToolCall("end_call", "", id="call_b"),
    ]
    model = OpenAILanguageModel(api_key=server.api_key, base_url=url, model="gpt-4o-mini")
    try:
        events = await collect(model.stream(HISTORY, [BOOK]))
    finally:
        await model.aclose()
    text = [event for event in events if isinstance(event, TextDelta)]
    calls = [event for event in events if isinstance(event, ToolCall)]
    assert "".join(event.text for event in text) == "Let me book that."
    assert events[-2:] == calls, "tool calls come after every text delta"
    assert calls == [
        ToolCall(id="call_a", name="book_appointment", arguments='{"day": "Tuesday", "hour": 10}'),
        ToolCall(id="call_b", name="end_call", arguments="{}"),
    ]
    assert json.loads(calls[0].arguments) == {"day": "Tuesday", "hour": 10}
    assert server.requests[0].json["tools"] == [
        {
            "type": "function",
            "function": {"name": BOOK.name, "description": BOOK.description, "parameters": BOOK.parameters},
        }
    ]


async def test_openai_llm_without_key_sends_a_placeholder_not_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a key a placeholder is sent, never OPENAI_API_KEY from the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    server = OpenAIServer(api_key=None, reply="Hi.")
    with serve(server.app()) as url:
        model = OpenAILanguageModel(api_key=None, base_url=url, model="llama3.2")
        try:
            events = await collect(model.stream(HISTORY))
        finally:
            await model.aclose()
    assert events == [TextDelta("Hi.")]
    assert server.requests[0].headers["authorization"] == f"Bearer {NO_KEY}"


async def test_openai_llm_wrong_key_is_an_llm_error_without_the_key(openai_server: tuple[OpenAIServer, str]) -> None:
    """A rejected key is an LlmError naming the status and the provider's message, not the key."""
    _, url = openai_server
    model = OpenAILanguageModel(api_key=WRONG_KEY, base_url=url, model="gpt-4o-mini")
    try:
        with pytest.raises(LlmError) as caught:
            await collect(model.stream(HISTORY))
    finally:
        await model.aclose()
    message = str(caught.value)
    assert "401" in message and "Incorrect API key" in message
    assert WRONG_KEY not in message


async def test_openai_llm_unreachable_server_is_an_llm_error(dead_url: str) -> None:
    """Nothing listening is an LlmError."""
    model = OpenAILanguageModel(api_key="sk-x", base_url=dead_url, model="gpt-4o-mini")
    try:
        with pytest.raises(LlmError, match="cannot reach"):
            await collect(model.stream(HISTORY))
    finally:
        await model.aclose()


async def test_openai_llm_reader_may_stop_early(openai_server: tuple[OpenAIServer, str]) -> None:
    """A reader that stops early (barge-in) leaves the client usable for the next reply."""
    server, url = openai_server
    server.reply = "one two three four five six"
    model = OpenAILanguageModel(api_key=server.api_key, base_url=url, model="gpt-4o-mini")
    try:
        stream = model.stream(HISTORY)
        first = await anext(stream)
        await stream.aclose()  # type: ignore[attr-defined]
        again = await collect(model.stream(HISTORY))
    finally:
        await model.aclose()
    assert first == TextDelta("one")
    assert "".join(event.text for event in again if isinstance(event, TextDelta)) == server.reply


# --- Anthropic Messages ----------------------------------------------------------------------------------------------


async def test_anthropic_streams_text_and_converts_the_history(anthropic_server: tuple[AnthropicServer, str]) -> None:
    """Text deltas arrive in order; system goes on top and an assistant-first history gets a user turn."""
    server, url = anthropic_server
    server.reply_chunks = ["Of course", ", which", " day?"]
    model = AnthropicLanguageModel(api_key=server.api_key, base_url=url, model="claude-haiku-4-5", max_tokens=64)
    try:
        events = await collect(model.stream(HISTORY))
    finally:
        await model.aclose()
    assert events == [TextDelta("Of course"), TextDelta(", which"), TextDelta(" day?")]
    (seen,) = server.requests
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == server.api_key
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.json["model"] == "claude-haiku-4-5"
    assert seen.json["max_tokens"] == 64
    assert seen.json["temperature"] == 0.6
    assert seen.json["stream"] is True
    assert seen.json["system"] == HISTORY[0]["content"]
    assert seen.json["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": CALL_STARTED}]},
        {"role": "assistant", "content": [{"type": "text", "text": HISTORY[1]["content"]}]},
        {"role": "user", "content": [{"type": "text", "text": HISTORY[2]["content"]}]},
    ]


async def test_anthropic_assembles_tool_use_and_round_trips_tool_results(
    anthropic_server: tuple[AnthropicServer, str],
) -> None:
    """tool_use blocks become ToolCalls; tool calls and results of the history become tool_use and tool_result."""
    server, url = anthropic_server
    server.reply = "Booking it now."
    server.tool_uses = [
        ScriptedToolUse("book_appointment", '{"day": "Tuesday", "hour": 10}', id="toolu_1"),
        ScriptedToolUse("end_call", "", id="toolu_2"),
    ]
    history = [
        *HISTORY,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "toolu_0",
                    "type": "function",
                    "function": {"name": "check_slots", "arguments": '{"day": "Tue"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_0", "content": "10:00 and 14:00 are free"},
        {"role": "user", "content": "Ten please."},
    ]
    model = AnthropicLanguageModel(api_key=server.api_key, base_url=url + "/v1", model="claude-haiku-4-5")
    try:
        events = await collect(model.stream(history, [BOOK]))
    finally:
        await model.aclose()
    assert "".join(event.text for event in events if isinstance(event, TextDelta)) == "Booking it now."
    assert events[-2:] == [
        ToolCall(id="toolu_1", name="book_appointment", arguments='{"day": "Tuesday", "hour": 10}'),
        ToolCall(id="toolu_2", name="end_call", arguments="{}"),
    ]
    sent = server.requests[0].json
    assert sent["tools"] == [{"name": BOOK.name, "description": BOOK.description, "input_schema": BOOK.parameters}]
    assert sent["messages"][-2:] == [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_0", "name": "check_slots", "input": {"day": "Tue"}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_0", "content": "10:00 and 14:00 are free"},
                {"type": "text", "text": "Ten please."},
            ],
        },
    ]


def test_anthropic_history_conversion_merges_roles_and_keeps_system_on_top() -> None:
    """Consecutive turns of one role merge, every system message joins ``system``, empty turns vanish."""
    system, turns = to_anthropic_messages(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"},
            {"role": "user", "content": [{"type": "text", "text": "Anyone there?"}]},
            {"role": "system", "content": "The caller is Peter."},
            {"role": "assistant", "content": ""},
        ]
    )
    assert system == "Be brief.\n\nThe caller is Peter."
    assert turns == [
        {"role": "user", "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "Anyone there?"}]}
    ]


async def test_anthropic_error_event_mid_stream_is_an_llm_error(anthropic_server: tuple[AnthropicServer, str]) -> None:
    """An ``error`` event after the stream began is an LlmError after the text already relayed."""
    server, url = anthropic_server
    server.fail_mid_stream = {"type": "overloaded_error", "message": "Overloaded"}
    model = AnthropicLanguageModel(api_key=server.api_key, base_url=url, model="claude-haiku-4-5")
    received: list[Any] = []
    try:
        with pytest.raises(LlmError, match="overloaded_error: Overloaded"):
            async for event in model.stream(HISTORY):
                received.append(event)
    finally:
        await model.aclose()
    assert received == [TextDelta("Hello!")]


async def test_anthropic_wrong_key_is_an_llm_error_without_the_key(
    anthropic_server: tuple[AnthropicServer, str],
) -> None:
    """A rejected key is an LlmError naming the status and Anthropic's error, not the key."""
    _, url = anthropic_server
    model = AnthropicLanguageModel(api_key=WRONG_KEY, base_url=url, model="claude-haiku-4-5")
    try:
        with pytest.raises(LlmError) as caught:
            await collect(model.stream(HISTORY))
    finally:
        await model.aclose()
    message = str(caught.value)
    assert "401" in message and "authentication_error" in message and "invalid x-api-key" in message
    assert WRONG_KEY not in message


async def test_anthropic_unreachable_server_is_an_llm_error(dead_url: str) -> None:
    """Nothing listening is an LlmError."""
    model = AnthropicLanguageModel(api_key="sk-ant-x", base_url=dead_url, model="claude-haiku-4-5")
    try:
        with pytest.raises(LlmError, match="cannot reach"):
            await collect(model.stream(HISTORY))
    finally:
        await model.aclose()


# --- OpenAI-compatible transcription ------------------------------------------------------------------------------


async def test_openai_stt_transcribes_the_turn_as_16k_wav(openai_server: tuple[OpenAIServer, str]) -> None:
    """The pushed audio goes out once as a 16 kHz mono WAV with model and language, and its text comes back."""
    server, url = openai_server
    stt = OpenAISpeechToText(api_key=server.api_key, base_url=url, language="de")
    turn = stt.open_turn()
    try:
        for start in range(0, len(CALLER_AUDIO), 640):
            turn.push(CALLER_AUDIO[start : start + 640])
        text = await turn.transcript()
        again = await turn.transcript()
    finally:
        await turn.aclose()
        await stt.aclose()
    assert text == again == server.transcript
    assert len(server.requests) == 1, "the unchanged turn reuses its transcription"
    seen = server.requests[0]
    assert seen.path == "/audio/transcriptions"
    assert seen.headers["authorization"] == f"Bearer {server.api_key}"
    assert seen.form["model"] == "gpt-4o-mini-transcribe"
    assert seen.form["language"] == "de"
    wav = seen.form["wav"]
    assert (wav["channels"], wav["sample_width"], wav["sample_rate"]) == (1, 2, 16000)
    assert wav["pcm"] == CALLER_AUDIO


async def test_openai_stt_skips_clips_too_short_to_hold_words(openai_server: tuple[OpenAIServer, str]) -> None:
    """A clip under 0.1 s is no request and no words."""
    server, url = openai_server
    stt = OpenAISpeechToText(api_key=server.api_key, base_url=url)
    try:
        assert await stt.transcribe(CALLER_AUDIO[:640]) == ""
    finally:
        await stt.aclose()
    assert server.requests == []


async def test_openai_stt_wrong_key_and_unreachable_are_stt_errors(
    openai_server: tuple[OpenAIServer, str], dead_url: str
) -> None:
    """A rejected key and an unreachable server are SttErrors without the key."""
    _, url = openai_server
    for base_url, expected in ((url, "401"), (dead_url, "cannot reach")):
        stt = OpenAISpeechToText(api_key=WRONG_KEY, base_url=base_url)
        try:
            with pytest.raises(SttError) as caught:
                await stt.transcribe(CALLER_AUDIO)
        finally:
            await stt.aclose()
        assert expected in str(caught.value)
        assert WRONG_KEY not in str(caught.value)


# --- Deepgram live transcription -----------------------------------------------------------------------------------


async def test_deepgram_streams_the_turn_and_finalizes(deepgram_server: tuple[DeepgramServer, str]) -> None:
    """Audio streams on one socket; each transcript() sends Finalize and returns every final so far."""
    server, url = deepgram_server
    server.transcripts = ["I'd like a cleaning", "on Tuesday morning."]
    stt = DeepgramSpeechToText(api_key=server.api_key, base_url=url, model="nova-3", language="en-GB")
    turn = stt.open_turn()
    try:
        assert await turn.transcript() == "", "no audio, no socket, no words"
        for start in range(0, len(CALLER_AUDIO), 640):
            turn.push(CALLER_AUDIO[start : start + 640])
        first = await turn.transcript()
        turn.push(CALLER_AUDIO[:6400])
        both = await turn.transcript()
    finally:
        await turn.aclose()
        await turn.aclose()
        await stt.aclose()
    assert first == "I'd like a cleaning"
    assert both == "I'd like a cleaning on Tuesday morning."
    (seen,) = server.requests
    assert seen.path == "/v1/listen"
    assert seen.headers["authorization"] == f"Token {server.api_key}"
    assert seen.query == {
        "encoding": "linear16",
        "sample_rate": "16000",
        "channels": "1",
        "model": "nova-3",
        "language": "en-GB",
        "interim_results": "true",
        "punctuate": "true",
    }
    assert seen.audio == CALLER_AUDIO + CALLER_AUDIO[:6400]
    assert seen.controls == [{"type": "Finalize"}, {"type": "Finalize"}, {"type": "CloseStream"}]


async def test_deepgram_audio_pushed_during_the_handshake_is_delivered(
    deepgram_server: tuple[DeepgramServer, str],
) -> None:
    """push returns at once while the socket opens, and the audio queued meanwhile still arrives."""
    server, url = deepgram_server
    server.handshake_delay_s = 0.4
    stt = DeepgramSpeechToText(api_key=server.api_key, base_url=url)
    turn = stt.open_turn()
    try:
        started = time.monotonic()
        turn.push(CALLER_AUDIO[:640])
        turn.push(CALLER_AUDIO[640:1280])
        pushed = time.monotonic() - started
        text = await turn.transcript()
    finally:
        await stt.aclose()
    assert pushed < 0.1
    assert text == server.transcripts[0]
    assert server.requests[0].audio == CALLER_AUDIO[:1280]


async def test_deepgram_finals_from_endpointing_need_no_finalize_answer(
    deepgram_server: tuple[DeepgramServer, str],
) -> None:
    """When finals already cover the audio sent, transcript() returns without waiting for a Finalize answer."""
    server, url = deepgram_server
    server.transcripts = ["Hello.", "Goodbye."]
    server.final_every_s = 0.3
    stt = DeepgramSpeechToText(api_key=server.api_key, base_url=url)
    turn = stt.open_turn()
    try:
        turn.push(CALLER_AUDIO)  # 0.6 s: two finals, nothing left for Finalize to flush
        started = time.monotonic()
        text = await turn.transcript()
        waited = time.monotonic() - started
    finally:
        await turn.aclose()
        await stt.aclose()
    assert text == "Hello."
    assert waited < 1.0


async def test_deepgram_wrong_key_is_an_stt_error_without_the_key(deepgram_server: tuple[DeepgramServer, str]) -> None:
    """A handshake refused with 401 is an SttError naming Deepgram's error code, not the key."""
    _, url = deepgram_server
    stt = DeepgramSpeechToText(api_key=WRONG_KEY, base_url=url)
    turn = stt.open_turn()
    try:
        turn.push(CALLER_AUDIO)
        with pytest.raises(SttError) as caught:
            await turn.transcript()
    finally:
        await turn.aclose()
        await stt.aclose()
    message = str(caught.value)
    assert "401" in message and "INVALID_AUTH" in message
    assert WRONG_KEY not in message


async def test_deepgram_unreachable_server_is_an_stt_error(dead_url: str) -> None:
    """Nothing listening is an SttError."""
    stt = DeepgramSpeechToText(api_key="dg-x", base_url=dead_url.replace("http://", "ws://"))
    turn = stt.open_turn()
    try:
        turn.push(CALLER_AUDIO)
        with pytest.raises(SttError, match="cannot reach"):
            await turn.transcript()
    finally:
        await stt.aclose()


# --- Text to speech ------------------------------------------------------------------------------------------------


async def _speak(tts: TextToSpeech, text: str) -> list[bytes]:
    """Synthesize ``text`` and close the provider."""
    try:
        return await collect(tts.synthesize(text))
    finally:
        await tts.aclose()


async def test_openai_tts_streams_pcm_unchanged(openai_server: tuple[OpenAIServer, str]) -> None:
    """The 24 kHz PCM arrives byte for byte in whole samples, for the voice, speed and pcm format asked."""
    server, url = openai_server
    server.chunk_interval_s = 0.002  # separate network reads, so odd chunk boundaries really reach the client
    tts = OpenAITextToSpeech(api_key=server.api_key, base_url=url, voice="coral", speed=1.1)
    chunks = await _speak(tts, "Your appointment is booked.")
    assert tts.sample_rate == 24000
    assert all(len(chunk) % 2 == 0 for chunk in chunks)
    assert b"".join(chunks) == server.speech_audio()
    seen = server.requests[0]
    assert seen.path == "/audio/speech"
    assert seen.headers["authorization"] == f"Bearer {server.api_key}"
    assert seen.json == {
        "model": "gpt-4o-mini-tts",
        "voice": "coral",
        "input": "Your appointment is booked.",
        "response_format": "pcm",
        "speed": 1.1,
    }


async def test_elevenlabs_streams_pcm_unchanged(elevenlabs_server: tuple[ElevenLabsServer, str]) -> None:
    """The 16 kHz PCM arrives byte for byte in whole samples; path, query, key header and body are as documented."""
    server, url = elevenlabs_server
    server.chunk_interval_s = 0.002
    tts = ElevenLabsTextToSpeech(api_key=server.api_key, base_url=url, voice="JBFqnCBsd6RMkjVDRZzb", speed=0.9)
    chunks = await _speak(tts, "Your appointment is booked.")
    assert tts.sample_rate == 16000
    assert all(len(chunk) % 2 == 0 for chunk in chunks)
    assert b"".join(chunks) == server.audio_for(16000)
    seen = server.requests[0]
    assert seen.path == "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb/stream"
    assert seen.query == {"output_format": "pcm_16000"}
    assert seen.headers["xi-api-key"] == server.api_key
    assert seen.json == {
        "text": "Your appointment is booked.",
        "model_id": "eleven_flash_v2_5",
        "voice_settings": {"speed": 0.9},
    }


async def test_elevenlabs_unknown_voice_and_speed_out_of_range(elevenlabs_server: tuple[ElevenLabsServer, str]) -> None:
    """An unknown voice is a TtsError naming the status; a speed outside ElevenLabs' range is clamped."""
    server, url = elevenlabs_server
    server.voices = frozenset({"known"})
    with pytest.raises(TtsError, match="404: voice_not_found"):
        await _speak(ElevenLabsTextToSpeech(api_key=server.api_key, base_url=url, voice="unknown"), "Hello.")
    # A speed ElevenLabs would refuse with 422 is brought into its range instead.
    chunks = await _speak(ElevenLabsTextToSpeech(api_key=server.api_key, base_url=url, voice="known", speed=2.0), "Hi.")
    assert b"".join(chunks) == server.audio_for(16000)
    assert server.requests[-1].json["voice_settings"] == {"speed": 1.2}


async def test_cartesia_streams_pcm_unchanged(cartesia_server: tuple[CartesiaServer, str]) -> None:
    """The 16 kHz PCM arrives byte for byte in whole samples; headers and body are as documented."""
    server, url = cartesia_server
    server.chunk_interval_s = 0.002
    tts = CartesiaTextToSpeech(api_key=server.api_key, base_url=url, voice="694f9389-aac1-45b6-b726-9d9369183238")
    chunks = await _speak(tts, "Your appointment is booked.")
    assert tts.sample_rate == 16000
    assert all(len(chunk) % 2 == 0 for chunk in chunks)
    assert b"".join(chunks) == server.audio_for(16000)
    seen = server.requests[0]
    assert seen.path == "/tts/bytes"
    assert seen.headers["x-api-key"] == server.api_key
    assert seen.headers["cartesia-version"] == "2024-11-13"
    assert seen.json == {
        "model_id": "sonic-2",
        "transcript": "Your appointment is booked.",
        "voice": {"mode": "id", "id": "694f9389-aac1-45b6-b726-9d9369183238"},
        "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000},
        "language": "en",
    }


@pytest.mark.parametrize("provider", ["openai", "elevenlabs", "cartesia"])
async def test_tts_wrong_key_is_a_tts_error_without_the_key(provider: str, request: pytest.FixtureRequest) -> None:
    """A rejected key is a TtsError naming the status and the provider's message, not the key."""
    _, url = request.getfixturevalue(f"{provider}_server")
    tts: TextToSpeech
    if provider == "openai":
        # The stand-in serves under /v1 too, as a base URL copied from OpenAI's docs would have it.
        tts, expected = OpenAITextToSpeech(api_key=WRONG_KEY, base_url=url + "/v1"), "Incorrect API key"
    elif provider == "elevenlabs":
        tts, expected = ElevenLabsTextToSpeech(api_key=WRONG_KEY, base_url=url, voice="v"), "invalid_api_key"
    else:
        tts, expected = CartesiaTextToSpeech(api_key=WRONG_KEY, base_url=url, voice="v"), "Invalid API key"
    with pytest.raises(TtsError) as caught:
        await _speak(tts, "Hello.")
    message = str(caught.value)
    assert "401" in message and expected in message
    assert WRONG_KEY not in message


@pytest.mark.parametrize("provider", ["openai", "elevenlabs", "cartesia"])
async def test_tts_unreachable_server_is_a_tts_error(provider: str, dead_url: str) -> None:
    """Nothing listening is a TtsError."""
    tts: TextToSpeech
    if provider == "openai":
        tts = OpenAITextToSpeech(api_key="k", base_url=dead_url)
    elif provider == "elevenlabs":
        tts = ElevenLabsTextToSpeech(api_key="k", base_url=dead_url, voice="v")
    else:
        tts = CartesiaTextToSpeech(api_key="k", base_url=dead_url, voice="v")
    with pytest.raises(TtsError, match="cannot reach"):
        await _speak(tts, "Hello.")


async def test_tts_of_blank_text_sends_nothing(cartesia_server: tuple[CartesiaServer, str]) -> None:
    """Blank text yields no audio and no request."""
    server, url = cartesia_server
    tts = CartesiaTextToSpeech(api_key=server.api_key, base_url=url, voice="v")
    assert await _speak(tts, "   ") == []
    assert server.requests == []
