"""`easy-oww augment-preview`: hear and see what training sees."""

from __future__ import annotations

from pathlib import Path

import click

from easy_oww.cli.common import AppState, pass_state, progress_bars
from easy_oww.contract import SAMPLE_RATE


@click.command("augment-preview")
@click.argument("name")
@click.option("--count", type=click.IntRange(1, 200), default=8, show_default=True,
              help="Augmented examples to write.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: projects/NAME/augment_preview).")
@click.option("--seed", type=int, default=None, help="Seed (default: the project's).")
@click.option("--plot/--no-plot", default=True, show_default=True,
              help="Write spectrograms.png (needs the `plot` extra: matplotlib).")
@pass_state
def augment_preview_cmd(state: AppState, name: str, count: int, out_dir: Path | None,
                        seed: int | None, plot: bool) -> None:
    """Write a few augmented examples of project NAME as WAVs, plus their spectrograms.

    The examples use the project's recordings (or TTS, or synthetic phrases when there
    are none) with the project's augmentation settings, exactly as training does.
    """
    from easy_oww.augment.preview import run_preview
    from easy_oww.project import open_project

    ws = state.open_workspace()
    project = open_project(ws, name)
    with progress_bars(state) as progress:
        res = run_preview(project, ws, count=count, out_dir=out_dir, seed=seed, plot=plot,
                          progress=progress)
    state.out.print(f"Wrote {len(res.wavs)} augmented examples of {res.clip_source} "
                    f"({res.window_samples / SAMPLE_RATE:.2f} s windows) to {res.out_dir}")
    for wav, text in zip(res.wavs, res.descriptions):
        state.out.print(f"  {wav.name}: {text}", highlight=False)
    if res.png is not None:
        state.out.print(f"Spectrograms: {res.png}")
