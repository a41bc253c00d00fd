"""Scoring held-out data with a model and turning scores into validation metrics.

Metrics come from `easy_oww.evaluate.metrics` (one definition of recall and false
positives per hour for the whole project): the threshold is the lowest that meets the
target false-positive rate on the negative stream, with the evaluation's debounce.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from easy_oww.config import EvaluationConfig
from easy_oww.contract import MODEL_INPUT_FRAMES
from easy_oww.evaluate import metrics
from easy_oww.training.data import TrainingData, sliding_windows

SCORE_CHUNK = 8192


def score_windows(model: nn.Module, windows: np.ndarray, device: torch.device,
                  chunk: int = SCORE_CHUNK) -> np.ndarray:
    """Scores in 0..1 (float64 [n]) of windows [n, 16, 96]; `model` outputs probabilities."""
    out = np.empty(len(windows), dtype=np.float64)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(windows), chunk):
            block = np.ascontiguousarray(windows[start:start + chunk], dtype=np.float32)
            scores = model(torch.from_numpy(block).to(device))
            out[start:start + len(block)] = scores.reshape(-1).double().cpu().numpy()
    model.train(was_training)
    return out


def clip_scores(model: nn.Module, clips: np.ndarray, device: torch.device,
                patience: int = 1) -> np.ndarray:
    """Each clip's peak score over its 16-frame windows (clips [m, L >= 16, 96])."""
    n_win = clips.shape[1] - MODEL_INPUT_FRAMES + 1
    if n_win == 1:
        return score_windows(model, clips, device)
    views = np.lib.stride_tricks.sliding_window_view(clips, MODEL_INPUT_FRAMES, axis=1)
    flat = views.transpose(0, 1, 3, 2).reshape(-1, MODEL_INPUT_FRAMES, clips.shape[2])
    per_window = score_windows(model, flat, device).reshape(len(clips), n_win)
    p = patience if n_win >= patience else 1
    return np.array([metrics.clip_peak(row, p) for row in per_window])


@dataclass(frozen=True)
class ValidationResult:
    """Validation metrics of one checkpoint (threshold chosen for the FP target)."""

    threshold: float
    recall: float
    fp_per_hour: float
    met: bool
    recall_at_default: float
    fp_per_hour_at_default: float
    adversarial_false_accept: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def validate(model: nn.Module, data: TrainingData, evaluation: EvaluationConfig,
             device: torch.device) -> ValidationResult:
    """Recall on held-out positives and false positives/hour on the negative stream."""
    debounce = metrics.debounce_frames_for(evaluation.debounce_s)
    patience = evaluation.patience
    pos = clip_scores(model, data.val_positives, device, patience)
    neg = score_windows(model, sliding_windows(data.val_negative_stream), device)
    hours = data.val_negative_hours
    choice = metrics.threshold_for_target(pos, neg, hours, evaluation.target_fp_per_hour,
                                          debounce_frames=debounce, patience=patience)
    default = evaluation.threshold
    adv: float | None = None
    if data.val_adversarial is not None and len(data.val_adversarial):
        adv_scores = clip_scores(model, data.val_adversarial, device, patience)
        adv = metrics.false_accept_rate(adv_scores, choice.threshold)
    return ValidationResult(
        threshold=choice.threshold, recall=choice.recall, fp_per_hour=choice.fp_per_hour,
        met=choice.met, recall_at_default=metrics.recall(pos, default),
        fp_per_hour_at_default=metrics.fp_per_hour(neg, default, hours, patience=patience,
                                                   debounce_frames=debounce),
        adversarial_false_accept=adv)
