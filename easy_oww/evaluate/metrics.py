"""Wake-word metrics on per-frame scores: pure numpy, no models, no I/O.

Scores are a detector's per-frame outputs in [0, 1], one per 80 ms frame
(`easy_oww.contract.FRAME_MS`). Definitions used everywhere in easy-oww:

Activation (a detection)
    The detector fires at frame ``i`` when the score is ``>= threshold`` on ``patience``
    consecutive frames ending at ``i``. After firing it is silent (refractory) for the next
    ``debounce_frames`` frames; frames inside that silence do not count towards patience.
    A score that stays high therefore fires again once per ``debounce_frames + patience``
    frames, as a deployed detector that ignores detections for ``debounce`` seconds would.
    With ``debounce_frames=0`` and ``patience=1`` every frame at or above threshold counts.
    ``debounce_frames = round(debounce_s / 0.08)`` (see `debounce_frames_for`).

Recall
    The share of positive clips whose *maximum* score reaches the threshold (one clip is one
    utterance; where it peaks does not matter). With ``patience > 1`` pass each clip's
    `clip_peak` (the best score held for ``patience`` frames) instead of its plain max.

False positives per hour
    Activations on audio without the wake word, divided by its duration in hours.

DET curve area
    ``DetCurve.area`` is the mean miss rate over the false-positive budget
    0..``fp_range`` per hour (default 10): the area under "best miss rate reachable at
    <= x false positives per hour" for x in [0, fp_range], divided by fp_range. 0 is a
    perfect detector, 1 one that catches nothing at any budget in that range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from easy_oww.contract import FRAME_MS

FRAME_S = FRAME_MS / 1000.0
AREA_FP_RANGE = 10.0
NEVER = float(np.nextafter(1.0, 2.0))
"""A threshold above every possible score (the DET curve's "fire never" end point)."""


def debounce_frames_for(debounce_s: float) -> int:
    """Frames of silence after an activation for a debounce of `debounce_s` seconds."""
    if debounce_s < 0:
        raise ValueError("debounce_s must not be negative")
    return round(debounce_s / FRAME_S)


def hours_for_frames(n_frames: int) -> float:
    """Duration in hours of `n_frames` 80 ms frames."""
    return n_frames * FRAME_S / 3600.0


def as_scores(scores: Any) -> np.ndarray:
    """Scores as a flat float64 array; NaN or infinite scores are an error."""
    arr = np.asarray(scores, dtype=np.float64).reshape(-1)
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError("scores must be finite")
    return arr


def _check(patience: int, debounce_frames: int) -> None:
    if patience < 1:
        raise ValueError("patience must be at least 1")
    if debounce_frames < 0:
        raise ValueError("debounce_frames must not be negative")


def _held(scores: np.ndarray, patience: int) -> np.ndarray:
    """held[i] = min(scores[i-patience+1 .. i]); -inf where fewer than `patience` frames."""
    if patience == 1 or scores.size == 0:
        return scores
    out = np.full(scores.shape, -np.inf)
    if scores.size >= patience:
        windows = np.lib.stride_tricks.sliding_window_view(scores, patience)
        out[patience - 1:] = windows.min(axis=1)
    return out


def clip_peak(scores: Any, patience: int = 1) -> float:
    """The highest threshold at which a clip with these frame scores fires (its max score
    for patience 1; the best score held for `patience` consecutive frames otherwise)."""
    _check(patience, 0)
    held = _held(as_scores(scores), patience)
    return float(held.max()) if held.size else float("-inf")


def _greedy(candidates: np.ndarray, gap: int) -> np.ndarray:
    """Frames that fire: the earliest candidate, then the earliest one >= last + gap, ..."""
    if candidates.size == 0 or gap <= 1:
        return candidates
    fired: list[int] = []
    pos = 0
    while pos < candidates.size:
        frame = int(candidates[pos])
        fired.append(frame)
        pos = int(np.searchsorted(candidates, frame + gap, side="left"))
    return np.asarray(fired, dtype=np.int64)


def activations(scores: np.ndarray, threshold: float, *, patience: int = 1,
                debounce_frames: int = 0) -> np.ndarray:
    """Frame indices at which the detector fires (see the module docstring)."""
    _check(patience, debounce_frames)
    held = _held(as_scores(scores), patience)
    candidates = np.flatnonzero(held >= threshold).astype(np.int64)
    # After firing at f, frames f+1..f+debounce are silent and patience restarts, so the
    # next frame that can fire is f + debounce_frames + patience.
    return _greedy(candidates, debounce_frames + patience)


def count_activations(scores: np.ndarray, threshold: float, *, patience: int = 1,
                      debounce_frames: int = 0) -> int:
    """Number of activations (see `activations`)."""
    return int(activations(scores, threshold, patience=patience,
                           debounce_frames=debounce_frames).size)


def fp_per_hour(scores: np.ndarray, threshold: float, hours: float, *, patience: int = 1,
                debounce_frames: int = 0) -> float:
    """Activations per hour on audio that contains no wake word (`hours` long)."""
    if hours <= 0:
        raise ValueError("hours must be positive")
    return count_activations(scores, threshold, patience=patience,
                             debounce_frames=debounce_frames) / hours


def recall(clip_max_scores: np.ndarray, threshold: float) -> float:
    """Share of positive clips whose max score is >= threshold (0.0 for no clips)."""
    peaks = as_scores(clip_max_scores)
    if peaks.size == 0:
        return 0.0
    return float(np.mean(peaks >= threshold))


def false_accept_rate(clip_max_scores: np.ndarray, threshold: float) -> float:
    """Share of near-miss (or other negative) clips on which the detector fires."""
    return recall(clip_max_scores, threshold)


@dataclass(frozen=True)
class DetCurve:
    """Miss rate and false positives per hour at each threshold (ascending thresholds)."""

    thresholds: np.ndarray
    miss_rate: np.ndarray
    fp_per_hour: np.ndarray
    fp_range: float = AREA_FP_RANGE

    @property
    def area(self) -> float:
        """Mean best miss rate over a false-positive budget of 0..fp_range per hour."""
        return self.area_up_to(self.fp_range)

    def area_up_to(self, max_fp_per_hour: float) -> float:
        if max_fp_per_hour <= 0:
            raise ValueError("max_fp_per_hour must be positive")
        fp = np.asarray(self.fp_per_hour, dtype=np.float64)
        miss = np.asarray(self.miss_rate, dtype=np.float64)
        # Best miss rate reachable within each budget: a non-increasing step function of fp.
        order = np.argsort(fp, kind="stable")
        fp_sorted, best = fp[order], np.minimum.accumulate(miss[order])
        edges = np.concatenate([fp_sorted, [max_fp_per_hour]])
        total = 0.0
        if fp_sorted.size == 0 or fp_sorted[0] > 0:  # budgets below the first point: miss all
            total += min(fp_sorted[0] if fp_sorted.size else max_fp_per_hour,
                         max_fp_per_hour)
        for k in range(fp_sorted.size):
            lo, hi = edges[k], min(edges[k + 1], max_fp_per_hour)
            if hi > lo:
                total += (hi - lo) * best[k]
        return float(total / max_fp_per_hour)

    def recall_within(self, max_fp_per_hour: float) -> float:
        """The best recall at <= `max_fp_per_hour` (0 when no threshold keeps to it)."""
        ok = np.asarray(self.fp_per_hour) <= max_fp_per_hour
        return float((1.0 - np.asarray(self.miss_rate)[ok]).max()) if ok.any() else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"thresholds": [float(t) for t in self.thresholds],
                "miss_rate": [float(m) for m in self.miss_rate],
                "fp_per_hour": [float(f) for f in self.fp_per_hour],
                "area": self.area, "area_fp_range": self.fp_range}


def default_thresholds() -> np.ndarray:
    """A grid dense near 0 and 1 (where sigmoid scores crowd) plus a linear grid."""
    logits = np.linspace(-12.0, 12.0, 97)
    grid = np.concatenate([1.0 / (1.0 + np.exp(-logits)), np.linspace(0.01, 0.99, 99)])
    return np.unique(np.concatenate([grid, [1.0, NEVER]]))


def det_curve(pos_max_scores: np.ndarray, neg_scores: np.ndarray, hours: float, *,
              debounce_frames: int = 0, patience: int = 1,
              thresholds: Sequence[float] | np.ndarray | None = None,
              fp_range: float = AREA_FP_RANGE) -> DetCurve:
    """Miss rate (1 - recall) and false positives per hour at each threshold."""
    if hours <= 0:
        raise ValueError("hours must be positive")
    ts = default_thresholds() if thresholds is None else np.unique(np.asarray(thresholds,
                                                                               float))
    peaks, neg = as_scores(pos_max_scores), as_scores(neg_scores)
    miss = np.array([1.0 - recall(peaks, t) for t in ts]) if peaks.size else np.ones(ts.size)
    fps = np.array([fp_per_hour(neg, float(t), hours, patience=patience,
                                debounce_frames=debounce_frames) for t in ts])
    return DetCurve(ts, miss, fps, fp_range)


@dataclass(frozen=True)
class ThresholdChoice:
    """The lowest threshold meeting a false-positive target (so the best recall)."""

    threshold: float
    recall: float
    fp_per_hour: float
    target_fp_per_hour: float
    met: bool
    """True when the target is met and at least one positive clip is still caught."""

    def to_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "recall": self.recall,
                "fp_per_hour": self.fp_per_hour, "target_fp_per_hour": self.target_fp_per_hour,
                "met": self.met}


FP_CONFIDENCE = 0.8
"""How sure the validation must make us that the shipped threshold meets the target."""


def poisson_upper(k: int, confidence: float = FP_CONFIDENCE) -> float:
    """The one-sided `confidence` upper bound of a Poisson mean after observing `k` events:
    the mean at which `k` or fewer events happen with probability 1 - `confidence`."""
    if k < 0 or not 0.0 < confidence < 1.0:
        raise ValueError("k must be >= 0 and confidence in (0, 1)")

    def cdf(lam: float) -> float:
        term = total = math.exp(-lam)
        for i in range(1, k + 1):
            term *= lam / i
            total += term
        return total

    lo, hi = 0.0, k + 10.0 + 10.0 * math.sqrt(k + 1)
    for _ in range(100):  # cdf falls as lam grows: bisection
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cdf(mid) > 1.0 - confidence else (lo, mid)
    return hi


def validation_allowance(target_fp_per_hour: float, hours: float,
                         confidence: float = FP_CONFIDENCE) -> float:
    """The false positives per hour to allow on `hours` of validation audio so that the
    threshold chosen there fires at most `target_fp_per_hour` on new audio, with
    `confidence` (80 %) rather than only on average.

    Allowing m activations in T hours is accepted when the Poisson upper bound of the
    rate after m events, `poisson_upper(m) / T`, stays within the target; this returns
    the largest such m / T. For a target of 0.5/h: 4 h allow none (bound 1.61 / 4 = 0.40),
    6 h allow one (2.99 / 6 = 0.50). When even m = 0 is too many (T < 1.61 / target), the
    answer is 0, the best the audio allows. On new audio such a threshold fires about
    (m + 1) / T per hour (an order statistic: 0.25/h and 0.33/h in the examples), not
    m / T, and the bound covers the spread around that.
    """
    if hours <= 0:
        raise ValueError("hours must be positive")
    budget = target_fp_per_hour * hours
    m = 0
    while poisson_upper(m + 1, confidence) <= budget + 1e-9:
        m += 1
    return m / hours


def threshold_for_target(pos_max_scores: np.ndarray, neg_scores: np.ndarray, hours: float,
                         target_fp_per_hour: float, *, debounce_frames: int = 0,
                         patience: int = 1) -> ThresholdChoice:
    """The threshold with the best recall whose false positives per hour <= the target.

    Recall only changes at the positive clips' peak scores and false positives per hour
    never rise with the threshold, so the answer is the lowest peak score that meets the
    target (binary search). If none does, the answer is the lowest threshold above every
    positive peak that meets it (recall 0, ``met=False``); if even a threshold of 1.0 fires
    too often, 1.0 with its measured rate and ``met=False``.
    """
    if hours <= 0:
        raise ValueError("hours must be positive")
    if target_fp_per_hour < 0:
        raise ValueError("target_fp_per_hour must not be negative")
    peaks, neg = as_scores(pos_max_scores), as_scores(neg_scores)

    def fph(t: float) -> float:
        return fp_per_hour(neg, t, hours, patience=patience, debounce_frames=debounce_frames)

    def lowest_meeting(cands: np.ndarray) -> int:  # index of the first that meets it
        lo, hi = 0, cands.size
        while lo < hi:
            mid = (lo + hi) // 2
            if fph(float(cands[mid])) <= target_fp_per_hour:
                hi = mid
            else:
                lo = mid + 1
        return lo

    cands = np.unique(peaks[(peaks > 0.0) & (peaks <= 1.0)])
    k = lowest_meeting(cands)
    if k < cands.size:
        t = float(cands[k])
        return ThresholdChoice(t, recall(peaks, t), fph(t), target_fp_per_hour, True)
    # No threshold that catches a positive meets the target: report the lowest one that
    # does (the false-positive rate only changes just above a negative frame's score).
    floor = float(cands[-1]) if cands.size else 0.0
    steps = np.nextafter(np.concatenate([[floor], neg[neg >= floor]]), 2.0)
    above = np.unique(np.minimum(steps, 1.0))
    k = lowest_meeting(above)
    t = float(above[k]) if k < above.size else 1.0
    return ThresholdChoice(t, recall(peaks, t), fph(t), target_fp_per_hour, False)


def classification_report(labels: Sequence[Any] | np.ndarray,
                          predictions: Sequence[Any] | np.ndarray) -> dict[str, Any]:
    """Precision, recall, F1, accuracy and the confusion matrix of binary clip decisions.

    `labels` and `predictions` are truthy for "wake word" (labelled folders: positives 1,
    negatives 0). ``confusion_matrix`` is ``[[tn, fp], [fn, tp]]`` (rows: truth). Ratios with
    a zero denominator are 0.0.
    """
    y = np.asarray(labels).astype(bool).reshape(-1)
    p = np.asarray(predictions).astype(bool).reshape(-1)
    if y.shape != p.shape:
        raise ValueError("labels and predictions must have the same length")
    tp = int(np.sum(y & p))
    fp = int(np.sum(~y & p))
    fn = int(np.sum(y & ~p))
    tn = int(np.sum(~y & ~p))

    def ratio(a: int, b: int) -> float:
        return a / b if b else 0.0

    precision, rec = ratio(tp, tp + fp), ratio(tp, tp + fn)
    f1 = 2 * precision * rec / (precision + rec) if precision + rec else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "support": int(y.size),
            "precision": precision, "recall": rec, "f1": f1,
            "accuracy": ratio(tp + tn, int(y.size)),
            "false_positive_rate": ratio(fp, fp + tn),
            "confusion_matrix": [[tn, fp], [fn, tp]]}
