"""The per-call conversation loop: caller frames in, turn-taking, STT, LLM, TTS, paced agent audio out.

One loop per call iterates the call's 20 ms frames. Everything that waits on a provider (a transcript, a
reply streaming from the model, speech being synthesised) runs in the call's single reply task and only ever
appends finished audio to the agent's speech; the frame loop moves that audio to the SIP side a few frames at
a time, which is what makes barge-in instant: at most ~100 ms of agent audio is ever queued below us.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from agents.llm.base import LanguageModel, LlmError, Message, TextDelta, ToolCall, ToolDefinition
from agents.phrases import contains_phrase, interrupts, is_opt_out
from agents.sentences import SentenceSplitter
from agents.stt.base import SpeechToText, SttError, SttTurn
from agents.tts.base import TextToSpeech, TtsError
from agents.turn.smart_turn import SmartTurn
from agents.turn.vad import SileroModel
from media.frames import FRAME_BYTES, FRAME_MS, SAMPLE_RATE
from media.handlers.base import AudioHandler, CallControl
from media.resample import Resampler
from media.session import MediaSession

log = logging.getLogger(__name__)

Role = Literal["user", "assistant"]
_BYTES_PER_MS = SAMPLE_RATE * 2 // 1000
_SMART_TURN_BYTES = 8 * 1000 * _BYTES_PER_MS  # Smart Turn only ever looks at the last 8 s of a turn
END_CALL_TOOL = ToolDefinition(
    name="end_call",
    description="Hang up the call once the conversation is over or the caller asks to end it.",
)


@dataclass(frozen=True)
class TurnTiming:
    """Where one reply's latency went, in seconds from the end of the caller's speech."""

    turn_detected: float
    transcript_ready: float
    first_sentence: float
    first_audio: float
    transcript: str


@dataclass
class ConversationStats:
    """Counters for one call's turn-taking, so benchmarks can say where the CPU went."""

    caller_turns: int = 0
    turn_checks: int = 0
    """Smart Turn inferences asked for."""
    turn_checks_complete: int = 0
    """Smart Turn verdicts that ended a turn."""
    turns_capped: int = 0
    """Caller turns ended by the silence cap rather than by Smart Turn."""
    vad_inferences: int = 0


@dataclass(frozen=True)
class TurnSettings:
    """How the loop decides that the caller started, paused, finished or interrupted."""

    speech_threshold: float = 0.5
    start_ms: int = 100  # speech this long opens a caller turn and, over the agent, pauses it at once
    stop_ms: int = 200  # a pause this long asks Smart Turn whether the turn is complete
    incomplete_wait_ms: int = 2000  # an incomplete turn still ends after this much silence
    complete_threshold: float = 0.5
    backchannel_max_ms: int = 900  # shorter caller speech over the agent may be a backchannel
    greeting_timeout_s: float = 2.5  # outbound: speak first if the callee says nothing this long
    lead_ms: int = 80  # agent audio kept queued below the loop; a barge-in drops at most this much


@dataclass
class ConversationSettings:
    """One assistant's behaviour on one call."""

    system_prompt: str
    first_message: str | None = None
    outbound: bool = False
    end_call_phrases: tuple[str, ...] = ()
    silence_timeout_s: float = 20.0
    reprompt: str = "Are you still there?"
    goodbye: str = "Thank you for your time. Goodbye."
    opt_out_reply: str = "I understand. We will not call you again. Goodbye."
    turn: TurnSettings = field(default_factory=TurnSettings)


@dataclass(frozen=True)
class Providers:
    """The components one conversation runs on; the heavy ones are shared between calls."""

    stt: SpeechToText
    llm: LanguageModel
    tts: TextToSpeech
    vad: SileroModel
    smart_turn: SmartTurn | None = None
    tools: tuple[ToolDefinition, ...] = (END_CALL_TOOL,)


class ConversationEvents(Protocol):
    """What the telephony side does with what happens on the call (store turns, mark DNC)."""

    async def turn(self, role: Role, text: str, started_at: datetime, ended_at: datetime, interrupted: bool) -> None:
        """Store one transcript turn."""

    async def opt_out(self) -> None:
        """The caller asked not to be called again."""

    def timing(self, timing: TurnTiming) -> None:
        """One reply's latency breakdown (for logs and benchmarks)."""


class _Segment:
    """One sentence of agent speech: its text and 16 kHz audio, filled while TTS streams it."""

    __slots__ = ("audio", "complete", "sent", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.audio = bytearray()
        self.sent = 0  # bytes handed to the media session
        self.complete = False


@dataclass
class _AgentTurn:
    segments: list[_Segment] = field(default_factory=list)
    spoken: list[str] = field(default_factory=list)  # sentences played to the end
    started_at: datetime | None = None
    finished: bool = False  # no more segments will be added
    then_hang_up: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


class Conversation(AudioHandler):
    """Talk with the caller: the plug-in the telephony node runs on each answered call."""

    def __init__(self, settings: ConversationSettings, providers: Providers, events: ConversationEvents) -> None:
        self.settings = settings
        self.providers = providers
        self.events = events
        self.history: list[Message] = [{"role": "system", "content": settings.system_prompt}]
        self.timings: list[TurnTiming] = []
        self.stats = ConversationStats()
        t = settings.turn
        self._t = t
        self._vad = providers.vad.stream()
        # caller side
        self._speech_ms = 0  # consecutive speech in the current burst
        self._silence_ms = 0  # consecutive silence since the caller last spoke
        self._turn_speech_ms = 0  # total speech in the current caller turn
        self._in_turn = False
        self._turn_audio = bytearray()
        self._preroll = bytearray()
        self._stt_turn: SttTurn | None = None
        self._turn_started: datetime | None = None
        self._turn_last_speech: float = 0.0
        self._turn_last_speech_at: datetime | None = None
        self._eot_check: asyncio.Task[float] | None = None
        self._eot_checked = False
        self._barged = False  # the agent is paused because the caller spoke over it
        # agent side
        self._agent: _AgentTurn | None = None
        self._reply: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._writes: set[asyncio.Task[object]] = set()  # transcript writes: awaited at the end, never cancelled
        self._idle_since = time.monotonic()
        self._reprompted = False
        self._greeted = not settings.outbound
        self._answered_at = time.monotonic()
        self._hang_up = False
        self._media: MediaSession | None = None

    # -- the loop ---------------------------------------------------------------------------------

    async def run(self, media: MediaSession, call: CallControl) -> None:
        """Converse on the call until either side ends it."""
        self._media = media
        self._answered_at = time.monotonic()
        if not self.settings.outbound:
            self._open_with_first_message()
        try:
            async for frame in media.frames():
                self._on_frame(frame)
                self._feed_agent_audio()
                if self._hang_up and self._agent is None and media.queued_ms == 0:
                    break
                self._check_silence()
        finally:
            await self._stop()

    def _on_frame(self, frame: bytes) -> None:
        t = self._t
        prob = self._vad.feed(frame)
        is_speech = prob >= t.speech_threshold
        if is_speech:
            self._speech_ms += FRAME_MS
            self._silence_ms = 0
        else:
            self._speech_ms = 0
            self._silence_ms += FRAME_MS

        if not self._in_turn:
            self._preroll += frame
            del self._preroll[: max(0, len(self._preroll) - 300 * _BYTES_PER_MS)]
            if self._speech_ms >= t.start_ms:
                self._open_caller_turn()
            return

        self._turn_audio += frame
        del self._turn_audio[: max(0, len(self._turn_audio) - _SMART_TURN_BYTES)]
        self._push_stt(frame)
        if is_speech:
            self._turn_speech_ms += FRAME_MS
            self._turn_last_speech = time.monotonic()
            self._turn_last_speech_at = _now()
            if self._eot_check is not None:  # the caller went on: the pending decision is moot
                self._eot_check.cancel()
                self._eot_check = None
            self._eot_checked = False
            if self._barged and self._turn_speech_ms > t.backchannel_max_ms:
                self._interrupt_agent()  # too long for "uh-huh": the caller has taken the floor
            return

        if self._silence_ms >= t.stop_ms and not self._eot_checked:
            self._eot_checked = True
            self.stats.turn_checks += 1
            # No speculative transcription here: measured on 2 cores, a whisper run started at every mid-sentence
            # pause ran to the end even when the caller went on, and the final transcript queued behind it
            # (p50 transcript 3.1 s instead of ~1 s). Streaming providers transcribe as audio arrives anyway.
            self._eot_check = self._spawn(self._completion_probability(bytes(self._turn_audio)))
        check = self._eot_check
        if check is not None and check.done():
            self._eot_check = None
            if not check.cancelled() and check.exception() is None and check.result() >= t.complete_threshold:
                self.stats.turn_checks_complete += 1
                self._end_caller_turn()
                return
        if self._silence_ms >= t.incomplete_wait_ms:
            self.stats.turns_capped += 1
            self._end_caller_turn()

    def _open_caller_turn(self) -> None:
        self._in_turn = True
        self.stats.caller_turns += 1
        self._turn_speech_ms = self._speech_ms
        self._turn_started = _now()
        self._turn_last_speech = time.monotonic()
        self._turn_last_speech_at = self._turn_started
        self._turn_audio = bytearray(self._preroll)
        self._preroll.clear()
        self._eot_checked = False
        self._stt_turn = self.providers.stt.open_turn()
        self._push_stt(bytes(self._turn_audio))
        agent = self._agent
        if agent is not None and agent.started_at is None and self._greeted:
            # The caller went on before the reply became audible: answer the whole of what they say instead.
            if self._reply is not None:
                self._reply.cancel()
            self._agent = None
        elif agent is not None:
            self._pause_agent()

    def _push_stt(self, pcm: bytes) -> None:
        if self._stt_turn is not None and pcm:
            self._stt_turn.push(pcm)

    async def _completion_probability(self, audio: bytes) -> float:
        if self.providers.smart_turn is None:
            return 0.0  # without the model only the silence cap ends a turn
        try:
            return await self.providers.smart_turn.probability(audio)
        except Exception:  # a failed model must not end the call; the silence cap still ends the turn
            log.exception("smart turn failed")
            return 0.0

    def _end_caller_turn(self) -> None:
        stt, started = self._stt_turn, self._turn_started or _now()
        ended_at = self._turn_last_speech_at or _now()
        speech_ms, end_mono = self._turn_speech_ms, self._turn_last_speech
        self._in_turn = False
        self._stt_turn = None
        self._turn_audio = bytearray()
        if self._eot_check is not None:
            self._eot_check.cancel()
            self._eot_check = None
        if stt is None:
            return
        barged = self._barged
        greeting = not self._greeted
        if greeting:
            # Outbound: the callee's "hello?" is over, so speak now; its transcript is only stored.
            self._open_with_first_message()
        self._spawn(self._take_caller_turn(stt, started, ended_at, end_mono, speech_ms, barged, greeting))

    async def _take_caller_turn(
        self,
        stt: SttTurn,
        started: datetime,
        ended_at: datetime,
        end_mono: float,
        speech_ms: int,
        barged: bool,
        greeting: bool = False,
    ) -> None:
        detected = time.monotonic()
        try:
            text = (await stt.transcript()).strip()
        except SttError as exc:
            log.warning("transcription failed: %s", exc)
            text = ""
        finally:
            await stt.aclose()
        transcribed = time.monotonic()
        if barged and self._barged:
            log.debug("caller spoke over the agent: %r (%d ms of speech)", text, speech_ms)
            if speech_ms <= self._t.backchannel_max_ms and not interrupts(text):
                self._resume_agent()
                return
            self._interrupt_agent()
        if not text:
            self._idle_since = time.monotonic()
            return
        await self._spawn(self.events.turn("user", text, started, ended_at, False), write=True)
        self.history.append({"role": "user", "content": text})
        self._idle_since = time.monotonic()
        self._reprompted = False
        if is_opt_out(text):
            await self.events.opt_out()
            self._say(self.settings.opt_out_reply, then_hang_up=True)
        elif contains_phrase(text, self.settings.end_call_phrases):
            self._say(self.settings.goodbye, then_hang_up=True)
        elif greeting:
            pass  # the first message is already being spoken
        else:
            self._start_reply(_Clock(end_mono, detected, transcribed, text))

    # -- agent speech ---------------------------------------------------------------------------------

    def _open_with_first_message(self) -> None:
        self._greeted = True
        if self.settings.first_message:
            self._say(self.settings.first_message)
        elif self.settings.outbound or len(self.history) > 1:
            self._start_reply(None)

    def finish_with(self, text: str) -> None:
        """Say ``text`` now, in place of anything being said, then hang up (the owner's way to end the call)."""
        self._say(text, then_hang_up=True)

    def _say(self, text: str, then_hang_up: bool = False) -> None:
        """Speak a fixed line (first message, re-prompt, goodbye) as its own agent turn."""
        self._replace_reply(self._speak([text], then_hang_up))

    def _start_reply(self, clock: _Clock | None) -> None:
        self._replace_reply(self._generate(clock))

    def _replace_reply(self, coro: Awaitable[None]) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.cancel()
        if self._agent is not None:
            self._finish_agent_turn(interrupted=True)  # a new line replaces whatever was being said
        self._barged = False
        self._agent = _AgentTurn()
        self._reply = asyncio.ensure_future(coro)

    async def _speak(self, sentences: list[str], then_hang_up: bool) -> None:
        agent = self._agent
        assert agent is not None
        agent.then_hang_up = then_hang_up
        for sentence in sentences:
            await self._synthesise(agent, sentence)
        agent.finished = True

    async def _generate(self, clock: _Clock | None) -> None:
        agent = self._agent
        assert agent is not None
        splitter = SentenceSplitter()
        first = True
        try:
            async for event in self.providers.llm.stream(self.history, self.providers.tools):
                if isinstance(event, ToolCall):
                    if event.name == "end_call":
                        agent.then_hang_up = True
                    continue
                assert isinstance(event, TextDelta)
                for sentence in splitter.feed(event.text):
                    await self._synthesise(agent, sentence, clock if first else None)
                    first = False
            for sentence in splitter.flush():
                await self._synthesise(agent, sentence, clock if first else None)
                first = False
        except LlmError as exc:
            log.warning("language model failed: %s", exc)
            if not agent.segments:
                await self._synthesise(agent, "Sorry, I am having trouble right now. Could you say that again?")
        if agent.then_hang_up and not agent.segments:
            await self._synthesise(agent, self.settings.goodbye)
        agent.finished = True

    async def _synthesise(self, agent: _AgentTurn, sentence: str, clock: _Clock | None = None) -> None:
        segment = _Segment(sentence)
        agent.segments.append(segment)
        first_sentence = time.monotonic()
        resampler = Resampler(self.providers.tts.sample_rate, SAMPLE_RATE)
        try:
            async for chunk in self.providers.tts.synthesize(sentence):
                if clock is not None and not segment.audio:
                    clock.report(self, first_sentence)
                segment.audio += resampler.process(chunk)
            segment.audio += resampler.flush()
        except TtsError as exc:
            log.warning("speech synthesis failed: %s", exc)
        segment.complete = True

    def _feed_agent_audio(self) -> None:
        """Keep ``lead_ms`` of agent audio queued below us, a frame or two per tick."""
        media, agent = self._media, self._agent
        if media is None or agent is None or self._barged:
            return
        want = self._t.lead_ms - media.queued_ms
        while want > 0 and agent.segments:
            segment = agent.segments[0]
            ready = len(segment.audio) - segment.sent
            if ready <= 0:
                if not segment.complete:
                    return  # TTS is still producing this sentence
                agent.spoken.append(agent.segments.pop(0).text)
                continue
            size = min(ready, int(want * _BYTES_PER_MS) // FRAME_BYTES * FRAME_BYTES or FRAME_BYTES)
            size -= size % 2
            if agent.started_at is None:
                agent.started_at = _now()
            media.play(bytes(segment.audio[segment.sent : segment.sent + size]))
            segment.sent += size
            want -= size / _BYTES_PER_MS
        if agent.finished and not agent.segments and media.queued_ms == 0:
            self._finish_agent_turn(interrupted=False)

    def _spoken_text(self, agent: _AgentTurn, unsent_ms: float = 0.0) -> str:
        """The words the caller actually heard: whole sentences played, and the heard share of the current one."""
        words = list(agent.spoken)
        if agent.segments:
            segment = agent.segments[0]
            heard = max(0, segment.sent - int(unsent_ms * _BYTES_PER_MS))
            if heard and segment.audio:
                share = heard / max(len(segment.audio), 1)
                parts = segment.text.split()
                take = round(len(parts) * share)
                if take:
                    words.append(" ".join(parts[:take]))
        return " ".join(words).strip()

    def _finish_agent_turn(self, interrupted: bool, unsent_ms: float = 0.0) -> None:
        agent, self._agent = self._agent, None
        if agent is None:
            return
        text = self._spoken_text(agent, unsent_ms)
        if text:
            started = agent.started_at or _now()
            self.history.append({"role": "assistant", "content": text})
            self._spawn(self.events.turn("assistant", text, started, _now(), interrupted), write=True)
        self._idle_since = time.monotonic()
        if agent.then_hang_up and not interrupted:
            self._hang_up = True

    def _pause_agent(self) -> None:
        """The caller started speaking over the agent: silence the agent at once, keep its place."""
        media, agent = self._media, self._agent
        if media is None or agent is None:
            return
        unsent = media.queued_ms
        media.flush()
        if agent.segments:
            segment = agent.segments[0]
            segment.sent = max(0, segment.sent - int(unsent * _BYTES_PER_MS) // 2 * 2)
        self._barged = True

    def _resume_agent(self) -> None:
        """The caller only said "uh-huh": carry on where the agent stopped."""
        self._barged = False

    def _interrupt_agent(self) -> None:
        """The caller took the floor: stop the reply and store what the caller actually heard."""
        if self._reply is not None and not self._reply.done():
            self._reply.cancel()
        self._reply = None
        if self._media is not None and not self._barged:
            self._media.flush()
        self._barged = False
        self._finish_agent_turn(interrupted=True)

    # -- silence and shutdown ---------------------------------------------------------------------

    def _check_silence(self) -> None:
        now = time.monotonic()
        if not self._greeted:
            if not self._in_turn and now - self._answered_at >= self._t.greeting_timeout_s:
                self._open_with_first_message()
            return
        if self._in_turn or self._agent is not None:
            self._idle_since = now  # silence is counted from when both sides last stopped
            return
        if self._hang_up:
            return
        if now - self._idle_since < self.settings.silence_timeout_s:
            return
        self._idle_since = now
        if not self._reprompted:
            self._reprompted = True
            self._say(self.settings.reprompt)
        else:
            self._say(self.settings.goodbye, then_hang_up=True)

    def _spawn(self, coro: Awaitable[object], write: bool = False) -> asyncio.Task[object]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        if write:
            self._writes.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        self._writes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("conversation task failed", exc_info=task.exception())

    async def _stop(self) -> None:
        self.stats.vad_inferences = self._vad.inferences
        media = self._media
        unsent = media.queued_ms if media is not None else 0.0
        if self._agent is not None and self._agent.started_at is not None:
            self._finish_agent_turn(interrupted=not self._hang_up, unsent_ms=unsent)
        if self._reply is not None:
            self._reply.cancel()
        if self._stt_turn is not None:
            self._spawn(self._stt_turn.aclose())
        # Let the transcript writes finish; anything still talking to a provider is cancelled.
        pending = [t for t in self._tasks if not t.done()]
        for task in pending:
            if task not in self._writes:
                task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)


@dataclass
class _Clock:
    """Times of one reply's stages, from the end of the caller's speech."""

    end_of_speech: float
    detected: float
    transcribed: float
    text: str
    reported: bool = False

    def report(self, conversation: Conversation, first_sentence: float) -> None:
        """Record the breakdown once the reply's first audio exists."""
        if self.reported:
            return
        self.reported = True
        now = time.monotonic()
        timing = TurnTiming(
            turn_detected=self.detected - self.end_of_speech,
            transcript_ready=self.transcribed - self.end_of_speech,
            first_sentence=first_sentence - self.end_of_speech,
            first_audio=now - self.end_of_speech,
            transcript=self.text,
        )
        conversation.timings.append(timing)
        conversation.events.timing(timing)
