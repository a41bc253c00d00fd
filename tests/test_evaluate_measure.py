"""The one evaluation path: windows, `evaluate_features`, and the typed phase results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from easy_oww.config import EvaluationConfig
from easy_oww.evaluate import metrics
from easy_oww.evaluate.measure import Clips, Context, EvalData, Stream, evaluate_features
from easy_oww.evaluate.result import EvalReport
from easy_oww.evaluate.windows import WARMUP_FRAMES, clip_peaks, score_stream, stream_windows


class MeanModel:
    """Scores a window by the mean of its first embedding dimension (clipped to 0..1)."""

    n_frames = 16

    def score_windows(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=np.float32)
        assert w.ndim == 3 and w.shape[1:] == (16, 96)
        return np.clip(w[:, :, 0].mean(axis=1), 0.0, 1.0).astype(np.float32)


def _stream(frames: int, hot: tuple[int, ...] = ()) -> np.ndarray:
    s = np.zeros((frames, 96), np.float32)
    for f in hot:
        s[f:f + 16, 0] = 1.0
    return s


def test_streams_are_cut_whole_or_fresh_with_history() -> None:
    s = _stream(40)
    assert stream_windows(s, 16).shape == (25, 16, 96)  # only whole windows
    hist = np.ones((116, 96), np.float32)
    w = stream_windows(s, 16, hist)
    assert w.shape == (40, 16, 96) and w[0, :15, 0].tolist() == [1.0] * 15
    fresh = score_stream(MeanModel(), s, history=hist)
    assert fresh.shape == (40,) and np.all(fresh[:WARMUP_FRAMES] == 0.0)
    assert fresh[WARMUP_FRAMES] > 0  # still reaching back into the history
    assert stream_windows(_stream(10), 16).shape == (0, 16, 96)


def test_clip_peaks_hold_the_score_for_patience_frames() -> None:
    clips = np.zeros((2, 26, 96), np.float32)
    clips[0, 5:21, 0] = 1.0  # one window scores 1.0
    peaks = clip_peaks(MeanModel(), clips, patience=1)
    assert peaks.tolist() == [1.0, 0.0]
    assert clip_peaks(MeanModel(), clips, patience=2)[0] < 1.0


def test_evaluate_features_matches_the_metrics() -> None:
    model = MeanModel()
    pos = np.zeros((4, 26, 96), np.float32)
    pos[:3, 5:21, 0] = 1.0  # three of four positives fire
    stream = _stream(45_000, hot=(1000, 20_000))  # one hour, two false positives
    cfg = EvaluationConfig(threshold=0.5, debounce_s=2.0, target_fp_per_hour=0.5)
    data = EvalData(positives=Clips(windows=pos),
                    long_audio=(Stream("test", stream, fresh=False, hours=1.0, source="gen"),),
                    real_speech=Stream("real", _stream(4500, hot=(100,)), fresh=False,
                                       info={"sources": ["mine"], "train_hours": 0.5}))
    r = evaluate_features(model, data, config=cfg, context=Context(
        model="m.onnx", threshold=0.5, threshold_source="validation", recommend=False))
    assert r.recall == 0.75 and r.n_positive == 4 and r.threshold_source == "validation"
    assert r.false_positives == 2 and r.fp_per_hour == 2.0 and r.negative_hours == 1.0
    assert r.meets_target is False and r.recommended is None and r.det is not None
    assert r.data["long_audio"] == [{"name": "gen", "hours": 1.0}]
    # the first window to fire starts at frame 992 (half of it hot) and ends at 1007: a
    # whole-window stream's score k belongs to the window ending at frame k + 15
    assert r.false_positive_times[0][:2] == ("test", pytest.approx((992 + 15 + 1) * 0.08))
    assert r.real_speech == {"fp_per_hour": pytest.approx(10.0), "false_positives": 1,
                             "hours": 0.1, "sources": ["mine"], "train_hours": 0.5}
    assert r.out_of_family is None
    assert r.at_default_threshold == {"threshold": 0.5, "recall": 0.75, "fp_per_hour": 2.0}
    back = EvalReport.from_json(json.loads(json.dumps(r.to_json())))
    assert back.to_json() == json.loads(json.dumps(r.to_json()))
    assert metrics.recall(np.array([1.0, 1.0, 1.0, 0.0]), 0.5) == r.recall


def test_phase_results_keep_the_recorded_summaries(tmp_path: Path) -> None:
    from easy_oww.pipeline.clips import ClipPlan
    from easy_oww.pipeline.results import (
        ClipsResult,
        ExportedModel,
        FeaturesResult,
        NegativeStreams,
        TrainedModel,
    )

    plan = ClipPlan({"eval_positive": [tmp_path / "cache" / "a.wav"]}, ["espeak:en"],
                    ["espeak:en-us"])
    clips = {"counts": {"eval_positive": 1}, "plan": plan.to_json(tmp_path)}
    feats = {"counts": {"positive": 3}, "window_samples": 32000, "sources": {"rirs": 2}}
    neg = {"train_hours": 0.1, "val_hours": 0.25, "test_hours": 0.05, "source": "gen",
           "real_train_hours": 0.0, "real_val_hours": 0.0, "real_test_hours": 0.0,
           "real_sources": []}
    trained = {"selected_step": 80, "threshold": 0.5, "validation_threshold": 0.4,
               "val_recall": 0.9, "val_fp_per_hour": 0.2, "met_target": True,
               "averaged_steps": [40, 80], "ensemble": 2, "members": [{"seed": 1}],
               "val_adversarial_false_accept": 0.1, "train_seconds": 3.5,
               "history": [{"step": 40}], "data": {"x": 1}, "precomputed_negatives": 0}
    export = {"path": "m.onnx", "sha256": "ab", "bytes": 2048,
              "tflite": {"path": "m.tflite", "sha256": "cd", "bytes": 1024, "windows": 9,
                         "max_abs_diff": 1e-7}}
    assert ClipsResult.from_json(clips, tmp_path).to_json() == clips
    assert ClipsResult.from_json(clips, tmp_path).describe() == "eval_positive 1"
    assert FeaturesResult.from_json(feats).to_json() == feats
    assert NegativeStreams.from_json(neg).to_json() == neg
    assert TrainedModel.from_json(trained).to_json() == trained
    assert ExportedModel.from_json(export).to_json() == export
    assert ExportedModel.from_json(export).describe() == "2 KiB ONNX, 1 KiB TFLite"
    assert TrainedModel.from_json({"threshold": 0.3}).validation_threshold == 0.3
