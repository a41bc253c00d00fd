"""`run_eval`: score a model on audio files and long audio, write its report and DET PNG.

The files are embedded first, each as a fresh stream (positive, near-miss and negative
clips padded with 1 s of silence on both sides, as ``openwakeword.Model.predict_clip``
does), then measured by `easy_oww.evaluate.measure.evaluate_features`, the evaluation
`train` uses too. `save_det_plot` draws any report's DET curve.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from easy_oww.audio.io import load_audio
from easy_oww.config import EvaluationConfig
from easy_oww.contract import SAMPLE_RATE
from easy_oww.errors import MissingDependency
from easy_oww.evaluate.detector import WakeWordModel, default_frontend, silence_features
from easy_oww.evaluate.measure import (
    MIN_RECOMMEND_HOURS,
    Clips,
    Context,
    EvalData,
    Stream,
    evaluate_features,
    nothing_to_evaluate,
)
from easy_oww.evaluate.result import EvalReport
from easy_oww.fsutil import atomic_write_json
from easy_oww.progress import ProgressFn

if TYPE_CHECKING:
    from easy_oww.features.frontend import FrontEnd

log = logging.getLogger(__name__)

__all__ = ["MIN_RECOMMEND_HOURS", "EvalReport", "FeatureSource", "run_eval", "save_det_plot",
           "write_report"]

PAD_SECONDS = 1
RESULTS_NAME = "results.json"
PLOT_NAME = "det_curve.png"


class FeatureSource(Protocol):
    """Long audio whose embedding stream is cached (the negative-audio stage's parts)."""

    @property
    def name(self) -> str: ...

    def load_features(self) -> np.ndarray: ...


LongAudioInput = Sequence["Path | FeatureSource | np.ndarray"] | np.ndarray
"""Audio files, cached streams, or embedding streams [frames, 96] (`stream_embeddings`
of the audio: a fresh stream each)."""


def _clip_streams(paths: Sequence[Path], frontend: FrontEnd, *, task: str,
                  progress: ProgressFn | None) -> Clips:
    """Each clip, 1 s padded both sides, embedded as a fresh stream."""
    from easy_oww.features.streaming import stream_embeddings

    pad = np.zeros(PAD_SECONDS * SAMPLE_RATE, dtype=np.int16)
    streams = []
    for i, p in enumerate(paths):
        streams.append(stream_embeddings(np.concatenate([pad, load_audio(p), pad]), frontend))
        if progress:
            progress(task, i + 1, len(paths))
    return Clips(streams=tuple(streams), names=tuple(Path(p).name for p in paths))


def _parts(long_audio: LongAudioInput | None) -> list[Path | FeatureSource | np.ndarray]:
    if long_audio is None:
        return []
    if isinstance(long_audio, np.ndarray):
        return [long_audio]
    return list(long_audio)


def _long_streams(long_audio: LongAudioInput | None, frontend: FrontEnd, *,
                  progress: ProgressFn | None) -> tuple[Stream, ...]:
    from easy_oww.features.streaming import stream_embeddings

    parts, out = _parts(long_audio), []
    for i, part in enumerate(parts):
        if isinstance(part, np.ndarray):
            out.append(Stream(f"stream {i}", part))
        elif isinstance(part, (str, Path)):
            out.append(Stream(Path(part).name, stream_embeddings(load_audio(part), frontend)))
        else:
            out.append(Stream(part.name, np.asarray(part.load_features())))
        if progress:
            progress("long audio", i + 1, len(parts))
    return tuple(out)


def run_eval(model_path: Path, *, positives: Sequence[Path] | None = None,
             negatives: Sequence[Path] | None = None,
             long_audio: LongAudioInput | None = None,
             config: EvaluationConfig | None = None,
             near_miss: Sequence[Path] | None = None, out_dir: Path,
             threshold: float | None = None, wake_word: str | None = None,
             data: dict[str, object] | None = None, frontend: FrontEnd | None = None,
             progress: ProgressFn | None = None, plot: bool = True,
             stem: str | None = None) -> EvalReport:
    """Evaluate `model_path` on files; write ``results.json`` and ``det_curve.png`` into
    `out_dir` (``<stem>.json`` and ``<stem>.png`` when `stem` is given)."""
    if not (positives or negatives or near_miss or _parts(long_audio)):
        raise nothing_to_evaluate()
    model = WakeWordModel(model_path)
    fe = frontend if frontend is not None else default_frontend()
    ev = EvalData(
        positives=_clip_streams(list(positives or []), fe, task="positive clips",
                                progress=progress),
        near_miss=_clip_streams(list(near_miss or []), fe, task="near-miss clips",
                                progress=progress),
        negatives=_clip_streams(list(negatives or []), fe, task="negative clips",
                                progress=progress),
        long_audio=_long_streams(long_audio, fe, progress=progress))
    if not ev.empty:
        ev = replace(ev, history=silence_features(fe))
    report = evaluate_features(model, ev, config=config, context=Context(
        model=str(model_path), wake_word=wake_word, threshold=threshold,
        data=dict(data or {})))
    out_dir = Path(out_dir)
    return write_report(report, out_dir / (RESULTS_NAME if stem is None else f"{stem}.json"),
                        plot=out_dir / PLOT_NAME if stem is None and plot else plot,
                        title=f"DET: {Path(model_path).name}")


def write_report(report: EvalReport, path: Path, *, plot: bool | Path = True,
                 title: str) -> EvalReport:
    """`report` as JSON at `path` and, unless `plot` is False, its DET curve at `plot`
    (default: beside it, ``.png``); returns the report with both paths filled in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    png_path = plot if isinstance(plot, Path) else path.with_suffix(".png")
    png = save_det_plot(report, png_path, title) if plot is not False else None
    report = replace(report, results_path=str(path), det_plot=png)
    atomic_write_json(path, report.to_json())
    return report


def save_det_plot(report: EvalReport, path: Path, title: str) -> str | None:
    """Draw the report's DET curve with its operating point (needs matplotlib, extra
    `plot`). A missing plot never fails an evaluation: it is logged, and None returned."""
    if report.det is None:
        return None
    from easy_oww.evaluate.plot import plot_det

    miss = 1.0 - (report.recall or 0.0)
    try:
        return str(plot_det(report.det, path, title=title,
                            operating=(report.threshold, report.fp_per_hour or 0.0, miss),
                            choice=report.recommended))
    except MissingDependency as exc:
        log.warning("%s; skipping the DET plot (%s)", exc.message, exc.hint)
    except Exception as exc:  # noqa: BLE001 - a missing plot never fails an evaluation
        log.warning("could not draw the DET curve: %s", exc)
    return None
