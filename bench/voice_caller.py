"""The voice benchmarks' caller: dials the conversation server over SIP and speaks recorded utterances.

For each utterance it waits until the agent has been quiet for a moment, plays the clip, and measures on the
wire (on the caller's side of the RTP stream) the time from the clip's last voiced 20 ms to the first voiced
20 ms of the agent's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from media.frames import FRAME_BYTES, SAMPLE_RATE, rms
from media.resample import Resampler
from media.session import MediaSession
from sip_engine.engine import SipEngine

VOICED_RMS = 300.0 / 32768  # media.frames.rms is a fraction of full scale
QUIET_BEFORE_SPEAKING_S = 0.8  # the agent has finished when it has been silent this long
ANSWER_TIMEOUT_S = 20.0

UTTERANCES = (
    "Hi, I'd like to book an appointment for Tuesday.",
    "What time do you open tomorrow morning?",
    "Can I move my appointment to Friday afternoon?",
    "How much does a cleaning cost?",
    "Do you take walk-in patients?",
    "I need to cancel my visit next week.",
    "Is there parking near your office?",
    "Can you send me a reminder by text message?",
    "What is your address, please?",
    "Do you accept my insurance?",
    "My tooth has been hurting since yesterday.",
    "Could the doctor call me back today?",
)


@dataclass
class Utterance:
    """One recorded caller line: its text and 16 kHz mono audio, and where its voice ends."""

    text: str
    pcm: bytes
    voiced_until_s: float = 0.0

    def __post_init__(self) -> None:
        frames = [self.pcm[i : i + FRAME_BYTES] for i in range(0, len(self.pcm) - FRAME_BYTES + 1, FRAME_BYTES)]
        voiced = [i for i, f in enumerate(frames) if rms(f) > VOICED_RMS]
        self.voiced_until_s = (voiced[-1] + 1) * 0.02 if voiced else 0.0


def piper_utterances(piper_model: Path, texts: Sequence[str] = UTTERANCES) -> list[Utterance]:
    """The lines spoken by the Piper voice."""
    from piper import PiperVoice

    voice = PiperVoice.load(str(piper_model))
    out = []
    for text in texts:
        pcm = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(text))
        resampler = Resampler(int(voice.config.sample_rate), SAMPLE_RATE)
        out.append(Utterance(text, resampler.process(pcm) + resampler.flush()))
    return out


def espeak_utterances(texts: Sequence[str] = UTTERANCES, workdir: Path = Path("/tmp")) -> list[Utterance]:
    """The lines spoken by espeak-ng (a second, very different voice), as 16 kHz mono."""
    out = []
    for i, text in enumerate(texts):
        path = workdir / f"espeak-{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(path), text], check=True)
        with wave.open(str(path), "rb") as wav:
            rate, pcm = wav.getframerate(), wav.readframes(wav.getnframes())
        resampler = Resampler(rate, SAMPLE_RATE)
        out.append(Utterance(text, resampler.process(pcm) + resampler.flush()))
    return out


@dataclass
class CallerResult:
    """What one call measured."""

    latencies_s: list[float] = field(default_factory=list)
    unanswered: int = 0
    error: str | None = None


async def run_caller(
    engine: SipEngine, uri: str, utterances: Sequence[Utterance], rounds: int = 1, timeout_s: float = 600
) -> CallerResult:
    """Dial ``uri``, wait for the greeting, then speak each utterance in turn and time the answers."""
    result = CallerResult()
    loop = asyncio.get_running_loop()
    call = await engine.dial_uri(uri)
    try:
        await call.wait_answered(15)
        media = MediaSession(call)
        script = [u for _ in range(rounds) for u in utterances]
        speaking_until = 0.0  # when the current utterance's last voiced frame leaves us
        heard_since: float | None = None
        last_voice = loop.time()
        greeted = False
        pending = False
        deadline = loop.time() + timeout_s
        async with contextlib.aclosing(media.frames()) as frames:
            async for frame in frames:
                now = loop.time()
                voiced = rms(frame) > VOICED_RMS
                if voiced:
                    last_voice = now
                    greeted = True
                    if pending and now > speaking_until and heard_since is None:
                        heard_since = now
                        result.latencies_s.append(now - speaking_until)
                        pending = False
                if pending and now - speaking_until > ANSWER_TIMEOUT_S:
                    result.unanswered += 1
                    pending = False
                quiet = now - last_voice >= QUIET_BEFORE_SPEAKING_S and now > speaking_until
                if greeted and quiet and not pending:
                    if not script or now > deadline:
                        break
                    utterance = script.pop(0)
                    lead = media.queued_ms / 1000
                    media.play(utterance.pcm)
                    speaking_until = now + lead + utterance.voiced_until_s
                    heard_since = None
                    pending = True
        if pending:
            result.unanswered += 1
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        await call.hangup()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(call.ended), 10)
    return result


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile of ``values`` in whole units (None when empty)."""
    return round(float(np.percentile(values, q))) if values else None
