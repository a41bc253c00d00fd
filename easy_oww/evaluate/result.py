"""`EvalReport`: what one evaluation measured, in the one shape every report file has.

`train`'s evaluation phase (``test_results.json``, ``evaluation/report.json``, the
evaluation phase's manifest) and `eval` (``evaluation/eval-<model>-<data>.json``) write
`EvalReport.to_json()`. Keys that earlier versions wrote under other names are written
under both (``positives`` / ``n_positive``, ``near_miss_clips`` / ``n_near_miss``), so
readers of either earlier shape keep working; `from_json` reads every earlier shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from easy_oww.evaluate.metrics import AREA_FP_RANGE, DetCurve, ThresholdChoice


def det_from_json(data: Any) -> DetCurve | None:
    if not isinstance(data, dict) or "thresholds" not in data:
        return None
    return DetCurve(np.asarray(data["thresholds"], dtype=np.float64),
                    np.asarray(data["miss_rate"], dtype=np.float64),
                    np.asarray(data["fp_per_hour"], dtype=np.float64),
                    float(data.get("area_fp_range", AREA_FP_RANGE)))


def choice_from_json(data: Any) -> ThresholdChoice | None:
    if not isinstance(data, dict):
        return None
    return ThresholdChoice(float(data["threshold"]), float(data["recall"]),
                           float(data["fp_per_hour"]), float(data["target_fp_per_hour"]),
                           bool(data["met"]))


@dataclass(frozen=True)
class EvalReport:
    """Everything one evaluation measured; `to_json` is what its report files hold.

    Figures that were not measured (no positive clips, no long audio, ...) are None.
    `out_of_family`, `real_speech`, `families`, `validation` and `quality` are filled by
    train's evaluation (held-out voice families, the user's real speech, the validation
    figures and the report in plain sentences); evaluations of files leave them empty.
    """

    model: str
    wake_word: str | None
    date: str
    tool_version: str
    threshold: float
    threshold_source: str
    debounce_s: float
    patience: int
    target_fp_per_hour: float
    n_positive: int = 0
    recall: float | None = None
    missed: tuple[str, ...] = ()
    n_near_miss: int = 0
    near_miss_false_accept_rate: float | None = None
    n_negative_clips: int = 0
    negative_clip_false_accept_rate: float | None = None
    clip_report: dict[str, Any] | None = None
    negative_hours: float = 0.0
    false_positives: int | None = None
    fp_per_hour: float | None = None
    false_positive_times: tuple[tuple[str, float, float], ...] = ()
    recommended: ThresholdChoice | None = None
    det: DetCurve | None = None
    at_default_threshold: dict[str, Any] | None = None
    out_of_family: dict[str, Any] | None = None
    real_speech: dict[str, Any] | None = None
    families: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    quality: tuple[str, ...] = ()
    results_path: str | None = None
    det_plot: str | None = None

    @property
    def meets_target(self) -> bool | None:
        """Whether the false positives per hour meet the target (None: not measured)."""
        if self.fp_per_hour is None:
            return None
        return bool(self.fp_per_hour <= self.target_fp_per_hour)

    def to_json(self) -> dict[str, Any]:
        return {
            "wake_word": self.wake_word, "model": self.model, "threshold": self.threshold,
            "threshold_source": self.threshold_source, "recall": self.recall,
            "fp_per_hour": self.fp_per_hour,
            "near_miss_false_accept_rate": self.near_miss_false_accept_rate,
            "target_fp_per_hour": self.target_fp_per_hour, "meets_target": self.meets_target,
            "positives": self.n_positive, "near_miss_clips": self.n_near_miss,
            "negative_hours": self.negative_hours, "debounce_s": self.debounce_s,
            "patience": self.patience, "det_area": self.det.area if self.det else None,
            "at_default_threshold": self.at_default_threshold,
            "out_of_family": self.out_of_family, "real_speech": self.real_speech,
            "validation": self.validation, "data": self.data, "date": self.date,
            "tool_version": self.tool_version, "families": self.families,
            "quality": list(self.quality),
            "n_positive": self.n_positive, "missed": list(self.missed),
            "n_near_miss": self.n_near_miss, "n_negative_clips": self.n_negative_clips,
            "negative_clip_false_accept_rate": self.negative_clip_false_accept_rate,
            "clip_report": self.clip_report, "false_positives": self.false_positives,
            "false_positive_times": [{"source": s, "time_s": t, "score": v}
                                     for s, t, v in self.false_positive_times],
            "recommended": self.recommended.to_json() if self.recommended else None,
            "det": self.det.to_json() if self.det else None,
            "results_path": self.results_path, "det_plot": self.det_plot,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> EvalReport:
        """A report from `to_json`, or from the shapes earlier versions wrote."""
        def opt(key: str) -> Any:
            return d.get(key)

        times = tuple((str(x["source"]), float(x["time_s"]), float(x["score"]))
                      for x in d.get("false_positive_times") or [])
        return cls(
            model=str(d.get("model", "")), wake_word=opt("wake_word"),
            date=str(d.get("date", "")), tool_version=str(d.get("tool_version", "")),
            threshold=float(d["threshold"]),
            threshold_source=str(d.get("threshold_source", "")),
            debounce_s=float(d.get("debounce_s", 1.0)), patience=int(d.get("patience", 1)),
            target_fp_per_hour=float(d.get("target_fp_per_hour", 0.5)),
            n_positive=int(d.get("n_positive", d.get("positives", 0))),
            recall=opt("recall"), missed=tuple(d.get("missed") or ()),
            n_near_miss=int(d.get("n_near_miss", d.get("near_miss_clips", 0))),
            near_miss_false_accept_rate=opt("near_miss_false_accept_rate"),
            n_negative_clips=int(d.get("n_negative_clips", 0)),
            negative_clip_false_accept_rate=opt("negative_clip_false_accept_rate"),
            clip_report=opt("clip_report"),
            negative_hours=float(d.get("negative_hours", 0.0)),
            false_positives=opt("false_positives"), fp_per_hour=opt("fp_per_hour"),
            false_positive_times=times, recommended=choice_from_json(opt("recommended")),
            det=det_from_json(opt("det")), at_default_threshold=opt("at_default_threshold"),
            out_of_family=opt("out_of_family"), real_speech=opt("real_speech"),
            families=dict(d.get("families") or {}), validation=opt("validation"),
            data=dict(d.get("data") or {}), quality=tuple(d.get("quality") or ()),
            results_path=opt("results_path"), det_plot=opt("det_plot"))
