"""Evaluation phase: the exported ONNX model on data that training never touched.

Held-out positives (voices and phrasings kept out of training, always reverberant and
noisy), held-out near-miss phrases, and the test part of the long negative audio. The
threshold comes from validation (not from this test data), so the numbers are honest.
The measuring is `easy_oww.evaluate.measure.evaluate_features`, which `eval` uses too.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww.config import ProjectConfig
from easy_oww.evaluate.card import ModelCard, quality_lines, write_model_card
from easy_oww.evaluate.measure import Clips, Context, EvalData, Stream, evaluate_features
from easy_oww.evaluate.report import save_det_plot
from easy_oww.evaluate.result import EvalReport
from easy_oww.fsutil import atomic_write_json
from easy_oww.pipeline.clips import ClipPlan
from easy_oww.pipeline.phases import load_manifest
from easy_oww.pipeline.results import (
    ClipsResult,
    FeaturesResult,
    NegativeStreams,
    TrainedModel,
)
from easy_oww.workspace import ProjectPaths, Workspace

log = logging.getLogger(__name__)

THRESHOLD_SOURCE = "validation data (held-out voices, a separate part of the negative audio)"


def _summary(directory: Path) -> dict[str, Any]:
    return dict((load_manifest(directory) or {}).get("summary") or {})


def _clips(directory: Path) -> Clips | None:
    from easy_oww.features.store import open_features

    return Clips(windows=open_features(directory).load_all()) if directory.is_dir() else None


def heldout_data(paths: ProjectPaths, neg: NegativeStreams) -> EvalData:
    """train's held-out feature sets and test streams, as `evaluate_features` takes them."""
    f = paths.features
    real_path = paths.negative_audio / "real_test_stream.npy"
    real = (Stream("real speech", np.load(real_path, mmap_mode="r"), fresh=False,
                   info={"sources": list(neg.real_sources),
                         "train_hours": float(neg.real_train_hours)})
            if real_path.is_file() else None)
    test = np.load(paths.negative_audio / "test_stream.npy", mmap_mode="r")
    return EvalData(positives=_clips(f / "eval_positive") or Clips(),
                    near_miss=_clips(f / "eval_adversarial") or Clips(),
                    long_audio=(Stream("test stream", test, fresh=False, hours=neg.test_hours,
                                       source=str(neg.source)),),
                    oof_positives=_clips(f / "oof_positive"),
                    oof_near_miss=_clips(f / "oof_adversarial") or Clips(), real_speech=real)


def _report(paths: ProjectPaths, config: ProjectConfig, trained: TrainedModel,
            plan: ClipPlan, feat: FeaturesResult, model_path: Path, threshold: float,
            source: str) -> EvalReport:
    """The evaluation report: figures, data, voice families, quality lines, DET curve."""
    from easy_oww.evaluate.detector import WakeWordModel

    neg = NegativeStreams.from_json(_summary(paths.negative_audio))
    data = {"train_voices": len(plan.train_voices), "held_out_voices": len(plan.eval_voices),
            "clips": plan.counts(), "features": feat.counts,
            "acoustic_sources": feat.sources, "negative_audio": neg.source,
            "train_negative_audio_hours": neg.train_hours,
            "precomputed_negatives": trained.precomputed_negatives}
    families = {"trained": plan.families("train"), "in_family_measured": plan.families("eval"),
                "out_of_family_measured": plan.families("oof")}
    report = evaluate_features(
        WakeWordModel(model_path), heldout_data(paths, neg), config=config.evaluation,
        context=Context(model=str(model_path), wake_word=config.wake_word,
                        threshold=threshold, threshold_source=source, recommend=False,
                        data=data, families=families, validation=trained.validation()))
    return replace(report, quality=tuple(quality_lines(report.to_json())))


def evaluate_model(ws: Workspace, paths: ProjectPaths, config: ProjectConfig,
                   trained: TrainedModel, plan: ClipPlan, feat: FeaturesResult) -> EvalReport:
    """train's evaluation phase: the report (``evaluation/report.json`` and
    ``test_results.json``), the DET curve and the model card."""
    report = _report(paths, config, trained, plan, feat, paths.model, trained.threshold,
                     THRESHOLD_SOURCE)
    png = save_det_plot(report, paths.evaluation / "det_curve.png", config.wake_word)
    report = replace(report, results_path=str(paths.test_results), det_plot=png)
    atomic_write_json(paths.evaluation / "report.json", report.to_json())
    atomic_write_json(paths.test_results, report.to_json())
    write_model_card(ModelCard.from_report(report, model_file=paths.model.name,
                                           training_data=_training_data(config, report, feat)),
                     paths.model_card_json)
    return report


def _training_data(config: ProjectConfig, r: EvalReport, feat: FeaturesResult
                   ) -> dict[str, Any]:
    return {"preset": config.preset.value, "head": config.training.head.value,
            "seed": config.seed, "voices": r.data["train_voices"],
            "held_out_voices": r.data["held_out_voices"],
            "clip_windows": sum(feat.counts.values()),
            "negative_audio_hours": round(r.data["train_negative_audio_hours"], 2),
            "precomputed_negatives": r.data["precomputed_negatives"]}


def has_heldout_data(paths: ProjectPaths) -> bool:
    """Whether train's evaluation data is in place (its features and test stream)."""
    return all((load_manifest(d) or {}).get("complete") is True
               for d in (paths.clips, paths.features, paths.negative_audio, paths.training)) \
        and (paths.negative_audio / "test_stream.npy").is_file()


def rescore_project(ws: Workspace, paths: ProjectPaths, config: ProjectConfig,
                    model_path: Path, threshold: float | None = None) -> EvalReport:
    """`eval`'s default on a trained project: train's evaluation again, on the same
    held-out clips, voices and negative audio, for `model_path` (the project's model at
    train's threshold unless `threshold` is given). Writes nothing."""
    trained = TrainedModel.from_json(_summary(paths.training))
    feat = FeaturesResult.from_json(_summary(paths.features))
    plan = ClipsResult.from_json(_summary(paths.clips), ws.root).plan
    if threshold is not None:
        t, source = float(threshold), "given"
    elif model_path.resolve() == paths.model.resolve():
        t, source = trained.threshold, THRESHOLD_SOURCE
    else:  # train's threshold belongs to the project's model
        t, source = config.evaluation.threshold, "config (default for another model)"
    return _report(paths, config, trained, plan, feat, model_path, t, source)
