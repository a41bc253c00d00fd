"""`evaluate_features`: the one evaluation, from embeddings and a model to an `EvalReport`.

Both `train`'s evaluation phase (held-out feature sets and negative streams) and `eval`
(audio files, embedded first) describe their data as an `EvalData` and call this. What is
measured (definitions in `easy_oww.evaluate.metrics`):

- positive clips: each clip's peak score decides recall;
- near-miss and negative clips: the same, giving false-accept rates;
- long negative audio: false positives per hour with the configured debounce/patience and
  the DET curve; with `recommend`, the lowest threshold meeting ``target_fp_per_hour``;
- when given, positive and near-miss clips of voice families that training never heard,
  and real speech held out of training.

The operating threshold is the one given, else the recommended one (when the target could
be met), else the config's default.
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from easy_oww.config import EvaluationConfig
from easy_oww.contract import FRAME_MS
from easy_oww.errors import EasyOWWError
from easy_oww.evaluate import metrics, windows
from easy_oww.evaluate.result import EvalReport

log = logging.getLogger(__name__)

MIN_RECOMMEND_HOURS = 0.5
"""Less negative audio than this cannot show a rate below ~2 per hour: no threshold is
then recommended (not in the report, its table or a model card); the report says why."""
MAX_LISTED = 25


@dataclass(frozen=True)
class Clips:
    """Clips scored by their peak: `windows`, precomputed clip embeddings [m, frames, 96]
    (the feature store's), or `streams`, one fresh stream per recorded clip."""

    windows: np.ndarray | None = None
    streams: tuple[np.ndarray, ...] = ()
    names: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.windows) if self.windows is not None else len(self.streams)


@dataclass(frozen=True)
class Stream:
    """Long audio without the wake word as embeddings [frames, 96].

    `fresh`: a recording embedded from its start (scored as openWakeWord would stream it);
    else a precomputed stream whose whole windows alone are scored. `hours` defaults to
    its frames' duration; `source` groups it in the report's data (default: `name` up to
    its first '/'); `info` is added to the real-speech figures.
    """

    name: str
    features: np.ndarray
    fresh: bool = True
    hours: float | None = None
    source: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_h(self) -> float:
        return self.hours if self.hours is not None else metrics.hours_for_frames(
            len(self.features))


@dataclass(frozen=True)
class EvalData:
    """Everything one evaluation scores. `history` (the embeddings of silence a fresh
    stream starts with, `detector.silence_features`) is needed for fresh streams."""

    positives: Clips = Clips()
    near_miss: Clips = Clips()
    negatives: Clips = Clips()
    long_audio: tuple[Stream, ...] = ()
    oof_positives: Clips | None = None
    oof_near_miss: Clips = Clips()
    real_speech: Stream | None = None
    history: np.ndarray | None = None

    @property
    def empty(self) -> bool:
        return not (self.positives.size or self.near_miss.size or self.negatives.size
                    or self.long_audio)


@dataclass(frozen=True)
class Context:
    """What the report says about the evaluation beyond its figures."""

    model: str
    wake_word: str | None = None
    threshold: float | None = None
    threshold_source: str | None = None
    recommend: bool = True
    data: dict[str, Any] = field(default_factory=dict)
    families: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] | None = None


def nothing_to_evaluate() -> EasyOWWError:
    return EasyOWWError("nothing to evaluate: no positive clips, negative clips or audio",
                        "pass --positives DIR, --negatives DIR or --audio FILE")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _version() -> str:
    from easy_oww import __version__

    return __version__


def _peaks(model: Any, clips: Clips, history: np.ndarray | None, patience: int) -> np.ndarray:
    if clips.windows is not None:
        return windows.clip_peaks(model, np.asarray(clips.windows), patience)
    if not clips.streams:
        return np.zeros(0, np.float64)
    if history is None:
        raise ValueError("clips as fresh streams need the silence history")
    return windows.stream_peaks(model, clips.streams, history, patience)


def _stream_scores(model: Any, stream: Stream, history: np.ndarray | None) -> np.ndarray:
    if stream.fresh and history is None:
        raise ValueError("a fresh stream needs the silence history")
    return windows.score_stream(model, stream.features, history=history if stream.fresh
                                else None)


@dataclass(frozen=True)
class _Scored:
    pos: np.ndarray
    near: np.ndarray
    neg: np.ndarray
    long: np.ndarray
    spans: list[tuple[str, int, int]]  # (name, scores, frame offset of the first score)
    hours: float
    groups: dict[str, float]


def _score(model: Any, data: EvalData, patience: int) -> _Scored:
    h = data.history
    long: list[np.ndarray] = []
    spans: list[tuple[str, int, int]] = []
    groups: dict[str, float] = {}
    for s in data.long_audio:
        scores = _stream_scores(model, s, h)
        long.append(scores)
        spans.append((s.name, int(scores.size), 0 if s.fresh else model.n_frames - 1))
        key = s.source or (s.name.split("/", 1)[0] if "/" in s.name else s.name)
        groups[key] = groups.get(key, 0.0) + s.duration_h
    total = np.concatenate(long) if long else np.zeros(0, np.float32)
    explicit = all(s.hours is not None for s in data.long_audio)
    hours = (float(sum(s.duration_h for s in data.long_audio)) if explicit and long
             else metrics.hours_for_frames(total.size))
    return _Scored(_peaks(model, data.positives, h, patience),
                   _peaks(model, data.near_miss, h, patience),
                   _peaks(model, data.negatives, h, patience), total, spans, hours, groups)


def evaluate_features(model: Any, data: EvalData, *, config: EvaluationConfig | None = None,
                      context: Context) -> EvalReport:
    """Score `data` with `model` (a `detector.WakeWordModel`) and report it."""
    cfg = config or EvaluationConfig.model_validate({})
    if data.empty:
        raise nothing_to_evaluate()
    debounce = metrics.debounce_frames_for(cfg.debounce_s)
    kw = {"patience": cfg.patience, "debounce_frames": debounce}
    sc = _score(model, data, cfg.patience)
    has_long = sc.long.size > 0 and sc.hours > 0
    choice = curve = None
    extra = dict(context.data)
    if has_long and sc.pos.size:
        curve = metrics.det_curve(sc.pos, sc.long, sc.hours, patience=cfg.patience,
                                  debounce_frames=debounce)
        if context.recommend:
            choice = metrics.threshold_for_target(sc.pos, sc.long, sc.hours,
                                                  cfg.target_fp_per_hour, **kw)
    if choice is not None and sc.hours < MIN_RECOMMEND_HOURS:
        # never recommended anywhere: not in the report, the table or a model card
        choice = None
        extra["recommendation"] = (f"none: {sc.hours * 60:.1f} min of negative audio is too "
                                   f"little to choose a threshold (at least "
                                   f"{MIN_RECOMMEND_HOURS * 60:.0f} min)")
        log.warning("only %.1f minutes of negative audio: too little to recommend a threshold "
                    "(use at least %.0f minutes); reporting at %.2f", sc.hours * 60,
                    MIN_RECOMMEND_HOURS * 60,
                    context.threshold if context.threshold is not None else cfg.threshold)
    t, source = _choose_threshold(context, choice, cfg.threshold)
    return _build(model, data, sc, cfg, context, t, source, choice, curve, extra, kw)


def _choose_threshold(context: Context, choice: metrics.ThresholdChoice | None,
                      default: float) -> tuple[float, str]:
    if context.threshold is not None:
        return float(context.threshold), context.threshold_source or "given"
    if choice is not None and choice.met:
        return choice.threshold, "recommended for the target false-positive rate"
    return float(default), "config"


def _locate(frame: int, spans: list[tuple[str, int, int]]) -> tuple[str, float]:
    for name, n, offset in spans:
        if frame < n:
            return name, round((frame + offset + 1) * FRAME_MS / 1000.0, 2)
        frame -= n
    return "?", 0.0


def _rate(peaks: np.ndarray, t: float) -> float | None:
    return metrics.false_accept_rate(peaks, t) if peaks.size else None


def _fph(scores: np.ndarray, t: float, hours: float, kw: dict[str, int]) -> float | None:
    return metrics.fp_per_hour(scores, t, hours, **kw) if scores.size and hours > 0 else None


def _build(model: Any, data: EvalData, sc: _Scored, cfg: EvaluationConfig, ctx: Context,
           t: float, source: str, choice: metrics.ThresholdChoice | None,
           curve: metrics.DetCurve | None, extra: dict[str, Any],
           kw: dict[str, int]) -> EvalReport:
    fires = (metrics.activations(sc.long, t, **kw) if sc.long.size
             else np.zeros(0, np.int64))
    fp_times = tuple((*_locate(int(f), sc.spans), round(float(sc.long[f]), 4))
                     for f in fires[:MAX_LISTED * 4])
    clip_report = None
    if sc.pos.size and (sc.neg.size or sc.near.size):
        others = np.concatenate([sc.neg, sc.near])
        labels = np.concatenate([np.ones(sc.pos.size), np.zeros(others.size)])
        clip_report = metrics.classification_report(
            labels, np.concatenate([sc.pos, others]) >= t)
    names = data.positives.names
    missed = tuple(n for n, s in sorted(zip(names, sc.pos), key=lambda x: x[1])
                   if s < t)[:MAX_LISTED]
    summary = {"positive_clips": int(sc.pos.size), "near_miss_clips": int(sc.near.size),
               "negative_clips": int(sc.neg.size),
               "long_audio": [{"name": k, "hours": v} for k, v in sc.groups.items()], **extra}
    has_long = sc.long.size > 0
    d = cfg.threshold
    return EvalReport(
        model=ctx.model, wake_word=ctx.wake_word, date=_now(), tool_version=_version(),
        threshold=t, threshold_source=source, debounce_s=cfg.debounce_s,
        patience=cfg.patience, target_fp_per_hour=cfg.target_fp_per_hour,
        n_positive=int(sc.pos.size),
        recall=metrics.recall(sc.pos, t) if sc.pos.size else None, missed=missed,
        n_near_miss=int(sc.near.size), near_miss_false_accept_rate=_rate(sc.near, t),
        n_negative_clips=int(sc.neg.size), negative_clip_false_accept_rate=_rate(sc.neg, t),
        clip_report=clip_report, negative_hours=sc.hours,
        false_positives=int(fires.size) if has_long else None,
        fp_per_hour=_fph(sc.long, t, sc.hours, kw), false_positive_times=fp_times,
        recommended=choice, det=curve,
        at_default_threshold={"threshold": d,
                              "recall": metrics.recall(sc.pos, d) if sc.pos.size else None,
                              "fp_per_hour": _fph(sc.long, d, sc.hours, kw)},
        out_of_family=_out_of_family(model, data, t, cfg.patience),
        real_speech=_real_speech(model, data, t, kw), families=dict(ctx.families),
        validation=ctx.validation, data=summary)


def _out_of_family(model: Any, data: EvalData, t: float, patience: int
                   ) -> dict[str, Any] | None:
    """Recall and near-miss fires on voice families that training never heard."""
    if data.oof_positives is None:
        return None
    pos = _peaks(model, data.oof_positives, data.history, patience)
    adv = _peaks(model, data.oof_near_miss, data.history, patience)
    return {"recall": metrics.recall(pos, t), "positives": int(pos.size),
            "near_miss_false_accept_rate": _rate(adv, t), "near_miss_clips": int(adv.size)}


def _real_speech(model: Any, data: EvalData, t: float, kw: dict[str, int]
                 ) -> dict[str, Any] | None:
    """False positives per hour on real speech held out of training."""
    s = data.real_speech
    if s is None:
        return None
    scores = _stream_scores(model, s, data.history)
    if scores.size == 0:
        return None
    hours = s.duration_h
    fires = metrics.count_activations(scores, t, **kw)
    return {"fp_per_hour": fires / hours, "false_positives": fires, "hours": hours, **s.info}
