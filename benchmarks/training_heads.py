"""Head and trick comparison on synthetic embeddings with a held-out test split.

Usage: python benchmarks/training_heads.py [name=overrides ...]
  e.g. python benchmarks/training_heads.py "dnn=head='dnn'" "temporal=head='temporal'"

Each variant trains with the quick preset's loop size (3000 steps, batch 256) on the
`train` split (validation = that split's held-out clips and stream), then is scored on an
independent `test` split: recall at the validation-chosen threshold, false positives per
hour on 2 h of test stream, the best recall the test set allows at <= 1 and 5 FP/h, and
the DET area (mean miss rate over 0..10 FP/h; lower is better).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from easy_oww.config import EvaluationConfig, TrainingConfig
from easy_oww.evaluate import metrics
from easy_oww.training.data import sliding_windows
from easy_oww.training.synthetic import make_training_data
from easy_oww.training.trainer import train_classifier
from easy_oww.training.validation import clip_scores, score_windows

TEST_HOURS = 2.0
BASE: dict[str, Any] = {"steps": 3000, "batch_size": 256, "validate_every": 250,
                        "threads": 1}


def run(name: str, overrides: dict[str, Any], seed: int, difficulty: float) -> dict[str, Any]:
    data = make_training_data(seed, n_pos=3000, n_neg=4000, n_adv=2000, n_val=300,
                              val_hours=0.5, stream_hours=0.5, difficulty=difficulty)
    test = make_training_data(seed, n_pos=10, n_neg=10, n_adv=10, n_val=1000,
                              val_hours=TEST_HOURS, stream_hours=0.01, difficulty=difficulty,
                              split="test")
    cfg = TrainingConfig(**{**BASE, **overrides})
    ev = EvaluationConfig()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        res = train_classifier(data, cfg, ev, seed=seed, checkpoint_dir=Path(tmp))
        secs = time.monotonic() - t0
    dev = torch.device("cpu")
    pos = clip_scores(res.model, test.val_positives, dev)
    neg = score_windows(res.model, sliding_windows(test.val_negative_stream), dev)
    adv = clip_scores(res.model, test.val_adversarial, dev)
    deb = metrics.debounce_frames_for(ev.debounce_s)
    det = metrics.det_curve(pos, neg, TEST_HOURS, debounce_frames=deb)

    def recall_at(fph: float) -> float:
        return round(metrics.threshold_for_target(pos, neg, TEST_HOURS, fph,
                                                  debounce_frames=deb).recall, 3)
    return {
        "name": name, "seed": seed, "seconds": round(secs, 1),
        "val_recall": round(res.val_recall, 3), "val_fp_h": res.val_fp_per_hour,
        "test_recall": round(metrics.recall(pos, res.threshold), 3),
        "test_fp_h": metrics.fp_per_hour(neg, res.threshold, TEST_HOURS, debounce_frames=deb),
        "test_adv_fa": round(metrics.false_accept_rate(adv, res.threshold), 3),
        "test_recall_at_1fph": recall_at(1.0), "test_recall_at_5fph": recall_at(5.0),
        "test_det_area": round(det.area, 4),
        "averaged": bool(res.averaged_steps), "step": res.selected_step,
    }


def main(argv: list[str]) -> None:
    variants = []
    for arg in argv or ["dnn=head='dnn'"]:
        name, _, expr = arg.partition("=")
        variants.append((name, eval(f"dict({expr})")))
    seeds = [int(s) for s in __import__("os").environ.get("SEEDS", "1").split(",")]
    difficulty = float(__import__("os").environ.get("DIFFICULTY", "0.6"))
    for name, overrides in variants:
        for seed in seeds:
            print(json.dumps(run(name, overrides, seed, difficulty)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
