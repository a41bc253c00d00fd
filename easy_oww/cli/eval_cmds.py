"""`easy-oww eval` (score a model on files) and `easy-oww test` (live microphone)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from easy_oww.audio.io import SUPPORTED_EXTENSIONS
from easy_oww.cli.common import AppState, pass_state, progress_bars
from easy_oww.errors import DeviceError, EasyOWWError
from easy_oww.fsutil import atomic_write_json, read_json
from easy_oww.project import Project, open_project


def _audio_in(folder: Path, what: str) -> list[Path]:
    if not folder.is_dir():
        raise EasyOWWError(f"{what} folder not found: {folder}", "give a folder of audio clips")
    files = sorted(p for p in folder.rglob("*")
                   if p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS
                   and not p.name.startswith("._"))
    if not files:
        raise EasyOWWError(f"no audio files in {what} folder {folder}",
                           f"put WAV/FLAC clips there ({', '.join(SUPPORTED_EXTENSIONS)})")
    return files


def _planned_clips(project: Project, split: str) -> list[Path]:
    """Held-out clips the training pipeline made for evaluation (if it has run)."""
    try:
        data = read_json(project.paths.clips / "phase.json")
        ws_root = project.paths.root.parent.parent
        rel = data["summary"]["plan"]["splits"].get(split, [])
    except (OSError, ValueError, KeyError, TypeError):
        return []
    paths = [ws_root / p for p in rel]
    return [p for p in paths if p.is_file()]


def _model_path(project: Project, model: str | None) -> Path:
    if model is not None:
        return Path(model)
    if not project.paths.model.is_file():
        raise EasyOWWError(f"project '{project.name}' has no trained model yet",
                           f"train it with `easy-oww train {project.name}`, or pass "
                           "--model PATH (any openWakeWord .onnx model)")
    return project.paths.model


def _card_threshold(project: Project, model: Path) -> float | None:
    if model.resolve() != project.paths.model.resolve():
        return None
    try:
        value = read_json(project.paths.model_card_json).get("recommended_threshold")
    except (OSError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _hours(h: float) -> str:
    return f"{h:.2f} h" if h >= 0.1 else f"{h * 60:.1f} min"


def _report_table(r: Any) -> Table:
    t = Table(title=f"evaluation of {Path(r.model).name}", show_header=False, box=None,
              padding=(0, 2))
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    t.add_row("threshold", f"{r.threshold:.3f} ({r.threshold_source})")
    t.add_row("recall", f"{_pct(r.recall)} of {r.n_positive} positive clips")
    if r.n_near_miss:
        t.add_row("near-miss false accepts",
                  f"{_pct(r.near_miss_false_accept_rate)} of {r.n_near_miss} clips")
    if r.n_negative_clips:
        t.add_row("negative clip false accepts",
                  f"{_pct(r.negative_clip_false_accept_rate)} of {r.n_negative_clips} clips")
    if r.fp_per_hour is not None:
        t.add_row("false positives per hour",
                  f"{r.fp_per_hour:.2f} ({r.false_positives} in {_hours(r.negative_hours)}, "
                  f"debounce {r.debounce_s:g} s)")
    if r.recommended is not None:
        c = r.recommended
        verdict = "meets the target" if c.met else "cannot meet the target"
        t.add_row(f"threshold for {c.target_fp_per_hour:g} FP/h",
                  f"{c.threshold:.3f}: recall {_pct(c.recall)}, {c.fp_per_hour:.2f} FP/h "
                  f"({verdict})")
    elif r.data.get("recommendation"):
        t.add_row(f"threshold for {r.target_fp_per_hour:g} FP/h", r.data["recommendation"])
    if r.det is not None:
        t.add_row("DET area", f"{r.det.area:.3f} (mean miss rate over 0-{r.det.fp_range:g} FP/h;"
                              " lower is better)")
    if r.clip_report:
        cr = r.clip_report
        t.add_row("clip precision / recall / F1",
                  f"{cr['precision']:.3f} / {cr['recall']:.3f} / {cr['f1']:.3f}")
    if r.missed:
        t.add_row("missed clips", ", ".join(r.missed[:8]) + (" ..." if len(r.missed) > 8 else ""))
    if r.false_positive_times:
        t.add_row("false positives at", ", ".join(f"{s} {ts:.1f}s"
                                                  for s, ts, _ in r.false_positive_times[:5]))
    if r.det_plot:
        t.add_row("DET curve", r.det_plot)
    return t


@click.command("eval")
@click.argument("name")
@click.option("--model", "model", type=click.Path(dir_okay=False), default=None,
              help="ONNX model to evaluate (default: the project's trained model).")
@click.option("--positives", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of clips that contain the wake word (default: train's held-out "
                   "clips).")
@click.option("--negatives", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of clips without the wake word (false accepts, precision/F1).")
@click.option("--near-miss", "near_miss", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder of similar-sounding phrases (default: held-out ones).")
@click.option("--audio", "audio", type=click.Path(dir_okay=False, path_type=Path),
              multiple=True, help="Long recordings without the wake word (repeatable); "
              "default: train's held-out negative audio.")
@click.option("--builtin-audio/--no-builtin-audio", default=None,
              help="Use the workspace's generated negative audio instead of train's "
                   "(default: when no --audio and the project is not trained).")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0, min_open=True), default=None,
              help="Report at this threshold (default: train's, from validation data).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@pass_state
def eval_cmd(state: AppState, name: str, model: str | None, positives: Path | None,
             negatives: Path | None, near_miss: Path | None, audio: Sequence[Path],
             builtin_audio: bool | None, threshold: float | None, as_json: bool) -> None:
    """Measure a model: recall, false positives per hour (train's held-out data by default).

    With no data options, on a trained project, it scores the model on the held-out clips,
    voices and negative audio that train's evaluation used, so it prints train's figures.
    Works for any openWakeWord ONNX model, pretrained ones included (--model). Writes its
    own report, evaluation/eval-<model>-<data>.json (and .png); the model card and the
    project's results (used by `list` and `test`) stay train's.
    """
    from easy_oww.pipeline.report import has_heldout_data

    ws = state.open_workspace()
    project = open_project(ws, name)
    model_path = _model_path(project, model)
    from easy_oww.evaluate.detector import WakeWordModel

    WakeWordModel(model_path)  # Contract 1 (one [batch, 1] score), before any slow step
    custom = bool(positives or negatives or near_miss or audio) or builtin_audio is not None
    if not custom and has_heldout_data(project.paths):
        _eval_heldout(state, project, model_path, threshold, as_json)
        return
    if not custom and project.paths.model.is_file():
        state.err.print("note: train's held-out data is incomplete (a run was stopped?), so "
                        "these figures are not train's; `easy-oww train` completes it")
    pos = _audio_in(positives, "positives") if positives else _planned_clips(project,
                                                                           "eval_positive")
    near = (_audio_in(near_miss, "near-miss") if near_miss
            else _planned_clips(project, "eval_adversarial"))
    neg = _audio_in(negatives, "negatives") if negatives else []
    for p in audio:
        if not p.is_file():
            raise EasyOWWError(f"audio file not found: {p}", "check the --audio path")
    use_builtin = builtin_audio if builtin_audio is not None else not audio
    tag = _data_tag(positives, negatives, near_miss, audio, use_builtin)
    report = _eval_files(state, project, model_path, pos, neg, near, audio, use_builtin,
                         threshold, report_stem(model_path, tag))
    result = report.to_json()
    result.pop("det", None)  # the curve itself stays in the report file
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    state.out.print(_report_table(report))
    state.out.print(f"Report: {report.results_path}", highlight=False)
    if not pos:
        state.err.print("note: no positive clips, so no recall and no recommended threshold; "
                        "pass --positives DIR (or run `easy-oww train` first)")


def _eval_files(state: AppState, project: Project, model_path: Path, pos: list[Path],
                neg: list[Path], near: list[Path], audio: Sequence[Path], use_builtin: bool,
                threshold: float | None, stem: str) -> Any:
    from easy_oww.evaluate.report import run_eval
    from easy_oww.negative_audio import cached_long_audio, ensure_negative_audio
    from easy_oww.pipeline.negatives import test_audio_seed

    ws, cfg = state.open_workspace(), project.config
    with progress_bars(state) as progress:
        long: list[Any] = [cached_long_audio(p, ws.cache / "eval_audio") for p in audio]
        data: dict[str, Any] = {}
        if use_builtin:
            na = ensure_negative_audio(ws, hours=cfg.evaluation.negative_hours,
                                       seed=test_audio_seed(cfg.seed),
                                       exclude=cfg.wake_word, progress=progress,
                                       include_dipco=True)
            long += list(na.parts)
            data["negative_audio"] = na.describe()
        return run_eval(model_path, positives=pos, negatives=neg, long_audio=long,
                        config=cfg.evaluation, near_miss=near,
                        out_dir=project.paths.evaluation, threshold=threshold,
                        wake_word=cfg.wake_word, data=data, progress=progress, stem=stem)


def report_stem(model_path: Path, data: str) -> str:
    """``eval-<model stem>-<data>``: the name of an evaluation's own report files."""
    return f"eval-{_slug(model_path.stem)}-{data}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._")[:60] or "model"


def _data_tag(positives: Path | None, negatives: Path | None, near_miss: Path | None,
              audio: Sequence[Path], builtin: bool) -> str:
    """"builtin" for the defaults of an untrained project ("clips" without the built-in
    audio), else the first folder's or file's name and a short hash of the paths given
    (another folder of the same name gets another report)."""
    from easy_oww.fsutil import stable_hash

    given = [p for p in (positives, negatives, near_miss, *audio) if p is not None]
    if not given:
        return "builtin" if builtin else "clips"
    key = stable_hash([str(p.resolve()) for p in given] + [builtin])[:6]
    return f"{_slug(given[0].stem)}-{key}"


def _eval_heldout(state: AppState, project: Project, model_path: Path,
                  threshold: float | None, as_json: bool) -> None:
    """train's evaluation, again: same held-out clips, voices and test audio."""
    from easy_oww.pipeline.report import rescore_project, save_det_plot

    ws = state.open_workspace()
    result, det = rescore_project(ws, project.paths, project.config, model_path, threshold)
    out = project.paths.evaluation / f"{report_stem(model_path, 'heldout')}.json"
    result["report_path"] = str(out)
    atomic_write_json(out, {**result, "det": det.to_json()})
    save_det_plot(det, out.with_suffix(".png"), project.config.wake_word)
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    state.out.print(f"Evaluation of {model_path.name} on train's held-out data "
                    f"(threshold {result['threshold']:.3f}, {result['threshold_source']}):",
                    highlight=False)
    for line in result["quality"]:
        state.out.print(line, highlight=False)
    state.out.print(f"Report: {out}", highlight=False)


@click.command("test")
@click.argument("name")
@click.option("--duration", type=click.FloatRange(min=0.5), default=60.0, show_default=True,
              help="Seconds to listen (Ctrl-C stops earlier).")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0, min_open=True), default=None,
              help="Detection threshold (default: the model card's recommendation).")
@click.option("--device", "device", default=None,
              help="Microphone index or name (default: the project's or the system's).")
@click.option("--model", "model", type=click.Path(dir_okay=False), default=None,
              help="ONNX model to test (default: the project's trained model).")
@pass_state
def test_cmd(state: AppState, name: str, duration: float, threshold: float | None,
             device: str | None, model: str | None) -> None:
    """Listen on the microphone and show detections live, with a score bar.

    Ctrl-C ends the test early and still prints the summary.
    """
    from easy_oww.evaluate import live
    from easy_oww.evaluate.detector import Detector

    ws = state.open_workspace()
    project = open_project(ws, name)
    ev = project.config.evaluation
    model_path = _model_path(project, model)
    t = threshold if threshold is not None else (_card_threshold(project, model_path)
                                                 or ev.threshold)
    detector = Detector(model_path, threshold=t, patience=ev.patience, debounce_s=ev.debounce_s)
    dev: str | int | None = device if device is not None else project.config.audio_device
    if isinstance(dev, str) and dev.strip().isdigit():
        dev = int(dev)
    try:
        source = live.open_audio_source(dev)
    except DeviceError as exc:
        raise DeviceError(exc.message, (exc.hint or "").replace("NAME", name)) from None
    state.err.print(f"listening for '{project.config.wake_word}' for {duration:g} s "
                    f"(threshold {t:.2f}); press Ctrl-C to stop")
    summary = _listen(state, detector, source, duration)
    _print_summary(state, summary)


def _bar(score: float, threshold: float, time_s: float = 0.0, width: int = 40) -> Text:
    filled = round(score * width)
    mark = min(width - 1, round(threshold * width))
    cells = ["█" if i < filled else ("|" if i == mark else "·") for i in range(width)]
    style = "bold green" if score >= threshold else "cyan"
    return Text.assemble((f"{time_s:7.1f} s  score ", "dim"), ("".join(cells), style),
                         f" {score:.3f}")


def _listen(state: AppState, detector: Any, source: Any, duration: float) -> Any:
    from rich.live import Live

    from easy_oww.evaluate import live

    show_bar = state.show_progress
    with Live(_bar(0.0, detector.threshold), console=state.err, transient=True,
              auto_refresh=False) as screen:
        def on_frame(frame: live.LiveFrame) -> None:
            if frame.detection is not None:
                d = frame.detection
                state.out.print(f"[bold green]detected[/] at {d.time_s:7.2f} s  "
                                f"score {d.score:.3f}")
            if show_bar:
                screen.update(_bar(frame.score, detector.threshold, frame.time_s),
                              refresh=True)

        return live.run_live(detector, source, duration_s=duration, on_frame=on_frame)


def _print_summary(state: AppState, s: Any) -> None:
    how = "stopped with Ctrl-C" if s.interrupted else "done"
    state.out.print(f"{how}: {len(s.detections)} detection(s) in {s.seconds:.1f} s "
                    f"(threshold {s.threshold:.2f}, highest score {s.max_score:.3f})")
    if not s.detections:
        state.out.print("no detection: say the wake word closer to the microphone, or try a "
                        "lower --threshold")

