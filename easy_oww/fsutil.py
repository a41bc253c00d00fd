"""Atomic file writes and small file-system helpers.

Every artefact is written to a temporary name in the same directory, flushed, fsynced and
renamed into place, so a killed run never leaves a half-written file under a final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[BinaryIO]:
    """Open a temporary binary file beside `path`; on clean exit, rename it onto `path`."""
    if mode != "wb":
        raise ValueError("atomic_open writes bytes only (mode 'wb')")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _create_temp(target: Path) -> tuple[int, str]:
    """A new temporary file beside `target`, created with mode 0666 so that the umask
    decides its permissions, as for any file the user makes (mkstemp's are always 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = str(target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Pretty JSON, UTF-8, with non-ASCII text readable (not \\u escapes)."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str,
                                       ensure_ascii=False) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def stable_hash(obj: Any) -> str:
    """A short deterministic hash of a JSON-serialisable object (manifest keys, caches)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def remove_stale_temps(directory: str | os.PathLike[str]) -> int:
    """Delete temporary files left by a killed atomic write; returns how many."""
    count = 0
    d = Path(directory)
    if not d.is_dir():
        return 0
    for p in d.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            p.unlink()
            count += 1
    return count
