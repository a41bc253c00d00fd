"""Shared CLI state, consoles, logging display and progress bars."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from easy_oww.workspace import Workspace, open_workspace


@dataclass
class AppState:
    workspace: str | None = None
    verbose: bool = False
    quiet: bool = False
    debug: bool = False
    _out: Console | None = field(default=None, repr=False)
    _err: Console | None = field(default=None, repr=False)

    @property
    def out(self) -> Console:
        """Results (tables, JSON) go to stdout."""
        if self._out is None:
            self._out = Console(soft_wrap=True)  # follows sys.stdout, also under CliRunner
        return self._out

    @property
    def err(self) -> Console:
        """Progress, notices and errors go to stderr."""
        if self._err is None:
            self._err = Console(stderr=True, soft_wrap=True)
        return self._err

    def open_workspace(self) -> Workspace:
        return open_workspace(self.workspace)

    @property
    def show_progress(self) -> bool:
        return not self.quiet and self.err.is_terminal


pass_state = click.make_pass_decorator(AppState, ensure=True)


class _ClickEchoHandler(logging.Handler):
    """Shows easy_oww log records on stderr: notices plainly, warnings marked."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = self.format(record)
            if record.levelno >= logging.WARNING:
                msg = f"warning: {msg}"
            click.echo(msg, err=True)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def setup_logging(state: AppState) -> None:
    logger = logging.getLogger("easy_oww")
    for h in list(logger.handlers):
        if isinstance(h, _ClickEchoHandler):
            logger.removeHandler(h)
    handler = _ClickEchoHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG if state.verbose else
                    logging.WARNING if state.quiet else logging.INFO)


@contextmanager
def progress_bars(state: AppState) -> Iterator[Any]:
    """Yield a `(task, done, total)` callback drawing one bar per task on stderr."""
    if not state.show_progress:
        yield lambda task, done, total: None
        return
    bars = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=state.err, transient=False)
    tasks: dict[str, Any] = {}

    def update(task: str, done: int, total: int) -> None:
        if task not in tasks:
            tasks[task] = bars.add_task(task, total=total or None)
        bars.update(tasks[task], completed=done, total=total or None)

    with bars:
        yield update


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()
