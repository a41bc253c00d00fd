"""Shared fixtures: a fresh workspace, generated audio, a CLI runner, benchmark scripts."""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from click.testing import CliRunner

from easy_oww.contract import SAMPLE_RATE
from easy_oww.workspace import ENV_VAR, Workspace, init_workspace


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may read or write the user's real workspace."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "home" / "AppData"))


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner: CliRunner, workspace: Workspace) -> Callable[..., object]:
    """Run the real CLI group in-process with --workspace set."""
    from easy_oww.cli.main import cli

    def run(*args: str, input: str | None = None):
        return runner.invoke(cli, ["--workspace", str(workspace.root), *args], input=input)

    return run


def tone(seconds: float = 1.0, freq: float = 440.0, level: float = 0.5,
         sr: int = SAMPLE_RATE) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def speechlike(seconds: float = 1.5, sr: int = SAMPLE_RATE, level: float = 0.3,
               seed: int = 0) -> np.ndarray:
    """Tone bursts with pauses and a little noise: passes the speech quality checks."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    env = np.zeros(n)
    for start in np.arange(0.2, seconds - 0.3, 0.35):
        a, b = int(start * sr), int((start + 0.22) * sr)
        env[a:b] = np.hanning(b - a)
    sig = env * np.sin(2 * np.pi * (180 + 60 * np.sin(2 * np.pi * 3 * t)) * t)
    sig += 0.003 * rng.standard_normal(n)
    return (level * sig / np.max(np.abs(sig))).astype(np.float32)


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """The script benchmarks/<name>.py as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def child_stop_signals(*, ignore_hup: bool = False) -> Iterator[None]:
    """Within the block, processes started here begin with SIGTERM and SIGHUP at their
    default action (or SIGHUP ignored, as `nohup` leaves it), whatever this test run
    inherited: under nohup it ignores SIGHUP, and a child started so keeps ignoring it.
    (A Python handler is reset by exec; an ignored signal stays ignored.)"""
    wanted = {signal.SIGTERM: signal.SIG_DFL,
              signal.SIGHUP: signal.SIG_IGN if ignore_hup else signal.SIG_DFL}
    before = {s: signal.signal(s, h) for s, h in wanted.items()}
    try:
        yield
    finally:
        for s, h in before.items():
            signal.signal(s, h)
