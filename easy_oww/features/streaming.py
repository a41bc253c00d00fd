"""Streaming features (one 96-dim embedding per 80 ms), identical to openWakeWord's.

`StreamingFeatures` reproduces the internal ``AudioFeatures`` streaming state that
``openwakeword.Model.predict`` (0.4.0) keeps: a 10 s raw-audio buffer, a melspectrogram
buffer that starts as 76 rows of ones, a feature buffer that starts as the embeddings of
10 s of silence (116 frames) and keeps the last 120. Each time at least 1280 samples have
accumulated, the melspectrogram of those samples plus 480 samples of context is computed
in one call (so its -80 dB floor is taken over that segment only) and one embedding is
made per whole 1280 samples.

`stream_embeddings` gives, for a whole long recording, exactly the frames this streaming
state yields when fed 80 ms chunks, without the per-frame embedding calls.
"""

from __future__ import annotations

import numpy as np

from easy_oww.contract import (
    EMBEDDING_DIM,
    EMBEDDING_HOP,
    EMBEDDING_WINDOW,
    FRAME_SAMPLES,
    MEL_BINS,
    MEL_HOP_SAMPLES,
    MODEL_INPUT_FRAMES,
    SAMPLE_RATE,
)
from easy_oww.errors import AudioError
from easy_oww.features.frontend import FrontEnd

RAW_BUFFER_SAMPLES = 10 * SAMPLE_RATE
MEL_BUFFER_FRAMES = 10 * 97  # openWakeWord's melspectrogram_max_len
FEATURE_BUFFER_FRAMES = 120  # openWakeWord's feature_buffer_max_len (~10 s)
CONTEXT_SAMPLES = 3 * MEL_HOP_SAMPLES  # 480: extra samples before each streamed segment
STREAM_BLOCK_FRAMES = 1024  # embedding frames per model call in stream_embeddings


def silence_history(frontend: FrontEnd) -> np.ndarray:
    """The feature buffer openWakeWord starts with: embeddings of 10 s of silence [116, 96]."""
    history: np.ndarray = frontend.embed_clip(np.zeros(RAW_BUFFER_SAMPLES, dtype=np.int16))
    return history


class StreamingFeatures:
    """Feed int16 audio of any length; read the latest embedding window for a classifier."""

    def __init__(self, frontend: FrontEnd | None = None) -> None:
        self.frontend = frontend if frontend is not None else FrontEnd()
        self._history: np.ndarray | None = None
        self.reset()

    def reset(self) -> None:
        """Forget all audio: back to openWakeWord's initial buffers."""
        if self._history is None:
            self._history = silence_history(self.frontend)
        self._raw = np.zeros(0, dtype=np.int16)
        self._mel = np.ones((EMBEDDING_WINDOW, MEL_BINS), dtype=np.float32)
        self._features = self._history.copy()
        self._accumulated = 0

    @property
    def features(self) -> np.ndarray:
        """The whole feature buffer (up to 120 frames, oldest first); read-only view."""
        view: np.ndarray = self._features.view()
        view.flags.writeable = False
        return view

    def process(self, chunk: np.ndarray) -> int:
        """Add int16 samples; returns how many new 80 ms embedding frames were made."""
        chunk = np.asarray(chunk)
        if chunk.dtype != np.int16 or chunk.ndim != 1:
            raise AudioError(f"streaming audio must be 1-D int16, got {chunk.dtype} {chunk.shape}")
        self._raw = np.concatenate([self._raw, chunk])[-RAW_BUFFER_SAMPLES:]
        self._accumulated += chunk.shape[0]
        new = 0
        if self._accumulated >= FRAME_SAMPLES:
            segment = self._raw[-(self._accumulated + CONTEXT_SAMPLES):]
            mel = self.frontend.melspectrogram(segment)
            self._mel = np.concatenate([self._mel, mel])[-MEL_BUFFER_FRAMES:]
            new = self._embed_latest(self._accumulated // FRAME_SAMPLES)
            self._accumulated = 0
        self._features = self._features[-FEATURE_BUFFER_FRAMES:]
        return new

    def _embed_latest(self, wanted: int) -> int:
        """Embed the windows ending 0, 8, 16, ... rows before the end of the mel buffer."""
        rows = self._mel.shape[0]
        extra = min(wanted - 1, (rows - EMBEDDING_WINDOW) // EMBEDDING_HOP)
        start = rows - EMBEDDING_WINDOW - EMBEDDING_HOP * extra
        emb = self.frontend.embed_melspectrograms(self._mel[None, start:])[0]
        self._features = np.concatenate([self._features, emb])
        return int(emb.shape[0])

    def window(self, frames: int = MODEL_INPUT_FRAMES) -> np.ndarray:
        """The latest `frames` embeddings, float32 [frames, 96] (a classifier's input)."""
        return np.array(self._features[-frames:], dtype=np.float32)


def stream_embeddings(
    audio: np.ndarray, frontend: FrontEnd | None = None, *, with_history: bool = False
) -> np.ndarray:
    """Embeddings of a whole recording as streamed in 80 ms chunks: [len // 1280, 96].

    Frame k equals what `StreamingFeatures` adds after its (k+1)-th chunk of 1280 samples
    (samples after the last whole chunk are ignored). With `with_history`, the 116 frames of
    silence openWakeWord's buffer starts with come first, so that ``out[k : k + 16]`` shifted
    by the history length is the classifier window openWakeWord scores.
    """
    audio = np.asarray(audio)
    if audio.dtype != np.int16 or audio.ndim != 1:
        raise AudioError(f"audio must be 1-D int16, got {audio.dtype} {audio.shape}")
    fe = frontend if frontend is not None else FrontEnd()
    chunks = audio.shape[0] // FRAME_SAMPLES
    parts = [silence_history(fe)] if with_history else []
    # Melspectrogram rows exactly as streaming computes them: one call per segment of
    # 1280 new samples + 480 samples of context, each with its own floor.
    mel = [np.ones((EMBEDDING_WINDOW, MEL_BINS), dtype=np.float32)]
    for k in range(chunks):
        end = (k + 1) * FRAME_SAMPLES
        mel.append(fe.melspectrogram(audio[max(0, end - FRAME_SAMPLES - CONTEXT_SAMPLES):end]))
    rows = np.concatenate(mel)
    # The buffer then holds 76 + 8 * chunks - 3 rows; window k ends at row 76 + 8 * k + 5.
    first = rows.shape[0] - EMBEDDING_WINDOW - EMBEDDING_HOP * (chunks - 1) if chunks else 0
    for a in range(0, chunks, STREAM_BLOCK_FRAMES):
        b = min(chunks, a + STREAM_BLOCK_FRAMES)
        lo = first + EMBEDDING_HOP * a
        hi = first + EMBEDDING_HOP * (b - 1) + EMBEDDING_WINDOW
        parts.append(fe.embed_melspectrograms(rows[None, lo:hi])[0])
    if not parts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    return np.concatenate(parts).astype(np.float32, copy=False)
