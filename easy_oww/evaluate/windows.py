"""The one place that cuts embedding streams and clips into model windows and scores them.

Two kinds of input are scored, and they are cut differently on purpose:

- a *fresh stream*: the embeddings of a recording from its start
  (`easy_oww.features.streaming.stream_embeddings`). openWakeWord scores every frame of it,
  the first windows reaching back into the silence its feature buffer starts with
  (`history`), and forces the first `WARMUP_FRAMES` scores to 0.0. One score per frame.
- a *precomputed stream or clip*: embeddings already cut and concatenated (train's
  negative streams, the feature store's held-out clips). Only the windows that lie wholly
  inside it are scored: ``frames - N + 1`` scores, no warm-up.

`model` is anything with ``n_frames`` and ``score_windows([k, N, 96]) -> [k]``
(`easy_oww.evaluate.detector.WakeWordModel`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from easy_oww.contract import EMBEDDING_DIM
from easy_oww.evaluate import metrics

WARMUP_FRAMES = 5
"""openWakeWord returns 0.0 for the first 5 predictions of a stream; so do we."""

SCORE_BLOCK = 4096
"""Windows handed to the model per call (it batches further inside)."""


def stream_windows(stream: np.ndarray, n_frames: int,
                   history: np.ndarray | None = None) -> np.ndarray:
    """The model windows of a stream [frames, 96] as a view [k, n_frames, 96].

    With `history` (a fresh stream), one window per frame, the first ones padded with the
    last ``n_frames - 1`` rows of `history`; without, only the ``frames - n_frames + 1``
    windows that lie wholly inside `stream`.
    """
    feats = np.asarray(stream, dtype=np.float32).reshape(-1, EMBEDDING_DIM)
    if history is not None and feats.shape[0] and n_frames > 1:
        hist = np.asarray(history, dtype=np.float32).reshape(-1, EMBEDDING_DIM)
        feats = np.concatenate([hist[hist.shape[0] - (n_frames - 1):], feats])
    if feats.shape[0] < n_frames:
        return np.zeros((0, n_frames, EMBEDDING_DIM), dtype=np.float32)
    view = np.lib.stride_tricks.sliding_window_view(feats, n_frames, axis=0)
    out: np.ndarray = view.transpose(0, 2, 1)
    return out


def score_stream(model: Any, stream: np.ndarray, *, history: np.ndarray | None = None,
                 block: int = SCORE_BLOCK) -> np.ndarray:
    """Per-window scores of `stream` (see `stream_windows`); with `history` the stream is
    fresh: one score per frame, the first `WARMUP_FRAMES` 0.0 as in openWakeWord."""
    windows = stream_windows(stream, model.n_frames, history)
    scores = np.empty(windows.shape[0], dtype=np.float32)
    for i in range(0, scores.size, block):
        scores[i:i + block] = model.score_windows(windows[i:i + block])
    if history is not None:
        scores[:WARMUP_FRAMES] = 0.0
    return scores


def clip_peaks(model: Any, clips: np.ndarray, patience: int = 1) -> np.ndarray:
    """Each clip's best score over its windows, held for `patience` frames (as a streaming
    detector sees the phrase pass): clips [m, frames, 96] -> float32 [m]."""
    if len(clips) == 0:
        return np.zeros(0, np.float32)
    n = model.n_frames
    n_win = clips.shape[1] - n + 1
    views = np.lib.stride_tricks.sliding_window_view(clips, n, axis=1)
    flat = views.transpose(0, 1, 3, 2).reshape(-1, n, clips.shape[2])
    rows = model.score_windows(flat).reshape(len(clips), n_win)
    return np.array([metrics.clip_peak(r, min(patience, n_win)) for r in rows],
                    dtype=np.float32)


def stream_peaks(model: Any, streams: Sequence[np.ndarray], history: np.ndarray,
                 patience: int = 1) -> np.ndarray:
    """Each fresh stream's peak score (a recorded clip scored from its start), held for
    `patience` frames; 0.0 for a stream too short to score."""
    peaks = np.zeros(len(streams), dtype=np.float64)
    for i, s in enumerate(streams):
        scores = score_stream(model, s, history=history)
        peaks[i] = metrics.clip_peak(scores, patience) if scores.size else 0.0
    return peaks
