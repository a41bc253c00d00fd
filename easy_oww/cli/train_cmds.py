"""`easy-oww train`: the main job, phase by phase, with a summary at the end."""

from __future__ import annotations

import click
from rich.table import Table

from easy_oww.cli.common import AppState, pass_state, progress_bars
from easy_oww.config import Preset


@click.command("train")
@click.argument("name")
@click.option("--preset", type=click.Choice([p.value for p in Preset]), default=None,
              help="Resize the run: quick (the demo, ~15 min on 2 cores), standard, max "
                   "(default: the project's config).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="Where to train (auto: CUDA when PyTorch sees a GPU; default: the "
                   "config's training.device, auto unless changed).")
@click.option("--force", is_flag=True, help="Redo every phase, even those already done.")
@click.option("--resume", is_flag=True,
              help="Continue a stopped run (the default: finished phases are skipped, "
                   "feature shards and checkpoints are kept).")
@pass_state
def train_cmd(state: AppState, name: str, preset: str | None, device: str | None, force: bool,
              resume: bool) -> None:
    """Train project NAME: clips, features, training, export, evaluation."""
    from easy_oww.pipeline import run_train

    if force and resume:
        raise click.UsageError("--force and --resume contradict each other; pick one")
    ws = state.open_workspace()

    def announce(seconds: float) -> None:
        state.err.print(f"Expected time: about {max(1, round(seconds / 60))} min on this "
                        "machine (less when earlier phases are cached)")

    with progress_bars(state) as progress:
        report = run_train(ws, name, preset=Preset(preset) if preset else None, force=force,
                           device=device, progress=progress, announce=announce)
    table = Table(title=f"easy-oww train {name}: \"{report.wake_word}\" ({report.preset})")
    table.add_column("phase")
    table.add_column("time", justify="right")
    table.add_column("result")
    for p in report.phases:
        table.add_row(p.name, "cached" if p.skipped else f"{p.seconds:.1f} s", _describe(p))
    table.add_row("total", f"{report.seconds:.1f} s", "")
    state.out.print(table)
    m = report.metrics
    nm = m.get("near_miss_false_accept_rate")
    state.out.print(f"Model: {report.model_path}")
    if report.tflite_path is not None:
        state.out.print(f"TFLite model (Home Assistant): {report.tflite_path}")
    state.out.print(f"Model card: {report.card_path}")
    quality = m.get("quality") or [
        f"Held-out evaluation at threshold {m['threshold']:.3f}: recall {m['recall']:.3f} "
        f"on {m['positives']} noisy, reverberant clips from unseen voices; "
        f"{m['fp_per_hour']:.2f} false positives/hour on {m['negative_hours']:.2f} h of "
        f"negative audio" + ("" if nm is None else f"; near-miss phrases fire {nm:.1%}")]
    for line in quality:
        state.out.print(line, highlight=False)
    if not m.get("meets_target", True):
        state.out.print(f"[yellow]The target of {m['target_fp_per_hour']} false positives/hour "
                        "is not met: record your voice (easy-oww record), use the standard "
                        "preset, or download datasets (easy-oww download).[/yellow]")


def _describe(p) -> str:  # type: ignore[no-untyped-def]
    s = p.summary
    if p.name == "clips" and "counts" in s:
        return ", ".join(f"{k} {v}" for k, v in s["counts"].items() if v)
    if p.name == "features" and "counts" in s:
        return f"{sum(s['counts'].values())} windows"
    if p.name == "negative audio" and "test_hours" in s:
        return f"{s['val_hours']:.2f} h validation + {s['test_hours']:.2f} h test"
    if p.name == "training" and "selected_step" in s:
        return (f"step {s['selected_step']}, validation recall {s['val_recall']:.3f} at "
                f"{s['val_fp_per_hour']:.2f} FP/h")
    if p.name == "export" and "bytes" in s:
        tfl = s.get("tflite")
        return f"{s['bytes'] / 1024:.0f} KiB ONNX" + (
            f", {tfl['bytes'] / 1024:.0f} KiB TFLite" if tfl else "")
    if p.name == "evaluation" and "recall" in s:
        return f"recall {s['recall']:.3f}, {s['fp_per_hour']:.2f} FP/h"
    return ""
