"""The model card: `ModelCard`, made from an `EvalReport`, written as JSON + markdown.

``models/NAME.json`` and ``NAME.md`` beside the ONNX model; `write_model_card` is their
only writer (train's evaluation phase calls it; `eval` never rewrites a card). The report
in plain sentences (`quality_lines`) is here too: the card and `train`'s output share it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from easy_oww.contract import EMBEDDING_DIM, MODEL_INPUT_FRAMES
from easy_oww.evaluate import intervals, metrics
from easy_oww.evaluate.result import EvalReport
from easy_oww.fsutil import atomic_write_json, atomic_write_text, read_json

log = logging.getLogger(__name__)

MODEL_INPUT = f"float32 [batch, {MODEL_INPUT_FRAMES}, {EMBEDDING_DIM}] openWakeWord embeddings"
MODEL_OUTPUT = "float32 [batch, 1] score in 0..1"


@dataclass(frozen=True)
class ModelCard:
    """What a user of the model needs: the threshold to use and what it achieves."""

    wake_word: str | None
    model_file: str
    recommended_threshold: float
    threshold_meets_target: bool | None
    threshold_source: str
    recall: float | None
    fp_per_hour: float | None
    near_miss_false_accept_rate: float | None
    evaluated_at_threshold: float
    target_fp_per_hour: float
    debounce_s: float
    patience: int
    date: str
    tool_version: str
    quality: tuple[str, ...] = ()
    families: dict[str, Any] = field(default_factory=dict)
    out_of_family: dict[str, Any] | None = None
    real_speech: dict[str, Any] | None = None
    evaluation_data: dict[str, Any] = field(default_factory=dict)
    training_data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_report(cls, report: EvalReport, *, model_file: str,
                    training_data: dict[str, Any] | None = None) -> ModelCard:
        rec = report.recommended
        return cls(
            wake_word=report.wake_word, model_file=model_file,
            recommended_threshold=(rec.threshold if rec and rec.met else report.threshold),
            threshold_meets_target=report.meets_target,
            threshold_source=report.threshold_source, recall=report.recall,
            fp_per_hour=report.fp_per_hour,
            near_miss_false_accept_rate=report.near_miss_false_accept_rate,
            evaluated_at_threshold=report.threshold,
            target_fp_per_hour=report.target_fp_per_hour, debounce_s=report.debounce_s,
            patience=report.patience, date=report.date, tool_version=report.tool_version,
            quality=report.quality, families=report.families,
            out_of_family=report.out_of_family, real_speech=report.real_speech,
            evaluation_data={"positive_clips": report.n_positive,
                             "near_miss_clips": report.n_near_miss,
                             "negative_clips": report.n_negative_clips,
                             "long_audio": list(report.data.get("long_audio", []))},
            training_data=dict(training_data or {}))

    def to_json(self) -> dict[str, Any]:
        return {"wake_word": self.wake_word, "model_file": self.model_file,
                "recommended_threshold": self.recommended_threshold,
                "threshold_meets_target": self.threshold_meets_target,
                "threshold_source": self.threshold_source,
                "recall": self.recall, "fp_per_hour": self.fp_per_hour,
                "near_miss_false_accept_rate": self.near_miss_false_accept_rate,
                "evaluated_at_threshold": self.evaluated_at_threshold,
                "target_fp_per_hour": self.target_fp_per_hour, "debounce_s": self.debounce_s,
                "patience": self.patience, "date": self.date,
                "tool_version": self.tool_version, "tool": "easy-oww",
                "quality": list(self.quality), "families": self.families,
                "out_of_family": self.out_of_family, "real_speech": self.real_speech,
                "evaluation_data": self.evaluation_data,
                "training_data": self.training_data,
                "input": MODEL_INPUT, "output": MODEL_OUTPUT}

    def markdown(self) -> str:
        return render_card_markdown(self.to_json())


def write_model_card(card: ModelCard, json_path: Path) -> None:
    """`json_path` and its markdown twin (same name, ``.md``), each written atomically."""
    atomic_write_json(json_path, card.to_json())
    atomic_write_text(Path(json_path).with_suffix(".md"), card.markdown())


def card_threshold(json_path: Path) -> float | None:
    """The recommended threshold of the card at `json_path` (None: no readable card)."""
    try:
        value = read_json(json_path).get("recommended_threshold")
    except (OSError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "not measured"
    if pct:
        return f"{100 * float(v):.1f} %"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def render_card_markdown(card: dict[str, Any]) -> str:
    """The card's markdown twin, from its JSON (cards of earlier versions included)."""
    d = card.get("evaluation_data") or {}
    lines = [
        f"# Wake word model: {card.get('wake_word') or card.get('model_file', '?')}",
        "",
        f"Made with easy-oww {card.get('tool_version', '?')}; evaluated {card.get('date', '?')}.",
        "",
        "| | |", "|---|---|",
        f"| recommended threshold | {_fmt(card.get('recommended_threshold'))} |",
        (f"| recall (held-out voices of the training families) | "
         f"{_fmt(card.get('recall'), pct=True)} |"),
        (f"| false positives per hour (synthetic negative audio) | "
         f"{_fmt(card.get('fp_per_hour'))} |"),
        f"| near-miss false accepts | {_fmt(card.get('near_miss_false_accept_rate'), True)} |",
        f"| measured at threshold | {_fmt(card.get('evaluated_at_threshold'))} |",
        f"| target false positives per hour | {_fmt(card.get('target_fp_per_hour'))} |",
        f"| debounce / patience | {card.get('debounce_s')} s / {card.get('patience')} |",
        "",
        "## Evaluation data", "",
        f"- positive clips: {d.get('positive_clips', 0)}",
        f"- near-miss clips: {d.get('near_miss_clips', 0)}",
        f"- negative clips: {d.get('negative_clips', 0)}",
        f"- long negative audio: {sum(p.get('hours', 0) for p in d.get('long_audio', [])):.2f} h",
    ]
    quality = card.get("quality") or []
    if quality:
        lines += ["", "## What the figures cover", "", *[f"- {q}" for q in quality]]
    if card.get("threshold_source"):
        lines += ["", (f"The threshold was chosen on {card['threshold_source']}; the figures "
                       "above come from held-out clips and audio that neither training nor "
                       "threshold selection saw.")]
    training = card.get("training_data") or card.get("training")
    if isinstance(training, dict):
        lines += ["", "## Training data", ""]
        lines += [f"- {k}: {v}" for k, v in training.items()]
    usage = ("Use in openWakeWord 0.6: `Model(wakeword_models=[\"<file>.onnx\"], "
             "inference_framework=\"onnx\")` (0.4: `Model(wakeword_model_paths=[...])`) "
             "and compare scores with the recommended threshold.")
    lines += ["", usage, ""]
    return "\n".join(lines)


# -- the report in plain sentences ------------------------------------------------------------

NO_REAL_SPEECH = ("No real speech was measured: how often this model fires on real people "
                  "is unknown. Point clips.negative_audio_dirs in config.yaml at a folder of "
                  "long recordings without the wake word (podcasts, TV, meetings), or run "
                  "`easy-oww download dipco`, then train again.")


def _families_text(families: dict[str, int]) -> str:
    return ", ".join(f"{f} ({n} voice{'s' if n != 1 else ''})" for f, n in families.items())


_CONFIDENCE = f"{intervals.REPORT_CONFIDENCE * 100:.0f} %"


def _recall_interval(oof: dict[str, Any]) -> str:
    """The recall's 90 % interval: a few dozen clips measure it only roughly."""
    n = int(oof.get("positives") or 0)
    if n < 1:
        return ""
    lo, hi = intervals.proportion_interval(round(oof["recall"] * n), n)
    return f" ({_CONFIDENCE} interval {lo:.2f}-{hi:.2f})"


def _fp_bound(real: dict[str, Any]) -> str:
    """How high the rate may be, given how few hours measured it: none in half an hour
    still allows several an hour."""
    hours = float(real["hours"])
    if hours <= 0:
        return ""
    fires = int(real.get("false_positives", round(real["fp_per_hour"] * hours)))
    bound = metrics.poisson_upper(fires, intervals.REPORT_CONFIDENCE) / hours
    return f"; with {_CONFIDENCE} confidence at most {bound:.2f}/hour"


def quality_lines(r: dict[str, Any]) -> list[str]:
    """The report (`EvalReport.to_json()`) in plain sentences, in-family and
    out-of-family figures apart."""
    fam = r.get("families", {})
    t = r["threshold"]
    lines = [f"Trained on voice families: {_families_text(fam.get('trained', {}))}."]
    nm = r.get("near_miss_false_accept_rate")
    lines.append(
        f"In-family (other voices of the training families, "
        f"{_families_text(fam.get('in_family_measured', {}))}; says little about other "
        f"voices): recall {r['recall']:.3f} at threshold {t:.3f}, "
        f"{r['fp_per_hour']:.2f} false positives/hour on {r['negative_hours']:.2f} h of "
        f"synthetic negative audio" + ("" if nm is None else f", near-miss phrases fire {nm:.1%}")
        + ".")
    oof = r.get("out_of_family")
    if oof:
        onm = oof.get("near_miss_false_accept_rate")
        lines.append(
            f"Out-of-family (families held out of training whole: "
            f"{_families_text(fam.get('out_of_family_measured', {}))}): recall "
            f"{oof['recall']:.3f} on {oof['positives']} clips{_recall_interval(oof)}"
            + ("" if onm is None else f", near-miss phrases fire {onm:.1%}") + ".")
    else:
        lines.append("Out-of-family: not measured, every installed voice family trains the "
                     "model; with three or more families one is held out whole "
                     "(tts.holdout_families), e.g. after `easy-oww voices download`.")
    real = r.get("real_speech")
    if real:
        lines.append(f"Real speech: {real['fp_per_hour']:.2f} false positives/hour on "
                     f"{real['hours']:.2f} h of real recordings held out of training "
                     f"({'; '.join(real['sources'])}){_fp_bound(real)}.")
    else:
        lines.append(NO_REAL_SPEECH)
    return lines
