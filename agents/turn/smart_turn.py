"""Smart Turn v3: an audio model that says whether a paused caller has finished their turn."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from faster_whisper.feature_extractor import FeatureExtractor

from agents.inference import ModelWorker
from media.frames import SAMPLE_RATE

_WINDOW_S = 8  # the model sees the last 8 s of the turn, zero-padded in front when shorter
_WINDOW = _WINDOW_S * SAMPLE_RATE


class SmartTurn:
    """The Smart Turn v3 ONNX model on its own worker thread, shared by every call."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        # Whisper's own log-mel front end with an 8-second window is exactly the input Smart Turn was trained on.
        self._features = FeatureExtractor(feature_size=80, sampling_rate=SAMPLE_RATE, chunk_length=_WINDOW_S)
        self._worker = ModelWorker("smart-turn")
        self.runs = 0
        self.cpu_s = 0.0  # CPU time of every run so far, for benchmarks

    def probability_sync(self, pcm16k: bytes) -> float:
        """Return the probability that the turn in ``pcm16k`` is complete (blocking; use ``probability``)."""
        started = time.thread_time()
        audio = np.frombuffer(pcm16k, dtype=np.int16).astype(np.float32) / 32768.0
        audio = audio[-_WINDOW:]
        if audio.size < _WINDOW:
            audio = np.pad(audio, (_WINDOW - audio.size, 0))
        audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
        mel = self._features(audio, padding=0)[:, : _WINDOW // 160]
        (prob,) = self._session.run(None, {"input_features": mel[np.newaxis].astype(np.float32)})
        self.runs += 1
        self.cpu_s += time.thread_time() - started
        return float(np.asarray(prob).reshape(-1)[0])

    async def probability(self, pcm16k: bytes) -> float:
        """Return the probability that the turn in ``pcm16k`` is complete, computed off the event loop."""
        return await self._worker.run(self.probability_sync, pcm16k)
