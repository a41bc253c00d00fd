"""Training inputs and the balanced batch sampler over feature shards.

Shards are arrays or read-only memory maps of shape [k, 16, 96] (float32, or float16 for
precomputed negatives that may hold millions of rows). The sampler never loads a shard
whole: each step it draws row indices and copies them with one sorted fancy-index per shard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from easy_oww.contract import EMBEDDING_DIM, MODEL_INPUT_FRAMES


@dataclass
class TrainingData:
    """Everything `train_classifier` reads.

    positives / negatives: feature shards [k, 16, 96]; rows are drawn uniformly over all
    rows of a class, scaled per negative shard by `negative_weights` (default 1.0 each; give
    a huge precomputed set a small weight so it does not crowd out adversarial clips).
    val_positives: held-out positive clips [m, L, 96] with L >= 16; a clip's score is the
    maximum over its 16-frame windows (L == 16: one window).
    val_negative_stream: embeddings [T, 96] of long negative audio; every sliding 16-frame
    window is scored, as the streaming detector would.
    """

    positives: Sequence[np.ndarray]
    negatives: Sequence[np.ndarray]
    val_positives: np.ndarray
    val_negative_stream: np.ndarray
    val_negative_hours: float
    val_adversarial: np.ndarray | None = None
    negative_weights: Sequence[float] | None = None
    positive_groups: np.ndarray | None = None
    """Optional clip id of every positive row (over the shards in order): rows of one id
    are augmentation rounds of one clip, which `training.round_consistency` pairs."""

    def validate(self) -> None:
        """Raise ValueError when shapes disagree with the contract."""
        for name, shards in (("positives", self.positives), ("negatives", self.negatives)):
            if not any(len(s) for s in shards):
                raise ValueError(f"training data has no {name}")
            for s in shards:
                if s.ndim != 3 or s.shape[1:] != (MODEL_INPUT_FRAMES, EMBEDDING_DIM):
                    raise ValueError(f"{name} shard has shape {s.shape}, expected "
                                     f"[k, {MODEL_INPUT_FRAMES}, {EMBEDDING_DIM}]")
        vp = self.val_positives
        if vp.ndim != 3 or vp.shape[1] < MODEL_INPUT_FRAMES or vp.shape[2] != EMBEDDING_DIM:
            raise ValueError(f"val_positives has shape {vp.shape}, expected [m, >=16, 96]")
        vn = self.val_negative_stream
        if vn.ndim != 2 or vn.shape[1] != EMBEDDING_DIM or len(vn) < MODEL_INPUT_FRAMES:
            raise ValueError(f"val_negative_stream has shape {vn.shape}, expected [T>=16, 96]")
        if self.val_negative_hours <= 0:
            raise ValueError("val_negative_hours must be positive")
        if self.negative_weights is not None and len(self.negative_weights) != len(self.negatives):
            raise ValueError("negative_weights needs one weight per negatives shard")
        groups = self.positive_groups
        if groups is not None and len(groups) != sum(len(s) for s in self.positives):
            raise ValueError(f"positive_groups has {len(groups)} ids for "
                             f"{sum(len(s) for s in self.positives)} positive rows")
        va = self.val_adversarial
        if va is not None and len(va) and (va.ndim != 3 or va.shape[1] < MODEL_INPUT_FRAMES
                                           or va.shape[2] != EMBEDDING_DIM):
            raise ValueError(f"val_adversarial has shape {va.shape}, expected [a, >=16, 96]")

    def describe(self) -> dict[str, Any]:
        """Sizes for the manifest/fingerprint (no data hashing: the caller's manifest does)."""
        return {
            "positives": [len(s) for s in self.positives],
            "negatives": [len(s) for s in self.negatives],
            "val_positives": list(self.val_positives.shape),
            "val_negative_frames": len(self.val_negative_stream),
            "val_negative_hours": float(self.val_negative_hours),
            "val_adversarial": None if self.val_adversarial is None
            else list(self.val_adversarial.shape),
            "negative_weights": None if self.negative_weights is None
            else [float(w) for w in self.negative_weights],
            "positive_groups": None if self.positive_groups is None
            else len(np.unique(self.positive_groups)),
        }


class ShardSampler:
    """Draws rows from a list of shards with per-shard weights, copying them in one go."""

    def __init__(self, shards: Sequence[np.ndarray], weights: Sequence[float] | None = None):
        self.shards = [s for s in shards]
        sizes = np.array([len(s) for s in self.shards], dtype=np.float64)
        w = np.ones(len(sizes)) if weights is None else np.asarray(weights, dtype=np.float64)
        mass = sizes * w
        if mass.sum() <= 0:
            raise ValueError("no rows to sample")
        self.probs = mass / mass.sum()
        self.sizes = sizes.astype(np.int64)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` rows as a new float32 array [n, 16, 96] (order follows shard, then row)."""
        counts = rng.multinomial(n, self.probs)
        out = np.empty((n, MODEL_INPUT_FRAMES, EMBEDDING_DIM), dtype=np.float32)
        pos = 0
        for shard, size, c in zip(self.shards, self.sizes, counts):
            if c == 0:
                continue
            rows = np.sort(rng.integers(0, size, int(c)))
            out[pos:pos + c] = shard[rows]
            pos += int(c)
        return out


class RoundPairs:
    """Pairs of positive rows that are two augmentation rounds of one clip.

    `groups` gives every positive row (over the shards in order) its clip id; only clips
    with at least two rows take part. `sample(k, rng)` returns [2k, 16, 96]: rows i and
    k + i are two different rounds of one clip, clips drawn uniformly.
    """

    def __init__(self, shards: Sequence[np.ndarray], groups: np.ndarray) -> None:
        self.shards = list(shards)
        self.offsets = np.cumsum([0] + [len(s) for s in self.shards])
        order = np.argsort(np.asarray(groups), kind="stable")
        _, starts, counts = np.unique(np.asarray(groups)[order], return_index=True,
                                      return_counts=True)
        keep = counts >= 2
        self.order, self.starts, self.counts = order, starts[keep], counts[keep]
        if not len(self.starts):
            raise ValueError("round consistency needs clips with at least two rounds")

    def __len__(self) -> int:
        return len(self.starts)

    def sample(self, k: int, rng: np.random.Generator) -> np.ndarray:
        g = rng.integers(0, len(self.starts), k)
        n = self.counts[g]
        first = rng.integers(0, n)
        second = (first + rng.integers(1, n)) % n  # another round of the same clip
        rows = np.concatenate([self.order[self.starts[g] + first],
                               self.order[self.starts[g] + second]])
        from easy_oww.features.store import take_rows

        return take_rows(self.shards, self.offsets, rows, MODEL_INPUT_FRAMES)


class BalancedBatches:
    """Per step: `n_pos` positives and the rest negatives, from a seeded generator.

    The generator state is part of the training checkpoint, so a resumed run draws the
    same batches as an uninterrupted one.
    """

    def __init__(self, data: TrainingData, batch_size: int, rng: np.random.Generator,
                 positive_fraction: float = 0.5) -> None:
        self.pos = ShardSampler(data.positives)
        self.neg = ShardSampler(data.negatives, data.negative_weights)
        self.n_pos = max(1, min(batch_size - 1, round(batch_size * positive_fraction)))
        self.n_neg = batch_size - self.n_pos
        self.rng = rng
        self.labels = np.concatenate([np.ones(self.n_pos, np.float32),
                                      np.zeros(self.n_neg, np.float32)])

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        x = np.concatenate([self.pos.sample(self.n_pos, self.rng),
                            self.neg.sample(self.n_neg, self.rng)])
        return x, self.labels

    def get_state(self) -> dict[str, Any]:
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state


def sliding_windows(stream: np.ndarray, frames: int = MODEL_INPUT_FRAMES) -> np.ndarray:
    """A read-only view [T - frames + 1, frames, D] of every window of a [T, D] stream."""
    view = np.lib.stride_tricks.sliding_window_view(stream, frames, axis=0)  # [N, D, frames]
    windows: np.ndarray = view.transpose(0, 2, 1)
    return windows
