"""`easy-oww export`: the trained model as ONNX or TFLite, optionally into Home Assistant."""

from __future__ import annotations

from pathlib import Path

import click

from easy_oww.cli.common import AppState, pass_state
from easy_oww.pipeline.exporting import FORMATS, HOME_ASSISTANT_DIR, ExportResult

HOME_ASSISTANT_STEPS = """\
Next, in Home Assistant:
  1. Settings > Add-ons > openWakeWord > Restart (it reads custom models from
     /share/openwakeword when it starts).
  2. Settings > Voice assistants > your assistant > Wake word: choose "{name}"
     (openWakeWord as the wake word engine).
  3. Say the wake word; lower or raise the add-on's threshold if it fires too rarely or too often.
See docs/home_assistant.md for a standalone wyoming-openwakeword (Docker) and troubleshooting."""


@click.command("export")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="tflite", show_default=True,
              help="tflite: float32 [1, 16, 96] -> [1, 1], for Home Assistant and openWakeWord's "
                   "TFLite path; onnx: the model `train` writes.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write the model into (default: the project's models folder).")
@click.option("--home-assistant", "home_assistant", type=click.Path(file_okay=False,
                                                                    path_type=Path),
              is_flag=False, flag_value=str(HOME_ASSISTANT_DIR), default=None,
              help="Also copy the checked TFLite model into Home Assistant's custom-model "
                   f"folder (without a value: {HOME_ASSISTANT_DIR}, as on HA OS; else e.g. the "
                   "mounted Samba share's openwakeword folder).")
@pass_state
def export_cmd(state: AppState, name: str, fmt: str, out: Path | None,
               home_assistant: Path | None) -> None:
    """Export project NAME's trained model (checked before it is written).

    \b
    Examples:
      easy-oww export hey_jarvis                       # models/hey_jarvis.tflite
      easy-oww export hey_jarvis --format onnx --out ./dist
      easy-oww export hey_jarvis --home-assistant /mnt/ha-share/openwakeword
    """
    from easy_oww.pipeline.exporting import export_project

    result = export_project(state.open_workspace(), name, fmt, out, home_assistant)
    state.out.print(_describe(result))
    if result.home_assistant is not None:
        state.out.print(f"Copied to {result.home_assistant}")
        state.out.print(HOME_ASSISTANT_STEPS.format(name=result.path.stem))


def _describe(result: ExportResult) -> str:
    line = f"{result.format.upper()} model: {result.path} ({result.bytes / 1024:.0f} KiB)"
    if result.max_abs_diff is not None:
        line += (f"; checked in LiteRT: scores within {result.max_abs_diff:.1e} of the ONNX "
                 f"model on {result.windows} feature windows")
    return line
