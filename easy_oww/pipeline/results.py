"""Typed results of `train`'s phases, as the phase runner hands them on and stores them.

Each result's `to_json()` is the summary its phase records in ``phase.json`` (the same
keys as before these types existed, so finished phases of earlier runs are still skipped
and read), `from_json` reads it back, and `describe()` is its line in `train`'s summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from easy_oww.evaluate.result import EvalReport
from easy_oww.pipeline.clips import ClipPlan


class PhaseResult(Protocol):
    def to_json(self) -> dict[str, Any]: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class ClipsResult:
    """The clips phase: every split's clips. `root` is the workspace the plan's paths are
    stored relative to (so a workspace can move)."""

    plan: ClipPlan
    root: Path
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts or self.plan.counts(), "plan": self.plan.to_json(self.root)}

    @classmethod
    def from_json(cls, data: dict[str, Any], root: Path) -> ClipsResult:
        plan = ClipPlan.from_json(data["plan"], root)
        return cls(plan, root, dict(data.get("counts") or plan.counts()))

    def describe(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in (self.counts or self.plan.counts()).items() if v)


@dataclass(frozen=True)
class FeaturesResult:
    """The features phase: windows per feature set, window length, acoustic sources."""

    counts: dict[str, int]
    window_samples: int
    sources: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts, "window_samples": self.window_samples,
                "sources": self.sources}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeaturesResult:
        return cls(dict(data.get("counts") or {}), int(data.get("window_samples", 0)),
                   dict(data.get("sources") or {}))

    def describe(self) -> str:
        return f"{sum(self.counts.values())} windows"


@dataclass(frozen=True)
class NegativeStreams:
    """The negative audio phase: hours of the training, validation and test streams
    (``train_stream.npy``, ``val_stream.npy``, ``test_stream.npy``) and of the user's real
    speech in each, and where the test audio comes from."""

    train_hours: float
    val_hours: float
    test_hours: float
    source: str | None = None
    real_train_hours: float = 0.0
    real_val_hours: float = 0.0
    real_test_hours: float = 0.0
    real_sources: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"train_hours": self.train_hours, "val_hours": self.val_hours,
                "test_hours": self.test_hours, "source": self.source,
                "real_train_hours": self.real_train_hours,
                "real_val_hours": self.real_val_hours,
                "real_test_hours": self.real_test_hours, "real_sources": self.real_sources}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NegativeStreams:
        return cls(float(d.get("train_hours", 0.0)), float(d.get("val_hours", 0.0)),
                   float(d.get("test_hours", 0.0)), d.get("source"),
                   float(d.get("real_train_hours", 0.0)), float(d.get("real_val_hours", 0.0)),
                   float(d.get("real_test_hours", 0.0)), list(d.get("real_sources") or []))

    def describe(self) -> str:
        return f"{self.val_hours:.2f} h validation + {self.test_hours:.2f} h test"


_TRAINED_KEYS = ("selected_step", "threshold", "validation_threshold", "val_recall",
                 "val_fp_per_hour", "met_target", "averaged_steps", "ensemble", "members",
                 "val_adversarial_false_accept", "train_seconds", "history", "data",
                 "precomputed_negatives")


@dataclass(frozen=True)
class TrainedModel:
    """The training phase: the selected checkpoint, its threshold (from validation data)
    and validation figures, the ensemble's members and the training data used."""

    selected_step: int
    threshold: float
    validation_threshold: float
    val_recall: float
    val_fp_per_hour: float
    met_target: bool
    averaged_steps: list[int] = field(default_factory=list)
    ensemble: int = 1
    members: list[dict[str, Any]] = field(default_factory=list)
    val_adversarial_false_accept: float | None = None
    train_seconds: float = 0.0
    history: list[Any] = field(default_factory=list)
    data: Any = None
    precomputed_negatives: int = 0

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _TRAINED_KEYS}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TrainedModel:
        threshold = float(d["threshold"])
        return cls(int(d.get("selected_step", 0)), threshold,
                   float(d.get("validation_threshold", threshold)),
                   float(d.get("val_recall", 0.0)), float(d.get("val_fp_per_hour", 0.0)),
                   bool(d.get("met_target", False)), list(d.get("averaged_steps") or []),
                   int(d.get("ensemble", 1)), list(d.get("members") or []),
                   d.get("val_adversarial_false_accept"), float(d.get("train_seconds", 0.0)),
                   list(d.get("history") or []), d.get("data"),
                   int(d.get("precomputed_negatives", 0)))

    def validation(self) -> dict[str, Any]:
        """The validation figures as the evaluation report lists them."""
        return {"val_recall": self.val_recall, "val_fp_per_hour": self.val_fp_per_hour,
                "selected_step": self.selected_step, "met_target": self.met_target,
                "validation_threshold": self.validation_threshold}

    def describe(self) -> str:
        return (f"step {self.selected_step}, validation recall {self.val_recall:.3f} at "
                f"{self.val_fp_per_hour:.2f} FP/h")


@dataclass(frozen=True)
class TfliteFile:
    path: str
    sha256: str
    bytes: int
    windows: int
    max_abs_diff: float

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "bytes": self.bytes,
                "windows": self.windows, "max_abs_diff": self.max_abs_diff}


@dataclass(frozen=True)
class ExportedModel:
    """The export phase: the ONNX model and, when the exporter is installed, the TFLite
    model checked against it."""

    path: str
    sha256: str
    bytes: int
    tflite: TfliteFile | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "bytes": self.bytes,
                "tflite": self.tflite.to_json() if self.tflite else None}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ExportedModel:
        t = d.get("tflite")
        tfl = (TfliteFile(str(t["path"]), str(t["sha256"]), int(t["bytes"]), int(t["windows"]),
                          float(t["max_abs_diff"])) if isinstance(t, dict) else None)
        return cls(str(d["path"]), str(d.get("sha256", "")), int(d.get("bytes", 0)), tfl)

    def describe(self) -> str:
        return f"{self.bytes / 1024:.0f} KiB ONNX" + (
            f", {self.tflite.bytes / 1024:.0f} KiB TFLite" if self.tflite else "")


@dataclass(frozen=True)
class Evaluation:
    """The evaluation phase: the held-out report (also ``test_results.json``)."""

    report: EvalReport

    def to_json(self) -> dict[str, Any]:
        return self.report.to_json()

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Evaluation:
        return cls(EvalReport.from_json(d))

    def describe(self) -> str:
        r = self.report
        if r.recall is None or r.fp_per_hour is None:
            return ""
        return f"recall {r.recall:.3f}, {r.fp_per_hour:.2f} FP/h"
