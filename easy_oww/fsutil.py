"""Atomic file writes, free-space checks and small file-system helpers.

Every artefact is written to a temporary name in the same directory, flushed, fsynced and
renamed into place, so a killed run never leaves a half-written file under a final name.
A temporary name carries its writer's pid (``.NAME.PID.RANDOM.tmp``), so a rerun can sweep
the temporary files of dead runs even from a cache that a live run shares.

A full disk (ENOSPC) and a path of the wrong kind (a file where a folder belongs) are user
problems, not bugs: `from_os_error` turns such an OSError into a one-line `EasyOWWError`
naming the folder (and, inside `disk_space`, how much the step needs).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from easy_oww.errors import DiskFullError, EasyOWWError, PathKindError

NO_SPACE = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
FREE_SPACE_HINT = ("free some space there (or move the workspace with --workspace) and run "
                   "the command again; finished work is kept")


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
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in NO_SPACE and not exc.filename:
            raise OSError(exc.errno, exc.strerror, str(target)) from exc  # say where
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


def remove_stale_temps(directory: str | os.PathLike[str], *, recursive: bool = False,
                       dead_only: bool = False) -> int:
    """Delete temporary files left by a killed atomic write; returns how many.

    `dead_only` keeps those whose writer (the pid in the name) still runs: for caches that
    several runs share. Without it every temporary file goes (a folder under the lock)."""
    count = 0
    d = Path(directory)
    if not d.is_dir():
        return 0
    for p in (d.rglob if recursive else d.glob)(".*.tmp"):
        if dead_only and writer_alive(p):
            continue
        with contextlib.suppress(OSError):
            p.unlink()
            count += 1
    return count


def writer_alive(tmp: Path) -> bool:
    """Whether the pid in a temporary name (``.NAME.PID[.RANDOM].tmp``) is a live process."""
    for part in tmp.name.split(".")[-3:-1]:
        if part.isdigit() and int(part) > 0:
            try:
                os.kill(int(part), 0)
            except ProcessLookupError:
                continue
            except OSError:  # exists, owned by someone else
                return True
            return True
    return False


# -- full disks and paths of the wrong kind -----------------------------------------------
def existing_ancestor(path: str | os.PathLike[str]) -> Path:
    """`path` itself if it exists, else its nearest existing parent."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def free_bytes(path: str | os.PathLike[str]) -> int:
    """Free bytes on the file system that holds (or would hold) `path`."""
    return int(shutil.disk_usage(existing_ancestor(path)).free)


def human_bytes(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def require_free_space(folder: str | os.PathLike[str], need: int, step: str) -> None:
    """Raise DiskFullError before a step starts when `folder` has less than `need` bytes."""
    free = free_bytes(folder)
    if free < need:
        raise DiskFullError(f"not enough free disk space in {folder}: {step} needs about "
                            f"{human_bytes(need)}, {human_bytes(free)} free", FREE_SPACE_HINT)


@contextlib.contextmanager
def disk_space(folder: str | os.PathLike[str], need: int, step: str) -> Iterator[None]:
    """Check the free space up front, and turn ENOSPC inside the block into DiskFullError
    naming the folder and what the step needs (temporary files are already gone)."""
    require_free_space(folder, need, step)
    try:
        yield
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise
        raise disk_full_error(exc.filename, folder, need, step) from exc


def disk_full_error(filename: Any, folder: str | os.PathLike[str] | None = None,
                    need: int | None = None, step: str | None = None) -> DiskFullError:
    where = Path(os.fsdecode(filename)).parent if filename else folder
    free = f"{human_bytes(free_bytes(where))} free" if where is not None else ""
    needs = f"{step or 'this step'} needs about {human_bytes(need)}" if need else ""
    detail = ", ".join(x for x in (needs, free) if x)
    return DiskFullError(f"no space left on the disk of {where or 'the workspace'}"
                         + (f": {detail}" if detail else ""), FREE_SPACE_HINT)


def wrong_kind_error(path: str | os.PathLike[str]) -> PathKindError | None:
    """The error for a file found where `path` (or one of its parents) should be a folder."""
    p = Path(path).absolute()
    for candidate in (p, *p.parents):
        if candidate.exists() and not candidate.is_dir():
            return PathKindError(f"{candidate} is a file, but easy-oww needs a folder there",
                                 "move or rename that file, then run the command again")
    return None


def from_os_error(exc: OSError) -> EasyOWWError | None:
    """The user error an OSError stands for (full disk, wrong kind of path), if any."""
    if exc.errno in NO_SPACE:
        return disk_full_error(exc.filename)
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and exc.filename:
        return wrong_kind_error(os.fsdecode(exc.filename))
    if isinstance(exc, IsADirectoryError) and exc.filename:
        return PathKindError(f"{os.fsdecode(exc.filename)} is a folder, but easy-oww needs a "
                             "file there", "move or rename that folder, then run the command "
                             "again")
    return None

