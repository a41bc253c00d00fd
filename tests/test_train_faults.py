"""Fault injection on a small `train`: stop signals and kill -9 at moments inside the
phases that run worker pools. After each fault no process of the run may survive 5 s, a
stop signal ends with one line and exit code 128 + signal, and the final rerun must give
the same model bytes as an uninterrupted run and leave no temporary file anywhere.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from easy_oww.cli.main import STOPPED
from easy_oww.parallel import usable_cores
from easy_oww.pipeline import run_train
from easy_oww.workspace import ProjectPaths, Workspace, init_workspace
from tests.conftest import child_stop_signals
from tests.test_parallel import alive, wait_gone
from tests.test_pipeline import tiny_project

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")]


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, grandchildren), from /proc."""
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def pool_workers(pid: int) -> list[int]:
    found = []
    for p in descendants(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes():
                found.append(p)
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    ws = init_workspace(tmp_path_factory.mktemp("ref") / "ws")
    tiny_project(ws, "ref")
    return run_train(ws, "ref").model_path.read_bytes()


def _start(ws: Workspace, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EASY_OWW_WORKSPACE": str(ws.root)}
    with child_stop_signals():  # SIGHUP must stop it even if this run is under nohup
        return subprocess.Popen([sys.executable, "-m", "easy_oww", "-q", "train", name],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)


def _when(proc: subprocess.Popen[bytes], ready: Callable[[], bool], workers: int,
          timeout: float = 300.0) -> list[int]:
    """Wait until `ready()` with at least `workers` pool workers alive; the run's pids."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"train ended early: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        if ready() and len(pool_workers(proc.pid)) >= workers:
            return descendants(proc.pid)
        time.sleep(0.03)
    raise AssertionError("the moment to inject the fault never came")


def _stop(proc: subprocess.Popen[bytes], sig: int, *, group: bool, run: list[int]) -> str:
    (os.killpg if group else os.kill)(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    assert wait_gone(run, 5.0) == [], "processes of the run survived"
    return err.decode()


def test_signals_and_kill_9_inside_phases_then_the_same_model(tmp_path: Path,
                                                            reference: bytes) -> None:
    ws = init_workspace(tmp_path / "ws")
    tiny_project(ws, "f")
    paths = ws.project("f")
    data = yaml.safe_load(paths.config.read_text())
    data["features"]["workers"] = 2  # the feature pool too (the bytes do not depend on it)
    paths.config.write_text(yaml.safe_dump(data))
    pooled = 2 if usable_cores() >= 2 else 0  # negative audio and members use the cores

    # 1. SIGTERM to the whole process group (`timeout`, systemd) while features are made
    proc = _start(ws, "f")
    run = _when(proc, lambda: any(paths.features.glob("*/plan.json"))
                and not paths.negative_audio.exists(), 2)
    err = _stop(proc, signal.SIGTERM, group=True, run=run)
    _assert_stopped(proc, err, 143)

    # 2. kill -9 of the parent alone while the negative audio is made
    proc = _start(ws, "f")
    run = _when(proc, lambda: _in_negative_audio(paths), pooled)
    _stop(proc, signal.SIGKILL, group=False, run=run)
    assert proc.returncode == -signal.SIGKILL

    # 3. SIGHUP to the parent alone (a closed SSH session) while the members train
    proc = _start(ws, "f")
    run = _when(proc, lambda: (paths.training / "checkpoints").exists(), pooled)
    err = _stop(proc, signal.SIGHUP, group=False, run=run)
    _assert_stopped(proc, err, 129)

    # 4. the rerun finishes with the uninterrupted run's model and leaves no temp file
    resumed = run_train(ws, "f")
    assert resumed.model_path.read_bytes() == reference
    assert list(ws.root.rglob("*.tmp")) == []
    assert not paths.lock.exists() or _lock_free(paths)
    assert not [p for p in run if alive(p)]


def _in_negative_audio(paths: ProjectPaths) -> bool:
    return paths.negative_audio.exists() and not (paths.training / "checkpoints").exists()


def _assert_stopped(proc: subprocess.Popen[bytes], err: str, code: int) -> None:
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == STOPPED, err
    for bad in ("Traceback", "leaked", "internal error", "BrokenPipe"):
        assert bad not in err, err


def _lock_free(paths: ProjectPaths) -> bool:
    from filelock import FileLock, Timeout

    try:
        with FileLock(str(paths.lock), timeout=0):
            return True
    except Timeout:
        return False
