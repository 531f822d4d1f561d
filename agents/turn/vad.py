"""Silero VAD through onnxruntime: one shared model, one small recurrent state per call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from media.frames import SAMPLE_RATE

WINDOW = 512  # samples per inference at 16 kHz (32 ms), the size Silero was trained on
_CONTEXT = 64  # samples of the previous window Silero expects in front of each one
# Below this level (about -60 dBFS) a window is line silence; skipping the model there saves most of its cost on
# calls where the caller is quiet while the agent talks.
_SILENCE_RMS = 30.0
# Silero's recurrent state drifts under long non-speech and then under-reports speech; resetting it every ~5 s
# of quiet keeps it fresh without ever resetting in the middle of speech.
_RESET_AFTER_QUIET_WINDOWS = 160


class SileroModel:
    """The Silero VAD ONNX session, loaded once per process and shared by every call's stream."""

    def __init__(self, path: Path) -> None:
        options = ort.SessionOptions()
        # Inference is ~0.3 ms per window; more threads would only add wake-ups across many calls.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)

    def infer(self, window: np.ndarray, state: np.ndarray) -> tuple[float, np.ndarray]:
        """Return the speech probability of one context-prefixed window and the next recurrent state."""
        prob, new_state = self._session.run(None, {"input": window, "state": state, "sr": self._sr})
        return float(prob[0][0]), new_state

    def stream(self) -> VadStream:
        """Make one call's VAD state."""
        return VadStream(self)


class VadStream:
    """One call's speech probability, updated every 32 ms of 16 kHz audio fed to it."""

    def __init__(self, model: SileroModel) -> None:
        self._model = model
        self._pending = np.zeros(0, dtype=np.float32)
        self.probability = 0.0
        self.inferences = 0
        self._quiet_windows = 0
        self._reset()

    def _reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, _CONTEXT), dtype=np.float32)

    def feed(self, pcm16k: bytes) -> float:
        """Add 16 kHz mono s16 audio and return the probability of the latest complete window."""
        samples = np.frombuffer(pcm16k, dtype=np.int16)
        self._pending = np.concatenate((self._pending, samples.astype(np.float32)))
        while self._pending.size >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            if float(np.sqrt(np.mean(window * window))) < _SILENCE_RMS:
                self.probability = 0.0
                self._quiet_windows += 1
                if self._quiet_windows == _RESET_AFTER_QUIET_WINDOWS:
                    self._reset()
                self._context = (window[-_CONTEXT:] / 32768.0).reshape(1, _CONTEXT)
                continue
            x = (window / 32768.0).reshape(1, WINDOW)
            prob, self._state = self._model.infer(np.concatenate((self._context, x), axis=1), self._state)
            self._context = x[:, -_CONTEXT:]
            self.inferences += 1
            self.probability = prob
            self._quiet_windows = 0 if prob >= 0.5 else self._quiet_windows + 1
            if self._quiet_windows == _RESET_AFTER_QUIET_WINDOWS:
                self._reset()
        return self.probability
