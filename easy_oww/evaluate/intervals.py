"""How sure a measured figure is: intervals for the figures that reports and benchmarks
print (`easy_oww.evaluate.metrics` defines the figures themselves)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from easy_oww.evaluate import metrics

REPORT_CONFIDENCE = 0.9
"""The confidence of the intervals that reports print beside a measured figure."""


def proportion_interval(k: int, n: int, confidence: float = REPORT_CONFIDENCE
                        ) -> tuple[float, float]:
    """The two-sided `confidence` Wilson score interval of a proportion: `k` of `n` clips
    caught (recall), or fired on (near misses). It stays inside [0, 1] and is not empty
    at 0 or n, where the normal approximation would claim certainty."""
    if n < 1 or not 0 <= k <= n or not 0.0 < confidence < 1.0:
        raise ValueError("need 0 <= k <= n, n >= 1 and confidence in (0, 1)")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p, z2 = k / n, z * z / n
    centre = (p + z2 / 2) / (1 + z2)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n)) / (1 + z2)
    return max(0.0, centre - half), min(1.0, centre + half)


def resampled_recall_within(pos_max_scores: np.ndarray, neg_scores: np.ndarray, hours: float,
                            max_fp_per_hour: float, *, block_frames: int,
                            n_resamples: int = 1000, seed: int = 0, debounce_frames: int = 0,
                            patience: int = 1,
                            thresholds: Sequence[float] | np.ndarray | None = None
                            ) -> np.ndarray:
    """`DetCurve.recall_within(max_fp_per_hour)` on `n_resamples` bootstrap resamples of
    the data: the positive clips drawn with replacement, and the negative audio as blocks
    of `block_frames` frames drawn with replacement (as many blocks as it has; activations
    are counted within each block). Its spread is the sampling noise of a test set of this
    size, not the spread between models trained afresh. The same `seed` and sizes draw the
    same resamples, so two models' figures can be compared resample by resample (paired)."""
    if hours <= 0:
        raise ValueError("hours must be positive")
    if block_frames < 1 or n_resamples < 1:
        raise ValueError("block_frames and n_resamples must be at least 1")
    ts = (metrics.default_thresholds() if thresholds is None
          else np.unique(np.asarray(thresholds, float)))
    peaks, neg = metrics.as_scores(pos_max_scores), metrics.as_scores(neg_scores)
    if peaks.size == 0 or neg.size == 0:
        raise ValueError("need positive clips and negative audio")
    starts = range(0, neg.size, block_frames)
    counts = np.array([[metrics.count_activations(neg[a:a + block_frames], float(t),
                                                  patience=patience,
                                                  debounce_frames=debounce_frames)
                        for t in ts] for a in starts], dtype=np.float64)
    block_hours = np.array([min(block_frames, neg.size - a) for a in starts]) * hours / neg.size
    rng = np.random.default_rng(seed)
    out = np.empty(n_resamples)
    for r in range(n_resamples):
        pos = peaks[rng.integers(0, peaks.size, peaks.size)]
        blocks = rng.integers(0, len(counts), len(counts))
        fph = counts[blocks].sum(axis=0) / block_hours[blocks].sum()
        ok = fph <= max_fp_per_hour
        out[r] = (pos[:, None] >= ts[None, ok]).mean(axis=0).max() if ok.any() else 0.0
    return out
