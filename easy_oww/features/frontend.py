"""openWakeWord's feature front end (melspectrogram + speech embedding), fast and exact.

Audio goes in as 16 kHz int16 samples, at int16 scale, exactly as openWakeWord feeds its
models (float audio in [-1, 1] gives embeddings ~30 % apart and would not match the shared
precomputed negative features).

Two facts shape this module (both measured with openwakeword 0.4.0's models):

1. The melspectrogram model floors its output at (max - 80 dB) over the *whole input
   tensor*, so batching several clips into one call changes their results. Each clip gets
   its own melspectrogram call, as in ``AudioFeatures.embed_clips``.
2. The embedding network is fully convolutional in time (valid padding, total stride 8 ==
   the window hop), so one run over a whole clip's melspectrogram gives exactly the
   per-window embeddings; clips of equal length are then batched together.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from easy_oww.contract import (
    EMBEDDING_DIM,
    EMBEDDING_HOP,
    EMBEDDING_WINDOW,
    MEL_BINS,
    MEL_WINDOW_SAMPLES,
)
from easy_oww.errors import AudioError, ConfigError, DeviceError
from easy_oww.features import models

log = logging.getLogger(__name__)

EMBED_BATCH_CLIPS = {"cpu": 8, "cuda": 64}
"""Clips per embedding-model call in `embed_clips`. On CPU small batches stay in cache
(measured: 1-8 clips ~790 audio-s/s, 64 clips ~600 on one thread)."""
EMBED_BATCH_WINDOWS = 128
"""Windows per call on the fallback path (unmodified 76-frame model)."""


def _check_int16(audio: np.ndarray, ndim: int) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.dtype != np.int16:
        raise AudioError(
            f"the feature front end takes int16 audio, got {audio.dtype}",
            "convert float audio in [-1, 1] with easy_oww.audio.io.to_int16 first")
    if audio.ndim != ndim:
        raise AudioError(f"expected {ndim}-D audio, got shape {audio.shape}")
    return audio


def _providers(device: str) -> list[str]:
    import onnxruntime as ort

    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise DeviceError(
                "device 'cuda' was selected but ONNX Runtime has no CUDA provider here",
                "install onnxruntime-gpu (and a CUDA runtime), or use device 'cpu'")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ConfigError(f"unknown feature device {device!r}", "use 'cpu' or 'cuda'")


class FrontEnd:
    """One pair of ONNX Runtime sessions (melspectrogram, embedding); not thread-safe.

    `threads` is the intra-op thread count of each session (1 is fastest per core when
    several worker processes run side by side). Sessions are created on first use.
    """

    def __init__(self, *, threads: int = 1, device: str = "cpu") -> None:
        if threads < 1:
            raise ConfigError(f"threads must be >= 1, got {threads}")
        self.threads = threads
        self.device = device
        self._providers = _providers(device)
        self._mel: Any = None
        self._emb: Any = None
        self.full_clip = False  # True once the free-time-axis embedding model is loaded

    # -- sessions -------------------------------------------------------------------
    def _session(self, model: str | bytes) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        return ort.InferenceSession(model, sess_options=opts, providers=self._providers)

    def _load(self) -> None:
        files = models.model_files()
        self._mel = self._session(str(files.melspectrogram))
        full = models.full_clip_embedding_model(files.embedding)
        if full is None:
            log.info("onnx is not installed: embedding window by window (slower, same numbers)")
            self._emb = self._session(str(files.embedding))
        else:
            self._emb = self._session(full)
            self.full_clip = True

    @property
    def providers(self) -> list[str]:
        """The execution providers the sessions actually use."""
        if self._mel is None:
            self._load()
        return list(self._mel.get_providers())

    # -- melspectrogram ------------------------------------------------------------
    def melspectrogram(self, audio: np.ndarray) -> np.ndarray:
        """int16 [samples] -> float32 [frames, 32], already ``x / 10 + 2`` like openWakeWord."""
        audio = _check_int16(audio, 1)
        if self._mel is None:
            self._load()
        if audio.shape[0] < MEL_WINDOW_SAMPLES:
            return np.zeros((0, MEL_BINS), dtype=np.float32)
        out = self._mel.run(None, {"input": audio.astype(np.float32)[None, :]})[0]
        spec: np.ndarray = out.reshape(-1, MEL_BINS) / 10 + 2
        return spec.astype(np.float32, copy=False)

    # -- embeddings ----------------------------------------------------------------
    def embed_melspectrograms(self, mels: np.ndarray) -> np.ndarray:
        """float32 [n, frames, 32] -> [n, (frames - 76) // 8 + 1, 96] (windows of 76, hop 8)."""
        if self._emb is None:
            self._load()
        mels = np.ascontiguousarray(mels, dtype=np.float32)
        n, frames = mels.shape[0], mels.shape[1]
        if frames < EMBEDDING_WINDOW or n == 0:
            return np.zeros((n, 0, EMBEDDING_DIM), dtype=np.float32)
        if self.full_clip:
            out: np.ndarray = self._emb.run(None, {"input_1": mels[..., None]})[0]
            return out
        return self._embed_windows(mels)

    def _embed_windows(self, mels: np.ndarray) -> np.ndarray:
        """Fallback: every 76-frame window through the unmodified model."""
        n, frames = mels.shape[0], mels.shape[1]
        count = (frames - EMBEDDING_WINDOW) // EMBEDDING_HOP + 1
        idx = np.arange(count)[:, None] * EMBEDDING_HOP + np.arange(EMBEDDING_WINDOW)[None, :]
        windows = mels[:, idx].reshape(n * count, EMBEDDING_WINDOW, MEL_BINS, 1)
        parts = [
            self._emb.run(None, {"input_1": windows[i:i + EMBED_BATCH_WINDOWS]})[0]
            for i in range(0, windows.shape[0], EMBED_BATCH_WINDOWS)
        ]
        return np.concatenate(parts).reshape(n, count, EMBEDDING_DIM)

    def embed_clip(self, audio: np.ndarray) -> np.ndarray:
        """int16 [samples] -> float32 [frames, 96], one frame per 80 ms (per-clip mel floor)."""
        mel = self.melspectrogram(audio)
        out: np.ndarray = self.embed_melspectrograms(mel[None])[0]
        return out

    def embed_clips(self, audio: np.ndarray) -> np.ndarray:
        """int16 [n, samples] -> float32 [n, frames, 96]; equals openWakeWord's embed_clips."""
        audio = _check_int16(audio, 2)
        n = audio.shape[0]
        mels = [self.melspectrogram(clip) for clip in audio]
        if n == 0:
            return np.zeros((0, 0, EMBEDDING_DIM), dtype=np.float32)
        step = EMBED_BATCH_CLIPS[self.device]
        parts = [
            self.embed_melspectrograms(np.stack(mels[i:i + step])) for i in range(0, n, step)
        ]
        return np.concatenate(parts)
