"""A streaming wake-word detector that scores audio exactly as openWakeWord does.

`openwakeword.Model.predict`, fed 80 ms chunks (1280 samples), computes per chunk:

1. the melspectrogram of the new chunk plus the previous 480 samples (on the very first
   chunk there are none, so it yields 5 frames instead of 8), appended to a buffer that
   starts as 76 rows of ones;
2. one embedding of the last 76 melspectrogram frames, appended to a feature buffer that
   starts with embeddings of silence;
3. the wake-word model on the last N embeddings (N from the model's input shape);
4. the score is forced to 0.0 for the first 5 predictions (model warm-up).

`Detector` keeps the same state, so its per-frame scores equal openWakeWord's (within float
error, see tests/test_evaluate_detector.py), including the start-up frames: the first 5
are exactly 0 and the next few are computed partly from the padding. `score_audio` gives
the same numbers for a whole recording, computed in batches (the melspectrogram and the
embeddings once, then every model window), which is much faster than streaming.

Unlike openWakeWord, `Detector.process` accepts chunks of any length and buffers them into
exact 80 ms frames; openWakeWord itself drifts out of frame alignment when fed chunks that
are not multiples of 1280 samples.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from easy_oww.contract import EMBEDDING_DIM, FRAME_MS, FRAME_SAMPLES
from easy_oww.errors import EasyOWWError, ModelContractError
from easy_oww.evaluate import metrics, windows
from easy_oww.evaluate.windows import WARMUP_FRAMES

if TYPE_CHECKING:
    from easy_oww.features.frontend import FrontEnd

log = logging.getLogger(__name__)

__all__ = ["WARMUP_FRAMES", "Detection", "Detector", "WakeWordModel", "check_contract",
           "score_audio", "score_features", "silence_features"]

_WINDOW_BATCH = 512


def default_frontend() -> FrontEnd:
    """easy-oww's front end (openWakeWord's frozen melspectrogram + embedding models)."""
    from easy_oww.features.frontend import FrontEnd

    return FrontEnd()


@dataclass(frozen=True)
class Detection:
    """One activation: the frame it fired on, its time in the stream and its score."""

    frame: int
    time_s: float
    score: float


def _describe(args: list[Any]) -> str:
    """ONNX Runtime's inputs or outputs as `float32 [batch, 16, 96], ...`."""
    def one(a: Any) -> str:
        dtype = str(a.type).removeprefix("tensor(").removesuffix(")")
        dims = ", ".join(str(d) for d in a.shape)
        return f"{'float32' if dtype == 'float' else dtype} [{dims}]"

    return ", ".join(one(a) for a in args) or "none"


def check_contract(name: str, inputs: list[Any], outputs: list[Any]) -> None:
    """Refuse a model that is not a single-score openWakeWord classifier (DESIGN Contract
    1): one float32 input [batch, N, 96] (N static: 16 for easy-oww's models, more for a
    few of openWakeWord's) and exactly one float32 output [batch, 1]. One line says what
    was found and what is expected."""
    shape = list(inputs[0].shape) if len(inputs) == 1 else []
    if (len(inputs) != 1 or inputs[0].type != "tensor(float)" or len(shape) != 3
            or shape[2] != EMBEDDING_DIM or not isinstance(shape[1], int)):
        raise ModelContractError(
            f"{name} is not an openWakeWord model: {len(inputs)} input(s) "
            f"({_describe(inputs)}), expected one float32 input [batch, 16, {EMBEDDING_DIM}]",
            "use a model exported by easy-oww or openWakeWord")
    out_shape = list(outputs[0].shape) if len(outputs) == 1 else []
    if (len(outputs) != 1 or outputs[0].type != "tensor(float)" or len(out_shape) != 2
            or out_shape[1] != 1):
        raise ModelContractError(
            f"{name} is not a single-score openWakeWord model: {len(outputs)} output(s) "
            f"({_describe(outputs)}), expected exactly one float32 output [batch, 1]",
            "export one score per window (multi-class models are not supported)")


class WakeWordModel:
    """An openWakeWord classifier (ONNX, input [batch, N, 96], output [batch, 1])."""

    def __init__(self, path: str | Path, *, threads: int = 1) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise EasyOWWError(f"model file not found: {self.path}",
                               "train one with `easy-oww train NAME` or pass --model PATH")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
            raise EasyOWWError(f"cannot load ONNX model {self.path}: {exc}",
                               "is it an openWakeWord .onnx model?") from None
        check_contract(self.path.name, self.session.get_inputs(), self.session.get_outputs())
        inp = self.session.get_inputs()[0]
        shape = list(inp.shape)
        self.input_name: str = inp.name
        self.n_frames: int = shape[1]
        self.fixed_batch: int | None = shape[0] if isinstance(shape[0], int) else None

    def score_windows(self, features: np.ndarray) -> np.ndarray:
        """Scores of k feature windows float32 [k, N, 96] -> float32 [k]."""
        x = np.ascontiguousarray(features, dtype=np.float32)
        if x.ndim != 3 or x.shape[1:] != (self.n_frames, EMBEDDING_DIM):
            raise ValueError(f"expected [k, {self.n_frames}, {EMBEDDING_DIM}], got {x.shape}")
        if x.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        step = self.fixed_batch or _WINDOW_BATCH
        parts = []
        for i in range(0, x.shape[0], step):
            batch = x[i:i + step]
            if self.fixed_batch and batch.shape[0] != self.fixed_batch:
                pad = np.zeros((self.fixed_batch - batch.shape[0],) + batch.shape[1:], batch.dtype)
                out = self._run(np.concatenate([batch, pad]))[:batch.shape[0]]
            else:
                out = self._run(batch)
            parts.append(out)
        return np.concatenate(parts).astype(np.float32)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self.input_name: batch})[0]
        return np.asarray(out, dtype=np.float32).reshape(batch.shape[0], -1)[:, 0]


def silence_features(frontend: FrontEnd) -> np.ndarray:
    """The embeddings of silence openWakeWord's feature buffer starts with [116, 96]."""
    from easy_oww.features.streaming import silence_history

    return np.asarray(silence_history(frontend), dtype=np.float32)


class Detector:
    """Streaming detection: feed audio chunks, get detections (and per-frame scores).

    `threshold`, `patience` and `debounce_s` follow `easy_oww.evaluate.metrics.activations`:
    a detection fires after `patience` consecutive frames at or above `threshold`, then
    the detector stays silent for `debounce_s` seconds.
    """

    def __init__(self, model_path: str | Path | WakeWordModel, *, threshold: float = 0.5,
                 patience: int = 1, debounce_s: float = 1.0,
                 frontend: FrontEnd | None = None) -> None:
        from easy_oww.features.streaming import StreamingFeatures

        self.model = (model_path if isinstance(model_path, WakeWordModel)
                      else WakeWordModel(model_path))
        self.frontend = frontend if frontend is not None else default_frontend()
        self.threshold = float(threshold)
        self.patience = int(patience)
        self.debounce_frames = metrics.debounce_frames_for(debounce_s)
        if self.patience < 1:
            raise ValueError("patience must be at least 1")
        self._stream = StreamingFeatures(self.frontend)
        self._history: np.ndarray | None = None
        self.reset()

    def reset(self) -> None:
        """Forget all audio: the next chunk starts a fresh stream."""
        self._stream.reset()
        self._pending = np.zeros(0, dtype=np.int16)
        self.frames = 0
        self._run = 0
        self._silent = 0
        self.scores: list[float] = []

    # -- streaming -------------------------------------------------------------------------
    def process(self, chunk: np.ndarray) -> list[Detection]:
        """Add int16 audio of any length; return the detections it completes."""
        audio = np.asarray(chunk)
        if audio.dtype != np.int16:
            raise ValueError(f"audio must be int16, got {audio.dtype}")
        self._pending = np.concatenate([self._pending, audio.reshape(-1)])
        found: list[Detection] = []
        while self._pending.size >= FRAME_SAMPLES:
            frame, self._pending = (self._pending[:FRAME_SAMPLES],
                                    self._pending[FRAME_SAMPLES:])
            det = self._decide(self._score_frame(frame))
            if det is not None:
                found.append(det)
        return found

    @property
    def last_score(self) -> float:
        return self.scores[-1] if self.scores else 0.0

    def _score_frame(self, frame: np.ndarray) -> float:
        self._stream.process(frame)
        window = self._stream.window(self.model.n_frames)
        score = float(self.model.score_windows(window[None])[0])
        self.frames += 1
        if self.frames <= WARMUP_FRAMES:
            score = 0.0
        self.scores.append(score)
        return score

    def _decide(self, score: float) -> Detection | None:
        """One step of metrics.activations' state machine (kept in sync by a test)."""
        if self._silent:
            self._silent -= 1
            self._run = 0
            return None
        self._run = self._run + 1 if score >= self.threshold else 0
        if self._run < self.patience:
            return None
        self._run, self._silent = 0, self.debounce_frames
        i = self.frames - 1
        return Detection(i, (i + 1) * FRAME_MS / 1000.0, score)

    # -- whole recordings ------------------------------------------------------------------
    def score_audio(self, audio: np.ndarray) -> np.ndarray:
        """Per-frame scores of a whole int16 recording, as a fresh stream would give them.

        One score per complete 80 ms frame; computed in batches, equal to `process`.
        """
        from easy_oww.features.streaming import stream_embeddings

        feats = stream_embeddings(np.asarray(audio, dtype=np.int16), self.frontend)
        return self.score_features(feats)

    def score_features(self, features: np.ndarray) -> np.ndarray:
        """Per-frame scores of a fresh stream's embeddings (`stream_embeddings(audio)`)."""
        if self._history is None:
            self._history = silence_features(self.frontend)
        return score_features(self.model, features, self._history)

    def detect_audio(self, audio: np.ndarray) -> list[Detection]:
        """Detections in a whole recording (a fresh stream), from `score_audio`."""
        scores = self.score_audio(audio)
        idx = metrics.activations(scores, self.threshold, patience=self.patience,
                                  debounce_frames=self.debounce_frames)
        return [Detection(int(i), (int(i) + 1) * FRAME_MS / 1000.0, float(scores[i]))
                for i in idx]


def score_features(model: WakeWordModel, features: np.ndarray,
                   history: np.ndarray) -> np.ndarray:
    """Per-frame scores from a fresh stream's embeddings [frames, 96].

    `features` is `easy_oww.features.streaming.stream_embeddings(audio)`; `history` is the
    silence the stream's buffer starts with (`silence_features`). Frame k's score is the
    model on the N embeddings ending at frame k; the first 5 are 0.0 as in openWakeWord
    (`easy_oww.evaluate.windows.score_stream`).
    """
    return windows.score_stream(model, features, history=history)


def score_audio(model: WakeWordModel, audio: np.ndarray, *,
                frontend: FrontEnd | None = None) -> np.ndarray:
    """Per-frame scores of int16 `audio` as a fresh openWakeWord stream gives them."""
    from easy_oww.features.streaming import stream_embeddings

    fe = frontend if frontend is not None else default_frontend()
    feats = stream_embeddings(np.asarray(audio, dtype=np.int16), fe)
    return score_features(model, feats, silence_features(fe))
