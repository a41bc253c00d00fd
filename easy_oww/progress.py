"""Progress reporting from library code without printing.

Library functions take an optional ``progress`` callback ``(task, done, total) -> None``;
the CLI turns it into progress bars on stderr. ``total`` is 0 when unknown.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[str, int, int], None]


def no_progress(task: str, done: int, total: int) -> None:
    """The default callback: ignore progress."""
