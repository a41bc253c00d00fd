"""Synthetic embedding data with a known answer, for tests and head/trick benchmarks.

A "wake word" is three pattern vectors A, B, C over consecutive frame groups, ending near
the end of the 16-frame window (as real training windows do). Negatives are background
frames; near misses hold part of the phrase or its parts in the wrong order, so a head
must use the order of frames, not just their presence. Background frames vary slowly
over time, like real embedding streams. `difficulty` scales noise against the pattern.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from easy_oww.contract import EMBEDDING_DIM, FRAME_MS, MODEL_INPUT_FRAMES
from easy_oww.rng import item_rng
from easy_oww.training.data import TrainingData, sliding_windows

FRAMES_PER_HOUR = int(3600 * 1000 / FRAME_MS)
PART_FRAMES = 3  # frames per pattern part: A A A B B B C C C
PATTERN_NORM = 4.0


@dataclass(frozen=True)
class SyntheticTask:
    """Fixed pattern vectors; `make_*` draw data from a generator."""

    patterns: np.ndarray  # [3, 96]
    difficulty: float

    def _background(self, n: int, frames: int, rng: np.random.Generator) -> np.ndarray:
        # A stationary AR(1) process (so windows cut from a long stream look like short
        # clips) plus white noise scaled by the difficulty.
        rho = 0.9
        x = np.empty((n, frames, EMBEDDING_DIM))
        x[:, 0] = rng.normal(0, 1.0, (n, EMBEDDING_DIM))
        eps = rng.normal(0, np.sqrt(1 - rho * rho), (n, frames, EMBEDDING_DIM))
        for t in range(1, frames):
            x[:, t] = rho * x[:, t - 1] + eps[:, t]
        x += rng.normal(0, self.difficulty, (n, frames, EMBEDDING_DIM))
        return x.astype(np.float32)

    def _stamp(self, x: np.ndarray, parts: list[int], rng: np.random.Generator,
               end_range: tuple[int, int]) -> None:
        """Add the parts (indices into patterns) in order, ending at a random frame."""
        n, frames, _ = x.shape
        length = PART_FRAMES * len(parts)
        for i in range(n):
            end = int(rng.integers(end_range[0], end_range[1] + 1))
            start = max(0, end - length)
            gain = rng.uniform(0.6, 1.4)
            for j, part in enumerate(parts):
                a = start + j * PART_FRAMES
                x[i, a:min(frames, a + PART_FRAMES)] += gain * self.patterns[part]

    def positives(self, n: int, rng: np.random.Generator) -> np.ndarray:
        x = self._background(n, MODEL_INPUT_FRAMES, rng)
        self._stamp(x, [0, 1, 2], rng, (MODEL_INPUT_FRAMES - 3, MODEL_INPUT_FRAMES))
        return x

    def near_misses(self, n: int, rng: np.random.Generator) -> np.ndarray:
        x = self._background(n, MODEL_INPUT_FRAMES, rng)
        variants = [[0, 1], [1, 2], [2, 1, 0], [0, 2, 1], [0, 0, 2], [1, 0, 2]]
        for k in range(n):
            parts = variants[int(rng.integers(len(variants)))]
            self._stamp(x[k:k + 1], parts, rng, (9, MODEL_INPUT_FRAMES))
        return x

    def negatives(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._background(n, MODEL_INPUT_FRAMES, rng)

    def stream(self, hours: float, rng: np.random.Generator, near_miss_every: int = 200
               ) -> np.ndarray:
        """[T, 96] negative audio embeddings with a near miss every ~`near_miss_every` frames."""
        total = int(FRAMES_PER_HOUR * hours)
        seg = 400
        n_seg = -(-total // seg)
        x = self._background(n_seg, seg, rng)
        variants = [[0, 1], [1, 2], [2, 1, 0], [0, 2, 1]]
        for s in range(n_seg if near_miss_every > 0 else 0):
            for a in range(0, seg - 12, near_miss_every):
                if rng.random() < 0.7:
                    parts = variants[int(rng.integers(len(variants)))]
                    off = a + int(rng.integers(0, near_miss_every - 12 - MODEL_INPUT_FRAMES))
                    self._stamp(x[s:s + 1, off:off + 12], parts, rng, (12, 12))
        out: np.ndarray = x.reshape(-1, EMBEDDING_DIM)[:total].copy()
        return out


def make_task(seed: int, difficulty: float = 0.6) -> SyntheticTask:
    rng = item_rng(seed, "synthetic-patterns")
    patterns = rng.normal(0, 1.0, (3, EMBEDDING_DIM))
    patterns *= PATTERN_NORM / np.linalg.norm(patterns, axis=1, keepdims=True)
    return SyntheticTask(patterns=patterns.astype(np.float32), difficulty=difficulty)


def make_training_data(seed: int, *, n_pos: int = 2000, n_neg: int = 4000,
                       n_adv: int = 1000, n_val: int = 300, val_hours: float = 0.25,
                       difficulty: float = 0.6, shard_size: int = 1000,
                       stream_hours: float = 0.25, near_miss_every: int = 200,
                       split: str = "train") -> TrainingData:
    """A `TrainingData` drawn from the task of `seed`; `split` gives independent draws."""
    task = make_task(seed, difficulty)

    def draw(kind: str, n: int) -> np.ndarray:
        rng = item_rng(seed, kind, stream=split)
        out: np.ndarray = getattr(task, kind)(n, rng)
        return out

    def shards(x: np.ndarray) -> list[np.ndarray]:
        return [x[i:i + shard_size] for i in range(0, len(x), shard_size)]

    # Like the real pipeline, negatives include windows cut from long negative audio.
    train_stream = task.stream(stream_hours, item_rng(seed, "train-stream", stream=split),
                               near_miss_every)
    cut = np.ascontiguousarray(sliding_windows(train_stream)[::2])
    negs = (shards(draw("negatives", n_neg)) + shards(draw("near_misses", n_adv))
            + shards(cut))
    return TrainingData(
        positives=shards(draw("positives", n_pos)),
        negatives=negs,
        val_positives=draw("positives", n_val),
        val_negative_stream=task.stream(val_hours, item_rng(seed, "stream", stream=split),
                                        near_miss_every),
        val_negative_hours=val_hours,
        val_adversarial=draw("near_misses", n_val),
    )
