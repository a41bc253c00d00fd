"""`easy-oww eval` (score a model on files) and `easy-oww test` (live microphone)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table
from rich.text import Text

from easy_oww.cli.common import AppState, pass_state, progress_bars
from easy_oww.errors import DeviceError
from easy_oww.project import open_project

if TYPE_CHECKING:
    from easy_oww.evaluate.result import EvalReport


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _hours(h: float) -> str:
    return f"{h:.2f} h" if h >= 0.1 else f"{h * 60:.1f} min"


def _report_table(r: EvalReport) -> Table:
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
    from easy_oww.pipeline.evaluate_project import EvalRequest, evaluate_project

    ws = state.open_workspace()
    project = open_project(ws, name)
    request = EvalRequest(Path(model) if model else None, positives, negatives, near_miss,
                          tuple(audio), builtin_audio, threshold)
    with progress_bars(state) as progress:
        done = evaluate_project(ws, project, request, progress=progress)
    r = done.report
    if as_json:
        result = r.to_json()
        result.pop("det", None)  # the curve itself stays in the report file
        click.echo(json.dumps(result, indent=2, default=str))
    elif done.heldout:
        state.out.print(f"Evaluation of {Path(r.model).name} on train's held-out data "
                        f"(threshold {r.threshold:.3f}, {r.threshold_source}):",
                        highlight=False)
        for line in r.quality:
            state.out.print(line, highlight=False)
        state.out.print(f"Report: {r.results_path}", highlight=False)
    else:
        state.out.print(_report_table(r))
        state.out.print(f"Report: {r.results_path}", highlight=False)
    for note in done.notes:
        state.err.print(f"note: {note}")


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
    from easy_oww.evaluate.card import card_threshold
    from easy_oww.evaluate.detector import Detector
    from easy_oww.pipeline.evaluate_project import model_path as project_model

    ws = state.open_workspace()
    project = open_project(ws, name)
    ev = project.config.evaluation
    model_path = project_model(project, Path(model) if model else None)
    card = (card_threshold(project.paths.model_card_json)
            if model_path.resolve() == project.paths.model.resolve() else None)
    t = threshold if threshold is not None else (card or ev.threshold)
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

