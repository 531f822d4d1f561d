"""End to end: a real SIP call from a second baresip phone to a ``trunkline serve`` node whose assistant runs the
local models (Silero, Smart Turn, whisper, SmolLM2, Piper). The phone plays a recorded request and records the
agent; the agent's reply is transcribed here and must be English speech, and the call's transcript holds both roles.
"""

from __future__ import annotations

import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soxr

from agents.model_assets import model_paths
from media.resample import Resampler
from tests.peers.baresip_peer import BaresipPeer
from tests.peers.ports import free_sip_port
from tests.peers.server import running_node

pytestmark = pytest.mark.slow
DID = "+14155550123"
GREETING = "Hello, this is Bright Smile Dental. How can I help you?"
REQUEST = "Hi, I'd like to book an appointment for Tuesday."


def _post(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post(path, json=body)
    assert r.status_code == 201, f"{path}: {r.status_code} {r.text}"
    return r.json()


def _speak_wav(model_dir: Path, text: str, path: Path) -> Path:
    """Write ``text`` spoken by Piper as a 16 kHz mono WAV (what the phone plays)."""
    from piper import PiperVoice

    voice = PiperVoice.load(str(model_paths(model_dir).piper_model))
    pcm = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(text))
    resampler = Resampler(int(voice.config.sample_rate), 16000)
    out = resampler.process(pcm) + resampler.flush()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(out + bytes(16000))  # a second of silence after the request
    return path


@pytest.fixture(scope="module")
def node(
    backend: str, migrated: str, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, int, Path]]:
    """A node with SIP on, an IP trunk from 127.0.0.1, and a DID answered by a local-model assistant."""
    tmp = tmp_path_factory.mktemp(f"talknode-{backend}")
    with running_node(backend, migrated, tmp, models_from=model_dir) as running:
        api, sip_port = running.api, running.sip_port
        trunk = _post(
            api,
            "/api/trunks",
            {"name": "loopback", "kind": "ip", "peer_host": "127.0.0.1", "allowed_cidrs": ["127.0.0.0/8"]},
        )
        assistant = _post(
            api,
            "/api/assistants",
            {
                "name": "receptionist",
                "system_prompt": "You are the receptionist of a dental office. Answer in one short sentence.",
                "first_message": GREETING,
                "inbound_enabled": True,
            },
        )
        assert assistant["llm"]["provider"] == "local" and assistant["voice"]["provider"] == "piper"
        _post(api, "/api/phone-numbers", {"number": DID, "trunk_id": trunk["id"], "assistant_id": assistant["id"]})
        time.sleep(0.5)
        yield api, sip_port, tmp


def _wait(peer: BaresipPeer, predicate: Any, timeout: float) -> dict[str, Any]:
    return peer.wait_for(predicate, timeout=timeout, interval=0.1)


def test_caller_asks_for_an_appointment_and_hears_an_english_reply(node, model_dir: Path, tmp_path: Path) -> None:
    api, sip_port, _ = node
    request = _speak_wav(model_dir, REQUEST, tmp_path / "request.wav")
    recording = tmp_path / "heard.wav"
    with BaresipPeer(free_sip_port(), "caller", max_seconds=90) as phone:
        phone.command("dial", uri=f"sip:{DID}@127.0.0.1:{sip_port}")
        _wait(phone, lambda s: s["established"], 15)
        # The greeting: voice arrives, then stops.
        _wait(phone, lambda s: s["rx_rms"] > 300, 10)
        _wait(phone, lambda s: s["rx_rms"] < 50, 20)
        phone.command("record", path=str(recording))
        phone.command("play", wav=str(request))
        status = _wait(phone, lambda s: s["first_voice_after_play"] is not None, 30)
        latency = status["first_voice_after_play"] - status["voice_sent_until"]
        time.sleep(0.5)
        _wait(phone, lambda s: s["rx_rms"] < 50, 30)  # the reply has been spoken
        heard = phone.command("stop_record")["samples"]
        phone.command("hangup")
    print(f"\nend of request -> first reply audio on the wire: {latency * 1000:.0f} ms")
    assert heard > 8000

    with wave.open(str(recording), "rb") as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    reply = pcm  # what the phone received after it started speaking: silence, then the agent's reply
    from faster_whisper import WhisperModel

    model = WhisperModel(str(model_paths(model_dir).whisper_dir), device="cpu", compute_type="int8", cpu_threads=2)
    audio = soxr.resample(reply.astype(np.float32) / 32768.0, rate, 16000)
    segments, info = model.transcribe(audio, beam_size=1)  # language detected here: it must come out English
    text = " ".join(s.text for s in segments).strip()
    assert info.language == "en", (info.language, text)
    assert len(text.split()) >= 2, text

    calls = api.get("/api/calls", params={"direction": "inbound", "limit": 1}).json()["items"]
    deadline = time.monotonic() + 20
    while True:
        row = api.get(f"/api/calls/{calls[0]['id']}").json()
        if row["ended_at"] is not None or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    turns = row["transcript"]
    roles = [t["role"] for t in turns]
    assert roles[:3] == ["assistant", "user", "assistant"], turns
    assert turns[0]["text"] == GREETING
    assert "appointment" in turns[1]["text"].lower()
    assert turns[2]["text"].strip()
    assert all(t["started_at"] <= t["ended_at"] for t in turns)
