"""`easy-oww record`, `record-negative` and `import`.

The terminal side of :mod:`easy_oww.recording`: device choice, countdown, level meter,
playback and single-key choices. Prompts and the meter go to stderr; summaries and the
import table to stdout.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.table import Table
from rich.text import Text

from easy_oww.cli.common import AppState, is_interactive, pass_state, progress_bars
from easy_oww.config import load_config, save_config
from easy_oww.contract import SAMPLE_RATE
from easy_oww.errors import DeviceError, EasyOWWError
from easy_oww.project import Project, count_audio, open_project
from easy_oww.recording import device as device_mod
from easy_oww.recording.device import DeviceInfo, LevelFn, resolve_device
from easy_oww.recording.importer import ImportResult, import_audio
from easy_oww.recording.session import RecordingSession, Take
from easy_oww.recording.suggest import negative_suggestions

CHOICES = {"a": "[a]ccept", "r": "[r]e-record", "s": "[s]kip", "q": "[q]uit"}


F = TypeVar("F", bound=Callable[..., Any])


def _session_options(count_default: int) -> Callable[[F], F]:
    def wrap(f: F) -> F:
        for opt in reversed([
            click.argument("name"),
            click.option("--count", type=click.IntRange(1, 1000), default=count_default,
                         show_default=True, help="Takes to record in this session."),
            click.option("--duration", type=click.FloatRange(0.5, 10.0), default=3.0,
                         show_default=True, help="Seconds recorded per take."),
            click.option("--device", default=None,
                         help="Microphone number or part of its name (remembered)."),
            click.option("--list-devices", "list_only", is_flag=True,
                         help="List the microphones and exit."),
            click.option("--countdown", type=click.IntRange(0, 10), default=3,
                         show_default=True, help="Seconds of 3-2-1 countdown before a take."),
            click.option("--playback/--no-playback", default=True, show_default=True,
                         help="Play each take back before asking."),
        ]):
            f = opt(f)
        return f
    return wrap


@click.command("record")
@_session_options(20)
@pass_state
def record_cmd(state: AppState, name: str, count: int, duration: float, device: str | None,
               list_only: bool, countdown: int, playback: bool) -> None:
    """Record your own voice saying the wake phrase into project NAME.

    Each take gets a countdown, a level meter, playback and a quality check; choose
    Accept, Re-record or Skip. Ctrl-C stops and keeps every accepted take.
    """
    _run(state, name, count, duration, device, list_only, countdown, playback, negative=False)


@click.command("record-negative")
@_session_options(20)
@pass_state
def record_negative_cmd(state: AppState, name: str, count: int, duration: float,
                        device: str | None, list_only: bool, countdown: int,
                        playback: bool) -> None:
    """Record phrases that must NOT trigger the wake word (near misses) into project NAME.

    Each take suggests a phrase: similar-sounding words, parts of the wake phrase, rhymes.
    """
    _run(state, name, count, duration, device, list_only, countdown, playback, negative=True)


# ------------------------------------------------------------------------ the session


def _run(state: AppState, name: str, count: int, duration: float, device: str | None,
         list_only: bool, countdown: int, playback: bool, *, negative: bool) -> None:
    project = open_project(state.open_workspace(), name)
    backend = device_mod.get_backend()
    devices = backend.list_devices()
    if list_only:
        state.out.print(_devices_table(devices, project.config.audio_device))
        return
    chosen = _choose_device(state, project, devices, device)
    folder = project.paths.negative_recordings if negative else project.paths.recordings
    stream = backend.open_input(chosen.index)
    session = RecordingSession(folder, stream, duration_s=duration)
    wake = project.config.wake_word
    prompts = (negative_suggestions(wake, count, project.config.seed) if negative
               else [wake] * count)
    kind = "negative (must not trigger)" if negative else "wake-phrase"
    state.err.print(f"Recording {count} {kind} take(s) of {duration:g} s with "
                    f"[bold]{chosen.name}[/] into {folder}. Ctrl-C stops; accepted takes "
                    "are kept.")
    interrupted = True
    try:
        _loop(state, session, prompts, countdown, playback, negative)
        interrupted = False
    finally:
        summary = session.close(interrupted)
        state.out.print(summary.describe())
        state.out.print(f"{count_audio(folder)} recording(s) in {folder} now.")


def _loop(state: AppState, session: RecordingSession, prompts: list[str], countdown: int,
          playback: bool, negative: bool) -> None:
    number = 1
    while number <= len(prompts):
        phrase = prompts[number - 1]
        say = f'say something like "{phrase}"' if negative else f'say "{phrase}"'
        state.err.print(f"\n[bold]Take {number}/{len(prompts)}[/]: {say}")
        _countdown(state, countdown)
        with _meter(state) as on_level:
            take = session.capture(number, on_level, prompt=phrase)
        _show_check(state, take)
        if playback:
            state.err.print("playing back…")
            session.play(take)
        choice = _ask(state, "arsq" if take.ok else "rsq")
        if choice == "a":
            path = session.accept(take)
            state.err.print(f"[green]saved[/] {path.name}", highlight=False)
            number += 1
        elif choice == "r":
            session.rerecord()
        elif choice == "s":
            session.skip()
            number += 1
        else:
            return


def _countdown(state: AppState, seconds: int) -> None:
    for i in range(seconds, 0, -1):
        state.err.print(f"{i}…", end=" ")
        time.sleep(1.0)
    state.err.print("[bold red]speak now[/]")


@contextmanager
def _meter(state: AppState) -> Iterator[LevelFn]:
    """A live input-level bar on stderr (a no-op when stderr is not a terminal)."""
    if not state.show_progress:
        yield lambda db: None
        return
    from rich.live import Live

    with Live(Text(""), console=state.err, refresh_per_second=20, transient=True) as live:
        peak = [-100.0]

        def update(db: float) -> None:
            peak[0] = max(peak[0], db)
            live.update(level_bar(db, peak[0]))
        yield update


def level_bar(db: float, peak: float | None = None, width: int = 40) -> Text:
    """A coloured bar for an input level in dBFS (-60 .. 0), with the loudest so far."""
    filled = round(min(1.0, max(0.0, (db + 60.0) / 60.0)) * width)
    colour = "red" if db > -3 else "yellow" if db > -12 else "green" if db > -40 else "blue"
    tail = f" {db:4.0f} dBFS" + (f"  (loudest {peak:4.0f})" if peak is not None else "")
    return Text.assemble(("● REC ", "bold red"), ("█" * filled, colour),
                         ("░" * (width - filled), "dim"), tail)


def _show_check(state: AppState, take: Take) -> None:
    check = take.check
    if take.ok:
        state.err.print(f"[green]✓ good[/] ({len(take.to_save) / SAMPLE_RATE:.1f} s kept)")
        for w in check.warnings:
            state.err.print(f"[yellow]note:[/] {w.message}")
    else:
        state.err.print(f"[red]✗ {check.report.summary()}[/]")
        state.err.print("This take cannot be kept: re-record it or skip it.")


def _ask(state: AppState, allowed: str) -> str:
    """One of `allowed` (a single key in a terminal; a typed line otherwise).

    Enter picks the first choice. End of input counts as quit.
    """
    text = " / ".join(CHOICES[c] for c in allowed) + "? "
    if is_interactive():
        click.echo(text, nl=False, err=True)
        while True:
            ch = click.getchar().lower()  # Ctrl-C raises KeyboardInterrupt
            if ch in ("\r", "\n"):
                ch = allowed[0]
            if ch in allowed:
                click.echo(ch, err=True)
                return ch
    stdin = sys.stdin  # CliRunner substitutes it in tests
    while True:
        click.echo(text, nl=False, err=True)
        line = stdin.readline()
        if line == "":
            click.echo("(end of input)", err=True)
            return "q"
        ch = line.strip().lower()[:1] or allowed[0]
        if ch in allowed:
            return ch
        click.echo(f"please answer one of: {', '.join(allowed)}", err=True)


# ------------------------------------------------------------------------ devices


def _devices_table(devices: list[DeviceInfo], remembered: str | int | None) -> Table:
    table = Table(title="Microphones")
    for col in ("#", "name", "channels", "rate", ""):
        table.add_column(col)
    for d in devices:
        marks = []
        if d.is_default:
            marks.append("default")
        if remembered is not None and str(remembered) in (d.name, str(d.index)):
            marks.append("project's choice")
        table.add_row(str(d.index), d.name, str(d.channels), f"{d.default_samplerate:g}",
                      ", ".join(marks))
    return table


def _choose_device(state: AppState, project: Project, devices: list[DeviceInfo],
                   wanted: str | None) -> DeviceInfo:
    if wanted is not None:
        chosen = resolve_device(devices, wanted)
        assert chosen is not None
        _remember(project, chosen)
        return chosen
    remembered = project.config.audio_device
    if remembered is not None:
        try:
            chosen = resolve_device(devices, remembered)
            assert chosen is not None
            return chosen
        except DeviceError:
            state.err.print(f"[yellow]warning:[/] the remembered microphone {remembered!r} "
                            "is not connected; choosing another")
    default = resolve_device(devices, None)
    assert default is not None
    if len(devices) > 1 and is_interactive():
        state.err.print(_devices_table(devices, None))
        try:
            answer = click.prompt("Microphone number", default=str(default.index), err=True)
        except click.Abort:  # Ctrl-C or end of input: nothing recorded, exit 130
            raise KeyboardInterrupt from None
        chosen = resolve_device(devices, answer)
        assert chosen is not None
        _remember(project, chosen)
        return chosen
    return default


def _remember(project: Project, chosen: DeviceInfo) -> None:
    """Store the microphone's name in the project's config (re-read just before saving)."""
    path = project.paths.config
    config = load_config(path)
    if config.audio_device != chosen.name:
        save_config(config.model_copy(update={"audio_device": chosen.name}), path)


# ------------------------------------------------------------------------ import


@click.command("import")
@click.argument("name")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--negative", is_flag=True,
              help="Import into the negative recordings (phrases that must not trigger).")
@pass_state
def import_cmd(state: AppState, name: str, paths: tuple[Path, ...], negative: bool) -> None:
    """Import audio files or folders (searched recursively) into project NAME.

    Any supported format is converted to 16 kHz mono WAV, checked, trimmed of silence;
    duplicates are skipped. A table shows what was taken and why anything was refused.
    """
    project = open_project(state.open_workspace(), name)
    with progress_bars(state) as progress:
        result = import_audio(project.paths, paths, negative=negative, progress=progress)
    state.out.print(_import_table(result))
    state.out.print(f"Imported {len(result.taken)} file(s) into {result.folder}; "
                    f"refused {len(result.refused)}. "
                    f"{count_audio(result.folder)} recording(s) there now.")
    if not result.taken:
        raise EasyOWWError("no file was imported",
                           "see the reasons in the table; fix or convert those files")


def _import_table(result: ImportResult) -> Table:
    table = Table(title=f"Import into {result.folder.name}/")
    table.add_column("file", overflow="fold")
    table.add_column("result")
    table.add_column("details", overflow="fold")
    for t in result.taken:
        table.add_row(str(t.source), f"[green]taken → {t.saved.name}[/]",
                      f"{t.duration_s:.1f} s" + (f"; {t.note}" if t.note else ""))
    for r in result.refused:
        table.add_row(str(r.source), f"[red]refused ({r.code})[/]", r.reason)
    return table
