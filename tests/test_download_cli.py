"""`easy-oww download` in-process with CliRunner, against a local mirror on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import shutil
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from easy_oww.cli.main import cli
from easy_oww.datasets import registry as reg
from easy_oww.datasets.registry import RemoteFile, get_dataset
from easy_oww.workspace import init_workspace

try:
    from test_download_server import ServerState, serve
except ImportError:  # tests/ imported as a package
    from tests.test_download_server import ServerState, serve  # type: ignore[no-redef]

VAL = np.random.default_rng(1).standard_normal((30, 96)).astype(np.float32)


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    ws = init_workspace(tmp_path / "ws")
    data = _npy(VAL)
    spec = get_dataset("validation_features")
    fake = dataclasses.replace(spec, files=(RemoteFile(
        spec.files[0].url, spec.files[0].filename, size=len(data),
        sha256=hashlib.sha256(data).hexdigest()),))
    monkeypatch.setattr(reg, "REGISTRY", tuple(
        fake if s.name == fake.name else s for s in reg.REGISTRY))
    path = "/datasets/davidscripka/openwakeword_features/resolve/main/validation_set_features.npy"
    state = ServerState(files={path: data})
    with serve(state) as base:
        yield ws, state, base


def test_list_shows_every_dataset_and_state(setup) -> None:  # type: ignore[no-untyped-def]
    ws, _state, _base = setup
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "download", "--list"])
    assert res.exit_code == 0, res.output
    for name in ("acav100m_features", "validation_features", "mit_rirs", "fsd50k", "dipco"):
        assert name in res.output
    assert "missing" in res.output and "│ present" not in res.output


def test_download_one_then_it_is_present(setup) -> None:  # type: ignore[no-untyped-def]
    ws, _state, base = setup
    args = ["--workspace", str(ws.root), "download", "--dataset", "validation_features",
            "--mirror", base]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "downloaded" in res.output
    assert (ws.datasets / "openwakeword_features" / "validation_set_features.npy").is_file()
    assert "non-commercial" in res.output  # licence notice on stderr (mixed in by CliRunner)
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0 and "All selected datasets are present" in res.output
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "download", "--list"])
    assert "│ present" in res.output


def test_unknown_dataset_is_a_usage_error(setup) -> None:  # type: ignore[no-untyped-def]
    ws, _state, _base = setup
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "download", "--dataset", "x"])
    assert res.exit_code == 2
    assert "unknown dataset 'x'" in res.output and "hint:" in res.output


def test_failed_download_exits_2_with_the_reason(setup) -> None:  # type: ignore[no-untyped-def]
    ws, state, base = setup
    state.files.clear()
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "download", "--dataset",
                                   "validation_features", "--mirror", base])
    assert res.exit_code == 2
    assert "error: 1 of 1 datasets failed" in res.output and "404" in res.output


def test_full_disk_exits_2_before_downloading(setup, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
                                              ) -> None:
    ws, state, base = setup
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(1 << 30, 1 << 30, 1 << 10))
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "download", "--dataset",
                                   "validation_features", "--mirror", base])
    assert res.exit_code == 2
    assert "not enough free space" in res.output
    assert not [r for r in state.requests if r[0] == "GET"]
