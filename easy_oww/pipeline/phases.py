"""Phase manifests and the project lock."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from easy_oww.errors import LockedError
from easy_oww.fsutil import atomic_write_json, read_json

log = logging.getLogger(__name__)

MANIFEST = "phase.json"


def load_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / MANIFEST
    if not path.is_file():
        return None
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_complete(directory: Path, key: str) -> dict[str, Any] | None:
    """The recorded summary if the phase completed with this key, else None."""
    data = load_manifest(directory)
    if data and data.get("key") == key and data.get("complete") is True:
        summary = data.get("summary", {})
        return summary if isinstance(summary, dict) else {}
    return None


def record_complete(directory: Path, key: str, summary: dict[str, Any], seconds: float) -> None:
    """Written last, atomically: its presence means every output of the phase is in place."""
    atomic_write_json(directory / MANIFEST, {"key": key, "complete": True, "summary": summary,
                                             "seconds": round(seconds, 3),
                                             "finished": time.strftime("%Y-%m-%dT%H:%M:%S")})


def invalidate(directory: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (directory / MANIFEST).unlink()


@contextlib.contextmanager
def project_lock(lock_path: Path) -> Iterator[None]:
    """Keep two runs off one project; a stale lock from a killed run is released by the OS."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise LockedError(f"another easy-oww run is using project '{lock_path.parent.name}'",
                          "wait for it to finish, or stop it (Ctrl-C) and run again") from None
    try:
        yield
    finally:
        lock.release()
