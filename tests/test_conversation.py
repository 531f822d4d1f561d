"""agents/: the per-call conversation loop on the real local models (Silero, Smart Turn, whisper, SmolLM2, Piper).

The call's audio runs through a real MediaSession over an in-process port clocked at 20 ms, so timings here are
real-time; the SIP path itself is covered by tests/test_conversation_calls.py.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from agents.conversation import Conversation, ConversationSettings, Providers, TurnTiming
from agents.model_assets import model_paths
from agents.phrases import contains_phrase, interrupts, is_backchannel, is_opt_out
from agents.providers import LocalModels, ProviderAccess, build_llm, build_stt, build_tts
from agents.sentences import SentenceSplitter
from agents.stt import faster_whisper as faster_whisper_stt
from media.frames import SAMPLE_RATE, silence
from media.resample import Resampler
from media.session import MediaSession
from tests.peers.loopback import FakeCall, LoopbackPort

pytestmark = pytest.mark.slow
TICK_BYTES = 640
VOICED_RMS = 300.0


# -- pure text logic --------------------------------------------------------------------------------


def test_sentence_splitter_releases_each_sentence_as_soon_as_it_ends() -> None:
    splitter = SentenceSplitter()
    out: list[str] = []
    for piece in [
        "Sure",
        ", I can help with that",
        ". Dr. Smith is free on",
        " Tuesday at 3.30 pm",
        "! Shall I",
        " book it?",
    ]:
        out += splitter.feed(piece)
    out += splitter.flush()
    assert out == ["Sure, I can help with that.", "Dr. Smith is free on Tuesday at 3.30 pm!", "Shall I book it?"]


def test_sentence_splitter_may_end_the_first_piece_at_a_clause() -> None:
    splitter = SentenceSplitter()
    out: list[str] = []
    for piece in ["Of", " course", ", I can book", " that for you", ", and Dr", ". Smith", " is free, too", ". Bye. "]:
        out += splitter.feed(piece)
    assert out == ["Of course, I can book that for you,", "and Dr. Smith is free, too.", "Bye."]
    assert SentenceSplitter().feed("Yes, sure, that is fine, ") == ["Yes, sure, that is fine,"]
    assert SentenceSplitter().feed("Yes, sure, fine, ") == []
    assert SentenceSplitter().feed("We have 3,000 seats left in the hall") == []


def test_sentence_splitter_holds_a_tiny_first_sentence_back() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Okay. ") == []
    assert splitter.feed("Let me check the calendar. ") == ["Okay. Let me check the calendar."]


def test_phrases() -> None:
    assert is_opt_out("Please, DON'T call me again!")
    assert is_opt_out("could you remove me from your list")
    assert not is_opt_out("call me again tomorrow")
    assert is_backchannel("Uh-huh.") and is_backchannel("Yeah, okay.") and is_backchannel("")
    assert not is_backchannel("Yeah, but what about Tuesday?")
    assert not interrupts("Uh-huh.") and not interrupts("Oh.") and not interrupts("I'll...")
    assert interrupts("Stop.") and interrupts("Wait, what?") and interrupts("Yeah, but no.")
    assert contains_phrase("OK, goodbye then.", ["goodbye"]) == "goodbye"
    assert contains_phrase("Good byes are hard", ["goodbye"]) is None


# -- real models ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def local(model_dir: Path) -> LocalModels:
    """The real local models, loaded once for this module."""
    models = LocalModels(model_paths(model_dir))
    await models.preload()
    return models


async def speech(local: LocalModels, text: str) -> bytes:
    """``text`` spoken by the Piper voice, as 16 kHz mono s16."""
    tts = await build_tts({"provider": "piper"}, ProviderAccess(), local)
    resampler = Resampler(tts.sample_rate, SAMPLE_RATE)
    out = bytearray()
    async for chunk in tts.synthesize(text):
        out += resampler.process(chunk)
    out += resampler.flush()
    return bytes(out)


def ticks_voiced(pcm: bytes | bytearray) -> list[bool]:
    """For each 20 ms tick of 16 kHz audio, whether it carries sound."""
    x = np.frombuffer(bytes(pcm[: len(pcm) // TICK_BYTES * TICK_BYTES]), dtype=np.int16).astype(np.float64)
    blocks = x.reshape(-1, TICK_BYTES // 2)
    return [bool(v) for v in np.sqrt((blocks**2).mean(axis=1)) > VOICED_RMS]


async def test_vad_hears_speech_and_not_silence(local: LocalModels) -> None:
    vad = (await local.vad()).stream()
    clip = await speech(local, "Hi, I would like to book an appointment for Tuesday.")
    speech_probs = [vad.feed(clip[i : i + TICK_BYTES]) for i in range(0, len(clip), TICK_BYTES)]
    quiet = (await local.vad()).stream()
    noise = (np.random.default_rng(1).normal(0, 20, SAMPLE_RATE * 2)).astype(np.int16).tobytes()
    quiet_probs = [quiet.feed(noise[i : i + TICK_BYTES]) for i in range(0, len(noise), TICK_BYTES)]
    assert max(speech_probs) > 0.9
    assert sum(p > 0.5 for p in speech_probs) > 0.4 * len(speech_probs)
    assert max(quiet_probs) < 0.2


async def test_smart_turn_tells_a_finished_request_from_a_cut_off_one(local: LocalModels) -> None:
    smart_turn = await local.smart_turn()
    finished = await speech(local, "Hi, I'd like to book an appointment for Tuesday.")
    cut = await speech(local, "Hi, I'd like to book an appointment for, um, and")
    p_finished = await smart_turn.probability(finished + silence(200))
    p_cut = await smart_turn.probability(cut + silence(200))
    assert p_finished > 0.5, p_finished
    assert p_cut < p_finished, (p_cut, p_finished)


def phone_band(pcm: bytes) -> bytes:
    """``pcm`` as a G.711 call delivers it: through 8 kHz and back to 16 kHz."""
    down = Resampler(SAMPLE_RATE, 8000)
    narrow = down.process(pcm) + down.flush()
    up = Resampler(8000, SAMPLE_RATE)
    return up.process(narrow) + up.flush()


@pytest.mark.parametrize(
    ("said", "words"),
    [
        ("Hi, I'd like to book an appointment for Tuesday.", {"book", "appointment", "tuesday"}),
        ("What time do you open tomorrow morning?", {"time", "open", "tomorrow", "morning"}),
        ("Please don't call me again.", {"please", "call", "again"}),
        ("Yes.", {"yes"}),
    ],
)
async def test_whisper_transcribes_a_phone_turn_in_a_short_window(
    local: LocalModels, said: str, words: set[str]
) -> None:
    host = await local.whisper()
    stt = await build_stt({"provider": "faster-whisper", "language": "en"}, ProviderAccess(), local)
    short_before, full_before = host.short_windows, host.full_windows
    text = await stt.transcribe(phone_band(await speech(local, said)))
    heard = set(re.findall(r"[a-z']+", text.lower()))
    assert words <= heard, text
    assert (host.short_windows - short_before, host.full_windows - full_before) == (1, 0)


async def test_whisper_transcribes_again_in_the_full_window_when_the_short_one_loops(
    local: LocalModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = await local.whisper()
    stt = await build_stt({"provider": "faster-whisper", "language": "en"}, ProviderAccess(), local)
    clip = phone_band(await speech(local, "Can I speak to someone about my bill please?"))
    monkeypatch.setattr(faster_whisper_stt, "_looks_looped", lambda text: True)  # as if every short window looped
    full_before = host.full_windows
    text = await stt.transcribe(clip)
    assert host.full_windows == full_before + 1
    assert {"speak", "someone", "bill"} <= set(re.findall(r"[a-z']+", text.lower())), text


def test_a_looping_transcript_is_recognised() -> None:
    looks_looped = faster_whisper_stt._looks_looped
    assert looks_looped("Yes. Yes. Yes. Yes.")
    assert looks_looped("Can I speak to someone about my bill please? Can I speak to someone")
    assert looks_looped("the the the the the the the the the the the the the the the")
    assert not looks_looped("No, no, no.")
    assert not looks_looped("Hi. I'd like a table for two on Tuesday.")
    assert not looks_looped("Yes.")
    assert not looks_looped("Yes. Yesterday it rang twice.")


async def test_the_local_model_waits_for_the_reply_to_be_spoken(local: LocalModels) -> None:
    """SmolLM2 runs at most a few tokens ahead of a reader that is busy (synthesising the first sentence)."""
    llm = await build_llm({"provider": "local", "max_tokens": 80, "temperature": 0.0}, ProviderAccess(), local)
    messages = [{"role": "user", "content": "Tell me a long story about a dragon and a castle."}]
    stream = llm.stream(messages)  # type: ignore[arg-type]
    await anext(stream)
    await asyncio.sleep(0.6)  # unthrottled, SmolLM2 writes ~30 tokens in this time
    gaps: list[float] = []
    last = asyncio.get_running_loop().time()
    async for _event in stream:
        now = asyncio.get_running_loop().time()
        gaps.append(now - last)
        last = now
    burst = next((i for i, gap in enumerate(gaps) if gap > 0.003), len(gaps))
    assert len(gaps) > burst, "the reply stopped after the buffered tokens"
    assert burst <= 8, (burst, gaps[:12])  # unthrottled, ~30 tokens would be waiting


# -- the loop ---------------------------------------------------------------------------------------


@dataclass
class Recorded:
    """A ConversationEvents that keeps everything in memory for the test to check."""

    turns: list[tuple[str, str, bool]] = field(default_factory=list)
    opted_out: bool = False
    timings: list[TurnTiming] = field(default_factory=list)

    async def turn(self, role: str, text: str, started_at: datetime, ended_at: datetime, interrupted: bool) -> None:
        assert ended_at >= started_at
        self.turns.append((role, text, interrupted))

    async def opt_out(self) -> None:
        self.opted_out = True

    def timing(self, timing: TurnTiming) -> None:
        self.timings.append(timing)


@dataclass
class Line:
    """A running conversation on an in-process line."""

    port: LoopbackPort
    call: FakeCall
    events: Recorded
    conversation: Conversation
    task: asyncio.Task[None]

    def tick(self) -> int:
        """The line's clock, in 20 ms ticks since it started."""
        return len(self.port.sent) // TICK_BYTES

    async def wait_for(self, predicate: Callable[[], bool], within: float) -> None:
        """Wait until ``predicate()`` is true (the line's state changes every tick, so polling is the fit)."""
        async with asyncio.timeout(within):
            while not predicate():  # noqa: ASYNC110
                await asyncio.sleep(0.02)

    async def wait_quiet_after_agent(self, within: float = 30.0, quiet_ticks: int = 40) -> None:
        """Wait until the agent has spoken and then stayed silent for ``quiet_ticks``."""

        def done() -> bool:
            voiced = ticks_voiced(self.port.sent)
            return any(voiced) and len(voiced) - (len(voiced) - voiced[::-1].index(True)) >= quiet_ticks

        await self.wait_for(done, within)


@pytest.fixture
async def line(local: LocalModels) -> AsyncIterator[object]:
    """Start a conversation with the given settings on a fresh 16 kHz line; stops it afterwards."""
    lines: list[Line] = []

    async def start(settings: ConversationSettings) -> Line:
        port = LoopbackPort(rate=SAMPLE_RATE)
        port.start()
        call = FakeCall(port)
        events = Recorded()
        providers = Providers(
            stt=await build_stt({"provider": "faster-whisper", "language": "en"}, ProviderAccess(), local),
            llm=await build_llm({"provider": "local", "max_tokens": 60}, ProviderAccess(), local),
            tts=await build_tts({"provider": "piper"}, ProviderAccess(), local),
            vad=await local.vad(),
            smart_turn=await local.smart_turn(),
        )
        conversation = Conversation(settings, providers, events)
        task = asyncio.ensure_future(conversation.run(MediaSession(port, lead_ms=60), call))
        started = Line(port, call, events, conversation, task)
        lines.append(started)
        return started

    yield start
    for started in lines:
        await started.port.close()
        await asyncio.wait_for(started.task, 10)


LONG_GREETING = (
    "Hello and thank you for calling Bright Smile Dental. We are open Monday to Friday from eight to six. "
    "You can book, move or cancel an appointment with me, and I can answer questions about your bill."
)


async def test_inbound_greets_at_once_then_answers_a_request(line, local: LocalModels) -> None:
    greeting = "Hello, this is Bright Smile Dental. How can I help you?"
    conv = await line(
        ConversationSettings(
            system_prompt="You are the receptionist of a dental office. Answer in one short sentence.",
            first_message=greeting,
        )
    )
    await conv.wait_for(lambda: any(ticks_voiced(conv.port.sent)), within=5)
    first_voice_tick = ticks_voiced(conv.port.sent).index(True)
    assert first_voice_tick * 0.02 < 1.5  # inbound: the greeting starts at once
    await conv.wait_quiet_after_agent()

    request = await speech(local, "Hi, I'd like to book an appointment for Tuesday.")
    conv.port.feed(request)
    spoken_until = conv.tick() + len(request) // TICK_BYTES
    await conv.wait_for(lambda: len(conv.events.turns) >= 3, within=30)

    roles = [(role, interrupted) for role, _, interrupted in conv.events.turns]
    assert roles == [("assistant", False), ("user", False), ("assistant", False)]
    assert conv.events.turns[0][1] == greeting
    assert "appointment" in conv.events.turns[1][1].lower()
    assert len(conv.events.turns[2][1].split()) >= 2
    reply_ticks = ticks_voiced(conv.port.sent)[spoken_until:]
    assert sum(reply_ticks) >= 25  # at least half a second of reply audio went out
    assert conv.events.timings and 0 < conv.events.timings[0].first_audio < 10


async def test_caller_speech_over_the_agent_stops_it_within_200_ms(line, local: LocalModels) -> None:
    conv = await line(ConversationSettings(system_prompt="Answer in one short sentence.", first_message=LONG_GREETING))
    await conv.wait_for(lambda: sum(ticks_voiced(conv.port.sent)) > 100, within=10)  # two seconds of greeting
    interruption = await speech(local, "Sorry to cut in, I have a question about my bill from last month.")
    barge_tick = conv.tick()
    conv.port.feed(interruption)
    await conv.wait_for(lambda: conv.tick() > barge_tick + 60, within=5)

    agent = ticks_voiced(conv.port.sent)
    window = range(barge_tick, barge_tick + 50)
    last_agent_tick = max((i for i in window if agent[i]), default=barge_tick)
    caller = ticks_voiced(interruption)
    onset = barge_tick + caller.index(True)
    assert (last_agent_tick - onset) * 20 <= 200, (last_agent_tick, onset)

    await conv.wait_for(lambda: any(role == "user" for role, _, _ in conv.events.turns), within=30)
    first = conv.events.turns[0]
    assert first[0] == "assistant" and first[2] is True  # stored as interrupted
    assert 0 < len(first[1]) < len(LONG_GREETING)  # only what the caller heard
    assert LONG_GREETING.startswith(first[1].rsplit(" ", 1)[0])


@pytest.mark.parametrize("backchannel", ["Uh-huh.", "Okay."])
async def test_a_backchannel_does_not_interrupt(line, local: LocalModels, backchannel: str) -> None:
    conv = await line(ConversationSettings(system_prompt="Answer in one short sentence.", first_message=LONG_GREETING))
    await conv.wait_for(lambda: sum(ticks_voiced(conv.port.sent)) > 100, within=10)
    conv.port.feed(await speech(local, backchannel))
    await conv.wait_for(lambda: bool(conv.events.turns), within=40)
    await asyncio.sleep(1.0)
    assert conv.events.turns[0] == ("assistant", LONG_GREETING, False)
    assert not any(role == "user" for role, _, _ in conv.events.turns)


async def test_silence_reprompts_once_then_says_goodbye_and_ends(line) -> None:
    settings = ConversationSettings(
        system_prompt="unused", first_message="Hello?", silence_timeout_s=2.0, reprompt="Are you still there?"
    )
    conv = await line(settings)
    await asyncio.wait_for(asyncio.shield(conv.task), timeout=30)
    texts = [text for _, text, _ in conv.events.turns]
    assert texts == ["Hello?", "Are you still there?", settings.goodbye]


async def test_the_owner_can_cut_in_with_a_last_line_and_hang_up(line) -> None:
    """What the credit meter does when the balance runs out: the greeting stops, the warning is said, the call ends."""
    settings = ConversationSettings(system_prompt="unused", first_message=LONG_GREETING, silence_timeout_s=60)
    conv = await line(settings)
    await conv.wait_for(lambda: sum(ticks_voiced(conv.port.sent)) >= 75, 15)  # ~1.5 s of the greeting heard
    conv.conversation.finish_with("Your credit has run out. Goodbye.")
    await asyncio.wait_for(asyncio.shield(conv.task), timeout=30)
    texts = [(text, interrupted) for _, text, interrupted in conv.events.turns]
    assert texts[-1] == ("Your credit has run out. Goodbye.", False)
    assert len(texts) == 2, texts
    assert texts[0][1] is True and 0 < len(texts[0][0]) < len(LONG_GREETING)  # the greeting was cut short
    assert conv.task.exception() is None  # the loop ended by itself: its owner hangs up the call


async def test_opt_out_marks_the_caller_and_ends_the_call(line, local: LocalModels) -> None:
    settings = ConversationSettings(system_prompt="unused", first_message="Hi, this is Acme calling.")
    conv = await line(settings)
    await conv.wait_quiet_after_agent(quiet_ticks=10)
    conv.port.feed(await speech(local, "Please remove me from your list."))
    await asyncio.wait_for(asyncio.shield(conv.task), timeout=30)
    assert conv.events.opted_out
    assert conv.events.turns[-1][1] == settings.opt_out_reply
    assert "remove me" in conv.events.turns[-2][1].lower()


async def test_an_end_call_phrase_ends_the_call(line, local: LocalModels) -> None:
    settings = ConversationSettings(
        system_prompt="unused", first_message="Hi, anything else?", end_call_phrases=("that's all",)
    )
    conv = await line(settings)
    await conv.wait_quiet_after_agent(quiet_ticks=10)
    conv.port.feed(await speech(local, "No, that's all, thank you."))
    await asyncio.wait_for(asyncio.shield(conv.task), timeout=30)
    assert conv.events.turns[-1][1] == settings.goodbye
    assert not conv.events.opted_out


async def test_outbound_waits_for_the_callees_hello_before_speaking(line, local: LocalModels) -> None:
    settings = ConversationSettings(system_prompt="unused", first_message="Hi, this is Acme Dental.", outbound=True)
    conv = await line(settings)
    await asyncio.sleep(1.0)
    assert not any(ticks_voiced(conv.port.sent))  # the callee has not spoken yet: the agent stays quiet
    hello = await speech(local, "Hello?")
    hello_from = conv.tick()
    conv.port.feed(hello)
    await conv.wait_for(lambda: len(conv.events.turns) >= 2, within=20)
    assert [role for role, _, _ in conv.events.turns] == ["user", "assistant"]
    assert conv.events.turns[1][1] == settings.first_message
    first_agent_tick = ticks_voiced(conv.port.sent).index(True)
    assert first_agent_tick > hello_from + len(hello) // TICK_BYTES  # only after the callee's hello ended


async def test_outbound_speaks_first_when_the_callee_stays_silent(line) -> None:
    settings = ConversationSettings(system_prompt="unused", first_message="Hi, this is Acme Dental.", outbound=True)
    conv = await line(settings)
    await conv.wait_for(lambda: bool(conv.events.turns), within=15)
    first_agent_tick = ticks_voiced(conv.port.sent).index(True)
    assert 2.0 <= first_agent_tick * 0.02 <= 4.0  # the greeting timeout is 2.5 s
    assert conv.events.turns[0] == ("assistant", settings.first_message, False)
