"""`easy-oww download`: fetch the public datasets that make models better."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from easy_oww.cli.common import AppState, pass_state
from easy_oww.datasets.download import human_bytes
from easy_oww.datasets.fetch import DownloadOutcome, download_datasets, space_needed
from easy_oww.datasets.local import DatasetStatus, dataset_status, is_present
from easy_oww.datasets.registry import MIRROR_ENV, select_datasets
from easy_oww.errors import DownloadError
from easy_oww.progress import ProgressFn
from easy_oww.workspace import Workspace


@click.command("download")
@click.option("--required-only", is_flag=True,
              help="Only the required datasets (default: required + recommended).")
@click.option("--dataset", "names", multiple=True, metavar="NAME",
              help="A dataset to download (repeatable); see --list for the names.")
@click.option("--list", "list_only", is_flag=True,
              help="Show what is available and what is present, then exit.")
@click.option("--keep-archives", is_flag=True,
              help="Keep .zip/.tar archives after extracting them.")
@click.option("--mirror", default=None, metavar="URL",
              help=f"Fetch from a mirror with the same paths (also ${MIRROR_ENV}).")
@pass_state
def download_cmd(state: AppState, required_only: bool, names: tuple[str, ...],
                 list_only: bool, keep_archives: bool, mirror: str | None) -> None:
    """Download datasets: openWakeWord negative features, rooms, speech, noise.

    Downloads resume after an interruption (run the command again), are checked
    against their published checksums and unpacked in place. easy-oww works without
    any of them; training and evaluation use whatever is present.
    """
    ws = state.open_workspace()
    if list_only:
        rows = dataset_status(ws)
        state.out.print(status_table(rows))
        state.out.print(descriptions(rows), highlight=False)
        return
    specs = select_datasets(list(names) or None, required_only=required_only)
    todo = [s for s in specs if not is_present(ws, s)]
    if not todo:
        state.out.print("All selected datasets are present:")
        state.out.print(status_table([r for r in dataset_status(ws)
                                      if r.name in {s.name for s in specs}]))
        return
    need = sum(space_needed(ws, s) for s in todo)
    state.err.print(f"Downloading {', '.join(s.name for s in todo)} "
                    f"(about {human_bytes(need)} on disk) into {ws.datasets}")
    for s in todo:
        if "non-commercial" in s.licence.lower():
            state.err.print(f"note: {s.name} is licensed {s.licence}; models trained with it "
                            "inherit that restriction")
    with download_bars(state) as progress:
        outcomes = download_datasets(ws, [s.name for s in specs], progress=progress,
                                     base_url_override=mirror, keep_archives=keep_archives)
    _report(state, ws, outcomes)


def _report(state: AppState, ws: Workspace, outcomes: list[DownloadOutcome]) -> None:
    table = Table(title="Downloads")
    for col in ("dataset", "result", "time", "path / error"):
        table.add_column(col, overflow="fold")
    for o in outcomes:
        detail = str(o.path) if o.status != "failed" else f"{o.error}"
        style = {"failed": "red", "downloaded": "green"}.get(o.status, "")
        table.add_row(o.name, Text(o.status, style=style), f"{o.seconds:.0f} s", detail)
    state.out.print(table)
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        first = failed[0]
        raise DownloadError(
            f"{len(failed)} of {len(outcomes)} datasets failed ({first.name}: {first.error})",
            first.hint or "run the command again; finished and partial downloads are kept")


def status_table(rows: list[DatasetStatus]) -> Table:
    """Name, tier, state, size on disk, size once installed, and licence."""
    table = Table(title="Datasets")
    table.add_column("dataset", no_wrap=True)
    for col in ("tier", "state", "on disk", "installed", "licence"):
        table.add_column(col, overflow="fold")
    styles = {"present": "green", "partial": "yellow", "missing": "dim"}
    for r in rows:
        table.add_row(r.name, r.tier, Text(r.state, style=styles[r.state]),
                      human_bytes(r.size_on_disk) if r.size_on_disk else "-",
                      f"~{human_bytes(r.expected_size)}" if r.expected_size else "?",
                      r.licence.split(" ")[0])
    return table


def descriptions(rows: list[DatasetStatus]) -> str:
    return "\n".join(f"{r.name}: {r.description}. Licence: {r.licence}." for r in rows)


class _AmountColumn(ProgressColumn):
    """Bytes (downloads) or item counts (extraction), per task."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes, self._count = DownloadColumn(), MofNCompleteColumn()

    def render(self, task: Task) -> Any:
        if task.fields.get("is_bytes"):
            return self._bytes.render(task)
        if task.total is None:
            return Text(f"{int(task.completed)} files")
        return self._count.render(task)


class _SpeedColumn(ProgressColumn):
    def __init__(self) -> None:
        super().__init__()
        self._speed = TransferSpeedColumn()

    def render(self, task: Task) -> Any:
        return self._speed.render(task) if task.fields.get("is_bytes") else Text("")


@contextmanager
def download_bars(state: AppState) -> Iterator[ProgressFn]:
    """Progress bars with size, speed and ETA for downloads, counts for extraction."""
    if not state.show_progress:
        yield lambda task, done, total: None
        return
    bars = Progress(TextColumn("{task.description}"), BarColumn(), _AmountColumn(),
                    _SpeedColumn(), TimeRemainingColumn(), console=state.err)
    tasks: dict[str, Any] = {}

    def update(task: str, done: int, total: int) -> None:
        if task not in tasks:
            tasks[task] = bars.add_task(task, total=total or None,
                                        is_bytes=not task.startswith("extract "))
        bars.update(tasks[task], completed=done, total=total or None)

    with bars:
        yield update

