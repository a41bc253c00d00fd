"""Resumable, checksummed HTTP downloads with the standard library (urllib).

`download_file` is the one entry point. It

- checks free disk space first (from the known size, or the server's Content-Length);
- writes into ``<dest>.part`` and resumes it with an HTTP ``Range`` request after an
  interruption (a server that ignores Range and answers 200 restarts the file; a 416
  "range not satisfiable" means the part is complete or stale);
- retries connection errors, timeouts, dropped connections, 429 and 5xx answers with
  exponential backoff (the retry budget resets whenever bytes arrive, so a long flaky
  download keeps going as long as it makes progress);
- fails at once, with one clear line, on 401/403/404/410;
- verifies the sha256 when one is given (a mismatch deletes the file and fetches it once
  more, then raises `DownloadError` naming the expected and received hash);
- renames the finished file onto `dest` atomically, so `dest` is either absent or whole.

Progress is reported through an optional ``progress(task, bytes_done, bytes_total)``
callback (``task`` is the file name, ``total`` 0 when unknown). Nothing is printed.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import shutil
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from easy_oww import __version__
from easy_oww.errors import DownloadError
from easy_oww.progress import ProgressFn

log = logging.getLogger(__name__)

CHUNK = 1 << 20
# Extra room kept free beyond the file itself (file-system slack, extraction temp files).
SPACE_MARGIN = 64 << 20
MAX_BACKOFF_S = 60.0
FATAL_STATUS = {401: "access denied (401)", 403: "access denied (403)",
                404: "not found (404)", 410: "gone (410)"}
USER_AGENT = f"easy-oww/{__version__} (+https://github.com/dscripka/openWakeWord compatible)"


class _Retryable(Exception):
    """A transient failure: the attempt is retried after a backoff."""


class _Restart(Exception):
    """The partial file cannot be resumed: start again from byte 0."""


@dataclass
class _Attempt:
    """Mutable bookkeeping for one call of download_file."""

    url: str
    dest: Path
    part: Path
    total: int | None
    progress: ProgressFn | None
    timeout: float


def partial_path(dest: Path) -> Path:
    """Where the in-progress bytes of `dest` live (resumed on the next call)."""
    return dest.with_suffix(dest.suffix + ".part")


def human_bytes(n: float) -> str:
    """1_500_000 -> '1.5 MB' (decimal units, as the progress bars show them)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def check_free_space(directory: Path, needed: int, what: str) -> None:
    """Raise DownloadError when `directory` has less than `needed` (+ margin) bytes free."""
    probe = directory
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if needed + SPACE_MARGIN > free:
        raise DownloadError(
            f"not enough free space for {what}: needs {human_bytes(needed)}, "
            f"{human_bytes(free)} available in {probe}",
            "free some space or move the workspace to a bigger disk (--workspace)",
        )


def remote_size(url: str, timeout: float = 30.0) -> int | None:
    """The Content-Length from a HEAD request, or None when the server does not say."""
    req = urllib.request.Request(url, method="HEAD", headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            return int(length) if length and length.isdigit() else None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        log.debug("HEAD %s failed: %s", url, exc)
        return None


def download_file(url: str, dest: Path, *, sha256: str | None = None, size: int | None = None,
                  progress: ProgressFn | None = None, retries: int = 4, timeout: float = 30.0,
                  backoff: float = 1.0, md5: str | None = None) -> Path:
    """Download `url` to `dest` (resumable, retried, checksummed, atomic); return `dest`.

    An existing `dest` is kept when it matches `sha256` (or `size`, when no hash is known).
    `retries` is how many times a transient failure is retried before giving up; `timeout`
    bounds each connect and each read, in seconds; `backoff` is the first wait, doubled per
    retry. `md5` is checked too when given (Zenodo publishes md5 only). Raises DownloadError
    with a one-line message on any failure.
    """
    dest = Path(dest)
    if not url.startswith(("http://", "https://")):
        raise DownloadError(f"unsupported URL {url!r}", "only http:// and https:// are supported")
    dest.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(dest) + ".lock")
    try:
        lock.acquire(timeout=0.5)
    except Timeout:
        raise DownloadError(f"{dest.name} is being downloaded by another process",
                            "wait for it to finish, or remove the stale "
                            f"{dest.name}.lock file if no download is running") from None
    try:
        sums = _Sums(sha256.lower() if sha256 else None, md5.lower() if md5 else None)
        if _existing_ok(dest, sums, size):
            log.debug("%s already present", dest)
            return dest
        for fetch in (1, 2):
            state = _Attempt(url, dest, partial_path(dest), size, progress, timeout)
            _fetch(state, retries=retries, backoff=backoff)
            problem = _verify(state, sums)
            if problem is None:
                break
            expected, got = problem
            state.part.unlink(missing_ok=True)
            if fetch == 2:
                raise DownloadError(
                    f"{dest.name} is corrupt after two downloads: expected {expected}, got {got}",
                    "the server or a proxy sends different bytes; try again later or report "
                    "the dataset URL")
            log.warning("%s is corrupt (expected %s, got %s); fetching it again",
                        dest.name, expected, got)
        with open(state.part, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(state.part, dest)
        return dest
    finally:
        lock.release()
        with contextlib.suppress(OSError):
            Path(lock.lock_file).unlink()


@dataclass(frozen=True)
class _Sums:
    sha256: str | None
    md5: str | None


def _existing_ok(dest: Path, sums: _Sums, size: int | None) -> bool:
    if not dest.is_file():
        return False
    if size is not None and dest.stat().st_size != size:
        log.info("%s has the wrong size; downloading it again", dest.name)
        dest.unlink()
        return False
    if (sums.sha256 or sums.md5) and _check_sums(dest, sums) is not None:
        log.info("%s does not match its checksum; downloading it again", dest.name)
        dest.unlink()
        return False
    return True


def _check_sums(path: Path, sums: _Sums) -> tuple[str, str] | None:
    """None when `path` matches every given checksum, else (expected, got) of the first miss."""
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            if sums.sha256:
                sha.update(block)
            if sums.md5:
                md5.update(block)
    if sums.sha256 and sha.hexdigest() != sums.sha256:
        return f"sha256 {sums.sha256}", f"sha256 {sha.hexdigest()}"
    if sums.md5 and md5.hexdigest() != sums.md5:
        return f"md5 {sums.md5}", f"md5 {md5.hexdigest()}"
    return None


def _verify(state: _Attempt, sums: _Sums) -> tuple[str, str] | None:
    """None when the part file is good; otherwise (what was expected, what was found)."""
    done = state.part.stat().st_size
    if state.total is not None and done != state.total:
        return f"{state.total} bytes", f"{done} bytes"
    if not (sums.sha256 or sums.md5):
        return None
    return _check_sums(state.part, sums)


def _fetch(state: _Attempt, *, retries: int, backoff: float) -> None:
    """Fill state.part completely, retrying transient failures."""
    failures = 0
    restarts = 0
    if state.total is None:
        state.total = remote_size(state.url, state.timeout)
    have = state.part.stat().st_size if state.part.exists() else 0
    if state.total is not None:
        check_free_space(state.dest.parent, max(state.total - have, 0), state.dest.name)
    while True:
        before = state.part.stat().st_size if state.part.exists() else 0
        try:
            if _one_request(state):
                return
            raise _Retryable("connection closed before the end of the file")
        except _Restart as exc:
            restarts += 1
            log.info("%s: %s; restarting from the beginning", state.dest.name, exc)
            state.part.unlink(missing_ok=True)
            if restarts > retries + 1:
                raise DownloadError(f"download of {state.dest.name} keeps failing: {exc}",
                                    "try again later") from None
            continue
        except _Retryable as exc:
            after = state.part.stat().st_size if state.part.exists() else 0
            failures = 0 if after > before else failures + 1
            if failures > retries:
                raise DownloadError(
                    f"download of {state.dest.name} failed after {retries + 1} attempts: {exc}",
                    f"check the network and run the command again; it resumes from "
                    f"{human_bytes(after)}") from None
            wait = min(backoff * 2 ** max(failures - 1, 0), MAX_BACKOFF_S)
            log.info("%s: %s; retrying in %.1f s", state.dest.name, exc, wait)
            time.sleep(wait)


def _one_request(state: _Attempt) -> bool:
    """One HTTP GET from the current offset; True when the part file is complete."""
    have = state.part.stat().st_size if state.part.exists() else 0
    if state.total is not None and have > state.total:
        raise _Restart(f"partial file is larger than {state.total} bytes")
    if state.total is not None and have == state.total and have > 0:
        return True
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    req = urllib.request.Request(state.url, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=state.timeout)
    except urllib.error.HTTPError as exc:
        return _http_error(state, exc, have)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _Retryable(_describe(exc)) from None
    with resp:
        offset = _start_offset(state, resp, have)
        return _stream(state, resp, offset)


def _http_error(state: _Attempt, exc: urllib.error.HTTPError, have: int) -> bool:
    code = exc.code
    with contextlib.suppress(Exception):
        exc.close()
    if code in FATAL_STATUS:
        raise DownloadError(f"cannot download {state.dest.name}: {FATAL_STATUS[code]} "
                            f"at {state.url}",
                            "the dataset may have moved; check the URL or set "
                            "EASY_OWW_DATASET_MIRROR to a mirror")
    if code == 416:
        full = _content_range_total(exc.headers.get("Content-Range", ""))
        if full is not None and have == full:
            state.total = full
            return True
        raise _Restart("server refused to resume (416)")
    if code == 429 or code >= 500:
        raise _Retryable(f"server error {code}")
    raise DownloadError(f"cannot download {state.dest.name}: HTTP {code} at {state.url}",
                        "check the URL or try again later")


def _start_offset(state: _Attempt, resp: http.client.HTTPResponse, have: int) -> int:
    """Where the response body starts in the file; truncates the part file on a restart."""
    length = resp.headers.get("Content-Length")
    body = int(length) if length and length.isdigit() else None
    if resp.status == 206:
        start = _content_range_start(resp.headers.get("Content-Range", ""))
        if start != have:
            raise _Restart(f"server resumed at byte {start}, expected {have}")
        full = _content_range_total(resp.headers.get("Content-Range", ""))
        if full is not None:
            _set_total(state, full)
        return have
    if have:
        log.info("%s: server ignored the resume request; restarting", state.dest.name)
    with open(state.part, "wb"):
        pass
    if body is not None:
        _set_total(state, body)
    return 0


def _set_total(state: _Attempt, total: int) -> None:
    if state.total is not None and state.total != total:
        raise DownloadError(
            f"{state.dest.name}: the server's file has {total} bytes, expected {state.total}",
            "the dataset changed upstream; update easy-oww or report the dataset URL")
    if state.total is None:
        check_free_space(state.dest.parent, total, state.dest.name)
    state.total = total


def _stream(state: _Attempt, resp: http.client.HTTPResponse, offset: int) -> bool:
    done = offset
    total = state.total or 0
    if state.progress is not None:
        state.progress(state.dest.name, done, total)
    with open(state.part, "ab") as fh:
        while True:
            try:
                block = resp.read(CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise _Retryable(_describe(exc)) from None
            if not block:
                break
            try:
                fh.write(block)
            except OSError as exc:
                raise DownloadError(f"cannot write {state.part}: {exc.strerror or exc}",
                                    "free some disk space and run the command again; "
                                    "it resumes") from None
            done += len(block)
            if state.progress is not None:
                state.progress(state.dest.name, done, total)
    # urllib returns b"" (no error) when the connection drops early: compare with the size.
    return state.total is None or done >= state.total


def _content_range_start(value: str) -> int | None:
    # "bytes 100-999/1000"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _content_range_total(value: str) -> int | None:
    # "bytes 100-999/1000" or "bytes */1000"
    tail = value.rsplit("/", 1)[-1].strip()
    return int(tail) if tail.isdigit() else None


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "timed out waiting for the server"
    if isinstance(exc, http.client.IncompleteRead):
        return "connection closed before the end of the file"
    text = str(reason) or type(reason).__name__
    return text.splitlines()[0] if text else type(exc).__name__
