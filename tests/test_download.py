"""The real download code against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

from easy_oww.datasets.download import download_file, partial_path
from easy_oww.errors import DownloadError

try:
    from test_download_server import ServerState, serve
except ImportError:  # tests/ imported as a package
    from tests.test_download_server import ServerState, serve  # type: ignore[no-redef]

FAST = {"backoff": 0.01, "timeout": 5.0}


def _blob(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_full_download_with_checksum_and_progress(tmp_path: Path) -> None:
    data = _blob(3 * (1 << 20) + 17)
    state = ServerState(files={"/f.bin": data})
    seen: list[tuple[str, int, int]] = []
    with serve(state) as base:
        out = download_file(base + "/f.bin", tmp_path / "f.bin", sha256=_sha(data),
                            progress=lambda t, d, n: seen.append((t, d, n)), **FAST)
    assert out.read_bytes() == data
    assert not partial_path(out).exists()
    assert seen[-1] == ("f.bin", len(data), len(data))  # total learnt from HEAD
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)


def test_existing_file_is_not_fetched_again(tmp_path: Path) -> None:
    data = _blob(1000)
    state = ServerState(files={"/f.bin": data})
    with serve(state) as base:
        download_file(base + "/f.bin", tmp_path / "f.bin", sha256=_sha(data), **FAST)
        n = len(state.requests)
        download_file(base + "/f.bin", tmp_path / "f.bin", sha256=_sha(data), **FAST)
        assert len(state.requests) == n


def test_resume_uses_range_request(tmp_path: Path) -> None:
    data = _blob(200_000)
    dest = tmp_path / "f.bin"
    partial_path(dest).write_bytes(data[:70_000])  # left by an interrupted run
    state = ServerState(files={"/f.bin": data})
    with serve(state) as base:
        download_file(base + "/f.bin", dest, sha256=_sha(data), size=len(data), **FAST)
    assert dest.read_bytes() == data
    gets = [r for r in state.requests if r[0] == "GET"]
    assert gets == [("GET", "/f.bin", "bytes=70000-")]


def test_connection_dropped_mid_file_is_resumed(tmp_path: Path) -> None:
    data = _blob(500_000, seed=1)
    state = ServerState(files={"/f.bin": data}, drop_after={"/f.bin": 123_456})
    with serve(state) as base:
        download_file(base + "/f.bin", tmp_path / "f.bin", sha256=_sha(data), **FAST)
    assert (tmp_path / "f.bin").read_bytes() == data
    ranges = [r[2] for r in state.requests if r[0] == "GET"]
    assert ranges == [None, "bytes=123456-"]


def test_server_ignoring_range_restarts_cleanly(tmp_path: Path) -> None:
    data = _blob(50_000, seed=2)
    dest = tmp_path / "f.bin"
    partial_path(dest).write_bytes(data[:10_000])
    state = ServerState(files={"/f.bin": data}, ignore_range={"/f.bin"})
    with serve(state) as base:
        download_file(base + "/f.bin", dest, sha256=_sha(data), **FAST)
    assert dest.read_bytes() == data


def test_complete_part_file_gets_416_and_finishes(tmp_path: Path) -> None:
    data = _blob(4096, seed=3)
    dest = tmp_path / "f.bin"
    partial_path(dest).write_bytes(data)
    state = ServerState(files={"/f.bin": data}, no_length={"/f.bin"})  # HEAD gives no size
    state.files["/f.bin"] = data
    with serve(state) as base:
        download_file(base + "/f.bin", dest, sha256=_sha(data), **FAST)
    assert dest.read_bytes() == data


def test_stale_oversized_part_is_discarded(tmp_path: Path) -> None:
    data = _blob(4096, seed=4)
    dest = tmp_path / "f.bin"
    partial_path(dest).write_bytes(_blob(9000, seed=5))
    state = ServerState(files={"/f.bin": data})
    with serve(state) as base:
        download_file(base + "/f.bin", dest, sha256=_sha(data), **FAST)
    assert dest.read_bytes() == data


def test_wrong_checksum_once_is_fetched_again(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                              ) -> None:
    data = _blob(10_000, seed=6)
    state = ServerState(files={"/f.bin": data}, corrupt={"/f.bin": 1})
    with serve(state) as base:
        download_file(base + "/f.bin", tmp_path / "f.bin", sha256=_sha(data), **FAST)
    assert (tmp_path / "f.bin").read_bytes() == data
    assert "corrupt" in caplog.text
    assert len([r for r in state.requests if r[0] == "GET"]) == 2


def test_wrong_checksum_twice_names_expected_and_got(tmp_path: Path) -> None:
    data = _blob(10_000, seed=7)
    wrong = "0" * 64
    state = ServerState(files={"/f.bin": data})
    with serve(state) as base, pytest.raises(DownloadError) as info:
        download_file(base + "/f.bin", tmp_path / "f.bin", sha256=wrong, **FAST)
    assert wrong in info.value.message and _sha(data) in info.value.message
    assert not (tmp_path / "f.bin").exists()
    assert not partial_path(tmp_path / "f.bin").exists()


def test_404_fails_at_once(tmp_path: Path) -> None:
    state = ServerState()
    with serve(state) as base, pytest.raises(DownloadError, match=r"not found \(404\)"):
        download_file(base + "/missing.bin", tmp_path / "m.bin", retries=4, backoff=5.0)
    assert len([r for r in state.requests if r[0] == "GET"]) == 1  # no retries, no backoff
    assert not (tmp_path / "m.bin").exists()


def test_5xx_is_retried(tmp_path: Path) -> None:
    data = _blob(2000, seed=8)
    state = ServerState(files={"/f.bin": data}, unavailable={"/f.bin": 2})
    with serve(state) as base:
        download_file(base + "/f.bin", tmp_path / "f.bin", sha256=_sha(data), **FAST)
    assert (tmp_path / "f.bin").read_bytes() == data
    assert len([r for r in state.requests if r[0] == "GET"]) == 3


def test_server_that_never_answers_times_out(tmp_path: Path) -> None:
    state = ServerState(files={"/f.bin": b"x"}, hang={"/f.bin"})
    start = time.monotonic()
    with serve(state) as base, pytest.raises(DownloadError, match="timed out") as info:
        download_file(base + "/f.bin", tmp_path / "f.bin", size=1, retries=1, timeout=0.5,
                      backoff=0.01)
    assert time.monotonic() - start < 5
    assert "2 attempts" in info.value.message
    assert info.value.hint and "resumes" in info.value.hint


def test_full_disk_is_refused_before_downloading(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    data = _blob(5000, seed=9)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10 << 30, 10 << 30, 1 << 20))
    state = ServerState(files={"/f.bin": data})
    with serve(state) as base, pytest.raises(DownloadError, match="not enough free space") as info:
        download_file(base + "/f.bin", tmp_path / "f.bin", **FAST)
    assert "1.0 MB available" in info.value.message
    assert not [r for r in state.requests if r[0] == "GET"]  # checked before the GET


def test_write_error_mid_download_is_a_download_error(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk that fills up during the download (ENOSPC on write) keeps the part file."""
    import builtins
    import errno

    data = _blob(3 * (1 << 20), seed=10)
    real_open = builtins.open

    class Full:
        def __init__(self, fh):  # type: ignore[no-untyped-def]
            self.fh, self.n = fh, 0

        def write(self, b: bytes) -> int:
            if self.n >= 1 << 20:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.n += len(b)
            return self.fh.write(b)

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *a: object) -> None:
            self.fh.close()

    def fake_open(file, mode="r", *a, **k):  # type: ignore[no-untyped-def]
        fh = real_open(file, mode, *a, **k)
        return Full(fh) if str(file).endswith(".part") and mode == "ab" else fh

    monkeypatch.setattr(builtins, "open", fake_open)
    state = ServerState(files={"/f.bin": data})
    with serve(state) as base, pytest.raises(DownloadError, match="No space left") as info:
        download_file(base + "/f.bin", tmp_path / "f.bin", **FAST)
    assert "resumes" in (info.value.hint or "")
    assert partial_path(tmp_path / "f.bin").stat().st_size == 1 << 20


def test_unsupported_url(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="unsupported URL"):
        download_file("ftp://example.org/x", tmp_path / "x")


def test_md5_is_checked_too(tmp_path: Path) -> None:
    data = _blob(3000, seed=11)
    state = ServerState(files={"/f.bin": data})
    with serve(state) as base:
        download_file(base + "/f.bin", tmp_path / "ok.bin", md5=hashlib.md5(data).hexdigest(),
                      **FAST)
        with pytest.raises(DownloadError, match="expected md5 0+, got md5 "):
            download_file(base + "/f.bin", tmp_path / "bad.bin", md5="0" * 32, **FAST)
    assert (tmp_path / "ok.bin").read_bytes() == data
    assert not (tmp_path / "bad.bin").exists()


def test_interrupt_keeps_the_part_file_for_resume(tmp_path: Path) -> None:
    data = _blob(3 * (1 << 20), seed=12)
    dest = tmp_path / "f.bin"

    def stop(task: str, done: int, total: int) -> None:
        if done >= 1 << 20:
            raise KeyboardInterrupt

    state = ServerState(files={"/f.bin": data})
    with serve(state) as base:
        with pytest.raises(KeyboardInterrupt):
            download_file(base + "/f.bin", dest, progress=stop, **FAST)
        assert partial_path(dest).stat().st_size == 1 << 20
        assert not dest.exists() and not Path(str(dest) + ".lock").exists()
        download_file(base + "/f.bin", dest, sha256=_sha(data), **FAST)
    assert dest.read_bytes() == data
    assert [r[2] for r in state.requests if r[0] == "GET"][-1] == f"bytes={1 << 20}-"


def test_second_process_on_the_same_file_is_refused(tmp_path: Path) -> None:
    from filelock import FileLock

    dest = tmp_path / "f.bin"
    with FileLock(str(dest) + ".lock"), pytest.raises(DownloadError, match="another process"):
        download_file("http://127.0.0.1:9/f.bin", dest, **FAST)


def test_server_without_content_length(tmp_path: Path) -> None:
    data = _blob(300_000, seed=13)
    state = ServerState(files={"/f.bin": data}, no_length={"/f.bin"})
    seen: list[int] = []
    with serve(state) as base:
        download_file(base + "/f.bin", tmp_path / "f.bin", sha256=_sha(data),
                      progress=lambda t, d, n: seen.append(n), **FAST)
    assert (tmp_path / "f.bin").read_bytes() == data
    assert set(seen) == {0}  # total unknown: the bar shows bytes without a percentage


def test_connection_refused_fails_after_retries(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a free port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="3 attempts"):
        download_file(f"http://127.0.0.1:{port}/f.bin", tmp_path / "f.bin", size=10,
                      retries=2, backoff=0.01, timeout=2.0)
