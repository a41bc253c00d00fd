"""`easy-oww train`: the main job, phase by phase, with a summary at the end."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.table import Table

from easy_oww.cli.common import AppState, pass_state, progress_bars
from easy_oww.config import Preset

if TYPE_CHECKING:
    from easy_oww.evaluate.result import EvalReport


@click.command("train")
@click.argument("name")
@click.option("--preset", type=click.Choice([p.value for p in Preset]), default=None,
              help="Resize the run: quick (the demo, ~15 min on 2 cores), standard, max "
                   "(default: the project's config).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="Where to train (auto: CUDA when PyTorch sees a GPU; default: the "
                   "config's training.device, auto unless changed).")
@click.option("--force", is_flag=True, help="Redo every phase, even those already done.")
@pass_state
def train_cmd(state: AppState, name: str, preset: str | None, device: str | None,
              force: bool) -> None:
    """Train project NAME: clips, features, training, export, evaluation.

    A stopped run continues where it stopped: finished phases are skipped, feature shards
    and checkpoints are kept (--force redoes everything).
    """
    from easy_oww.pipeline import run_train

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
        table.add_row(p.name, "cached" if p.skipped else f"{p.seconds:.1f} s",
                      p.result.describe())
    table.add_row("total", f"{report.seconds:.1f} s", "")
    state.out.print(table)
    r = report.evaluation
    state.out.print(f"Model: {report.model_path}")
    if report.tflite_path is not None:
        state.out.print(f"TFLite model (Home Assistant): {report.tflite_path}")
    state.out.print(f"Model card: {report.card_path}")
    for line in r.quality or _fallback_quality(r):
        state.out.print(line, highlight=False)
    if r.meets_target is False:
        state.out.print(f"[yellow]The target of {r.target_fp_per_hour} false positives/hour "
                        "is not met: record your voice (easy-oww record), use the standard "
                        "preset, or download datasets (easy-oww download).[/yellow]")


def _fallback_quality(r: EvalReport) -> list[str]:
    """The held-out figures in one sentence, for reports without quality lines."""
    nm = r.near_miss_false_accept_rate
    return [f"Held-out evaluation at threshold {r.threshold:.3f}: recall {r.recall or 0.0:.3f} "
            f"on {r.n_positive} noisy, reverberant clips from unseen voices; "
            f"{r.fp_per_hour or 0.0:.2f} false positives/hour on {r.negative_hours:.2f} h of "
            f"negative audio" + ("" if nm is None else f"; near-miss phrases fire {nm:.1%}")]
