"""`easy-oww create` and `easy-oww list`."""

from __future__ import annotations

import json

import click
from rich.table import Table

from easy_oww.cli.common import AppState, is_interactive, pass_state
from easy_oww.config import Preset
from easy_oww.errors import EasyOWWError
from easy_oww.project import create_project, list_projects


@click.command("create")
@click.argument("name")
@click.option("--wake-word", "wake_word", default=None,
              help='The wake phrase, e.g. "hey jarvis" (prompted for in a terminal).')
@click.option("--samples", type=click.IntRange(10, 1_000_000), default=None,
              help="Positive TTS clips to generate (default from the preset).")
@click.option("--steps", type=click.IntRange(10, 10_000_000), default=None,
              help="Training steps (default from the preset).")
@click.option("--preset", type=click.Choice([p.value for p in Preset]), default="standard",
              show_default=True, help="Size of the dataset and training.")
@pass_state
def create_cmd(state: AppState, name: str, wake_word: str | None, samples: int | None,
               steps: int | None, preset: str) -> None:
    """Create project NAME with its config.yaml."""
    ws = state.open_workspace()
    if wake_word is None:
        if not is_interactive():
            raise EasyOWWError("no wake word given and no terminal to ask for one",
                               f'pass it: easy-oww create {name} --wake-word "hey jarvis"')
        wake_word = click.prompt("Wake word (e.g. hey jarvis)", type=str)
    project = create_project(ws, name, wake_word, samples=samples, steps=steps,
                             preset=Preset(preset))
    cfg = project.config
    state.out.print(f"Created project '{name}' for wake word \"{cfg.wake_word}\" "
                    f"at {project.paths.root}")
    state.out.print(f"Next: easy-oww record {name}  (optional)   then: easy-oww train {name}")


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_cmd(state: AppState, as_json: bool) -> None:
    """List the workspace's projects."""
    ws = state.open_workspace()
    summaries = list_projects(ws)
    if as_json:
        click.echo(json.dumps([s.to_json() for s in summaries], indent=2))
        return
    if not summaries:
        state.out.print(f"No projects in {ws.projects}. Create one with: "
                        'easy-oww create NAME --wake-word "..."')
        return
    table = Table(title=f"Projects in {ws.root}")
    for col in ("name", "wake word", "recordings", "negatives", "model", "last result"):
        table.add_column(col)
    for s in summaries:
        result = "-"
        if s.last_result:
            parts = []
            if "recall" in s.last_result:
                parts.append(f"recall {s.last_result['recall']:.2f}")
            if "fp_per_hour" in s.last_result:
                parts.append(f"{s.last_result['fp_per_hour']:.2f} FP/h")
            result = ", ".join(parts) or "-"
        if s.error:
            result = f"config error: {s.error}"
        table.add_row(s.name, s.wake_word, str(s.recordings), str(s.negative_recordings),
                      "yes" if s.model else "no", result)
    state.out.print(table)
