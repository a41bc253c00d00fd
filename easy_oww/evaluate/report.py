"""`run_eval`: score a model on clips and long audio, write results JSON and DET PNG.

What is measured (definitions in `easy_oww.evaluate.metrics`):

- positives: each clip is padded with 1 s of silence on both sides (as
  ``openwakeword.Model.predict_clip`` does) and scored as a fresh stream; its peak score
  decides recall;
- near-miss and negative clips: the same, giving false-accept rates;
- long negative audio: false positives per hour with the configured debounce/patience,
  the DET curve, and the lowest threshold meeting ``target_fp_per_hour``.

The operating threshold of the report is the one given, else the recommended one (when
the target could be met), else the config's default.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from easy_oww.audio.io import load_audio
from easy_oww.config import EvaluationConfig
from easy_oww.contract import FRAME_MS, SAMPLE_RATE
from easy_oww.errors import EasyOWWError, MissingDependency
from easy_oww.evaluate import metrics
from easy_oww.evaluate.detector import Detector
from easy_oww.evaluate.long_audio import LongAudio, NegativeAudio
from easy_oww.fsutil import atomic_write_json, atomic_write_text, read_json
from easy_oww.progress import ProgressFn

if TYPE_CHECKING:
    from easy_oww.features.frontend import FrontEnd

log = logging.getLogger(__name__)

PAD_SECONDS = 1
MIN_RECOMMEND_HOURS = 0.5
"""Less negative audio than this cannot show a rate below ~2 per hour: no threshold is
then recommended (not in the report, its table or a model card); the report says why."""
RESULTS_NAME = "results.json"
PLOT_NAME = "det_curve.png"
MAX_LISTED = 25

LongAudioInput = Sequence["Path | LongAudio | np.ndarray"] | NegativeAudio | np.ndarray
"""Audio files, cached streams, a `NegativeAudio`, or embedding streams [frames, 96]
(`stream_embeddings` of the audio: a fresh stream each)."""


@dataclass(frozen=True)
class ClipScores:
    paths: tuple[Path, ...]
    peaks: np.ndarray


@dataclass(frozen=True)
class EvalReport:
    """Everything one evaluation measured; `to_json` is what results.json holds."""

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
    recommended: metrics.ThresholdChoice | None = None
    det: metrics.DetCurve | None = None
    data: dict[str, Any] = field(default_factory=dict)
    results_path: str | None = None
    det_plot: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "wake_word": self.wake_word, "date": self.date,
            "tool_version": self.tool_version, "threshold": self.threshold,
            "threshold_source": self.threshold_source, "debounce_s": self.debounce_s,
            "patience": self.patience, "target_fp_per_hour": self.target_fp_per_hour,
            "n_positive": self.n_positive, "recall": self.recall,
            "missed": list(self.missed), "n_near_miss": self.n_near_miss,
            "near_miss_false_accept_rate": self.near_miss_false_accept_rate,
            "n_negative_clips": self.n_negative_clips,
            "negative_clip_false_accept_rate": self.negative_clip_false_accept_rate,
            "clip_report": self.clip_report, "negative_hours": self.negative_hours,
            "false_positives": self.false_positives, "fp_per_hour": self.fp_per_hour,
            "false_positive_times": [{"source": s, "time_s": t, "score": v}
                                     for s, t, v in self.false_positive_times],
            "recommended": self.recommended.to_json() if self.recommended else None,
            "det": self.det.to_json() if self.det else None,
            "det_area": self.det.area if self.det else None,
            "data": self.data, "results_path": self.results_path, "det_plot": self.det_plot,
        }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _version() -> str:
    from easy_oww import __version__

    return __version__


def score_clips(detector: Detector, paths: Sequence[Path], *, task: str,
                progress: ProgressFn | None = None) -> ClipScores:
    """Each clip's peak score (held for `detector.patience` frames), 1 s padded both sides."""
    pad = np.zeros(PAD_SECONDS * SAMPLE_RATE, dtype=np.int16)
    peaks = np.zeros(len(paths), dtype=np.float64)
    for i, p in enumerate(paths):
        scores = detector.score_audio(np.concatenate([pad, load_audio(p), pad]))
        peaks[i] = metrics.clip_peak(scores, detector.patience) if scores.size else 0.0
        if progress:
            progress(task, i + 1, len(paths))
    return ClipScores(tuple(Path(p) for p in paths), peaks)


def _parts(long_audio: LongAudioInput | None) -> list[Path | LongAudio | np.ndarray]:
    if long_audio is None:
        return []
    if isinstance(long_audio, NegativeAudio):
        return list(long_audio.parts)
    if isinstance(long_audio, np.ndarray):
        return [long_audio]
    return list(long_audio)


def score_long_audio(detector: Detector, long_audio: LongAudioInput | None, *,
                     progress: ProgressFn | None = None) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """All long-audio frame scores (concatenated) and (name, frames) per part."""
    parts = _parts(long_audio)
    scores, spans = [], []
    for i, part in enumerate(parts):
        if isinstance(part, LongAudio):
            s, name = detector.score_features(np.asarray(part.load_features())), part.name
        elif isinstance(part, np.ndarray):
            s, name = detector.score_features(part), f"stream {i}"
        else:
            s, name = detector.score_audio(load_audio(part)), Path(part).name
        scores.append(s)
        spans.append((name, int(s.size)))
        if progress:
            progress("long audio", i + 1, len(parts))
    return (np.concatenate(scores) if scores else np.zeros(0, np.float32)), spans


def _locate(frame: int, spans: list[tuple[str, int]]) -> tuple[str, float]:
    for name, n in spans:
        if frame < n:
            return name, round((frame + 1) * FRAME_MS / 1000.0, 2)
        frame -= n
    return "?", 0.0


def _group_hours(spans: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Hours of long audio per source ("negative/chunk_003.wav" counts as "negative")."""
    hours: dict[str, float] = {}
    for name, frames in spans:
        key = name.split("/", 1)[0] if "/" in name else name
        hours[key] = hours.get(key, 0.0) + metrics.hours_for_frames(frames)
    return [{"name": k, "hours": round(v, 4)} for k, v in hours.items()]


def _choose_threshold(given: float | None, choice: metrics.ThresholdChoice | None,
                      default: float) -> tuple[float, str]:
    if given is not None:
        return float(given), "given"
    if choice is not None and choice.met:
        return choice.threshold, "recommended for the target false-positive rate"
    return float(default), "config"


def run_eval(model_path: Path, *, positives: Sequence[Path] | None = None,
             negatives: Sequence[Path] | None = None,
             long_audio: LongAudioInput | None = None,
             config: EvaluationConfig | None = None,
             near_miss: Sequence[Path] | None = None, out_dir: Path,
             threshold: float | None = None, wake_word: str | None = None,
             data: dict[str, Any] | None = None, frontend: FrontEnd | None = None,
             progress: ProgressFn | None = None, plot: bool = True,
             stem: str | None = None) -> EvalReport:
    """Evaluate `model_path`; write ``results.json`` and ``det_curve.png`` into `out_dir`
    (``<stem>.json`` and ``<stem>.png`` when `stem` is given)."""
    cfg = config or EvaluationConfig.model_validate({})
    pos, neg, near = list(positives or []), list(negatives or []), list(near_miss or [])
    if not pos and not neg and not near and not _parts(long_audio):
        raise EasyOWWError("nothing to evaluate: no positive clips, negative clips or audio",
                           "pass --positives DIR, --negatives DIR or --audio FILE")
    det = Detector(model_path, threshold=cfg.threshold, patience=cfg.patience,
                   debounce_s=cfg.debounce_s, frontend=frontend)
    pos_s = score_clips(det, pos, task="positive clips", progress=progress)
    near_s = score_clips(det, near, task="near-miss clips", progress=progress)
    neg_s = score_clips(det, neg, task="negative clips", progress=progress)
    long_scores, spans = score_long_audio(det, long_audio, progress=progress)
    hours = metrics.hours_for_frames(long_scores.size)
    kw = {"patience": cfg.patience, "debounce_frames": det.debounce_frames}

    choice = curve = None
    if long_scores.size and pos:
        choice = metrics.threshold_for_target(pos_s.peaks, long_scores, hours,
                                              cfg.target_fp_per_hour, patience=cfg.patience,
                                              debounce_frames=det.debounce_frames)
        curve = metrics.det_curve(pos_s.peaks, long_scores, hours, patience=cfg.patience,
                                  debounce_frames=det.debounce_frames)
    data = dict(data or {})
    if choice is not None and hours < MIN_RECOMMEND_HOURS:
        # never recommended anywhere: not in the report, the table or a model card
        choice = None
        data["recommendation"] = (f"none: {hours * 60:.1f} min of negative audio is too little "
                                  f"to choose a threshold (at least "
                                  f"{MIN_RECOMMEND_HOURS * 60:.0f} min)")
        log.warning("only %.1f minutes of negative audio: too little to recommend a threshold "
                    "(use at least %.0f minutes); reporting at %.2f", hours * 60,
                    MIN_RECOMMEND_HOURS * 60, threshold or cfg.threshold)
    t, source = _choose_threshold(threshold, choice, cfg.threshold)
    report = _build(model_path, cfg, t, source, wake_word, pos_s, near_s, neg_s,
                    long_scores, spans, hours, choice, curve, data, kw)
    return _write(report, Path(out_dir), plot, stem)


def _build(model_path: Path, cfg: EvaluationConfig, t: float, source: str,
           wake_word: str | None, pos: ClipScores, near: ClipScores, neg: ClipScores,
           long_scores: np.ndarray, spans: list[tuple[str, int]], hours: float,
           choice: metrics.ThresholdChoice | None, curve: metrics.DetCurve | None,
           data: dict[str, Any], kw: dict[str, int]) -> EvalReport:
    fires = (metrics.activations(long_scores, t, **kw) if long_scores.size
             else np.zeros(0, np.int64))
    fp_times = tuple((*_locate(int(f), spans), round(float(long_scores[f]), 4))
                     for f in fires[:MAX_LISTED * 4])
    clip_report = None
    if pos.peaks.size and (neg.peaks.size or near.peaks.size):
        others = np.concatenate([neg.peaks, near.peaks])
        labels = np.concatenate([np.ones(pos.peaks.size), np.zeros(others.size)])
        preds = np.concatenate([pos.peaks, others]) >= t
        clip_report = metrics.classification_report(labels, preds)
    missed = tuple(p.name for p, s in sorted(zip(pos.paths, pos.peaks), key=lambda x: x[1])
                   if s < t)[:MAX_LISTED]
    summary = {"positive_clips": int(pos.peaks.size), "near_miss_clips": int(near.peaks.size),
               "negative_clips": int(neg.peaks.size),
               "long_audio": _group_hours(spans), **data}
    return EvalReport(
        model=str(model_path), wake_word=wake_word, date=_now(), tool_version=_version(),
        threshold=t, threshold_source=source, debounce_s=cfg.debounce_s,
        patience=cfg.patience, target_fp_per_hour=cfg.target_fp_per_hour,
        n_positive=int(pos.peaks.size),
        recall=metrics.recall(pos.peaks, t) if pos.peaks.size else None, missed=missed,
        n_near_miss=int(near.peaks.size),
        near_miss_false_accept_rate=(metrics.false_accept_rate(near.peaks, t)
                                     if near.peaks.size else None),
        n_negative_clips=int(neg.peaks.size),
        negative_clip_false_accept_rate=(metrics.false_accept_rate(neg.peaks, t)
                                         if neg.peaks.size else None),
        clip_report=clip_report, negative_hours=round(hours, 4),
        false_positives=int(fires.size) if long_scores.size else None,
        fp_per_hour=float(fires.size / hours) if long_scores.size else None,
        false_positive_times=fp_times, recommended=choice, det=curve, data=summary)


def _write(report: EvalReport, out_dir: Path, plot: bool, stem: str | None) -> EvalReport:
    from dataclasses import replace

    out_dir.mkdir(parents=True, exist_ok=True)
    results = out_dir / (RESULTS_NAME if stem is None else f"{stem}.json")
    plot_path = out_dir / (PLOT_NAME if stem is None else f"{stem}.png")
    png = None
    if plot and report.det is not None:
        try:
            miss = 1.0 - (report.recall or 0.0)
            png = str(plot_det(report.det, plot_path,
                               title=f"DET: {Path(report.model).name}",
                               operating=(report.threshold, report.fp_per_hour or 0.0, miss),
                               choice=report.recommended))
        except MissingDependency as exc:
            log.warning("%s; skipping the DET plot (%s)", exc.message, exc.hint)
    report = replace(report, results_path=str(results), det_plot=png)
    atomic_write_json(results, report.to_json())
    return report


def plot_det(curve: metrics.DetCurve, path: Path, *, title: str,
             choice: metrics.ThresholdChoice | None = None,
             operating: tuple[float, float, float] | None = None) -> Path:
    """Draw `curve` to a PNG (needs matplotlib, extra `plot`); see `evaluate.plot`."""
    from easy_oww.evaluate.plot import plot_det as _plot

    return _plot(curve, path, title=title, operating=operating, choice=choice)


# -- model card ------------------------------------------------------------------------------

def update_model_card(card_json_path: Path, report: EvalReport) -> dict[str, Any]:
    """Merge the evaluation into the JSON model card (other keys kept) and rewrite its
    markdown twin (same name, ``.md``). Returns the card. For cards of models made
    elsewhere: `easy-oww eval` never calls it (a project's card is train's)."""
    path = Path(card_json_path)
    card: dict[str, Any] = {}
    if path.is_file():
        try:
            loaded = read_json(path)
            card = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            log.warning("model card %s is unreadable; writing a fresh one", path)
    rec = report.recommended
    card.update({
        "wake_word": report.wake_word or card.get("wake_word"),
        "model_file": Path(report.model).name,
        "recommended_threshold": (rec.threshold if rec and rec.met else report.threshold),
        "threshold_meets_target": bool(rec.met) if rec else None,
        "recall": report.recall, "fp_per_hour": report.fp_per_hour,
        "near_miss_false_accept_rate": report.near_miss_false_accept_rate,
        "evaluated_at_threshold": report.threshold,
        "target_fp_per_hour": report.target_fp_per_hour, "debounce_s": report.debounce_s,
        "patience": report.patience, "date": report.date,
        "tool_version": report.tool_version, "tool": "easy-oww",
        "evaluation_data": report.data,
    })
    atomic_write_json(path, card)
    atomic_write_text(path.with_suffix(".md"), render_card_markdown(card))
    return card


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "not measured"
    if pct:
        return f"{100 * float(v):.1f} %"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def render_card_markdown(card: dict[str, Any]) -> str:
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
