"""benchmarks/train_time.py --reuse: variants share the features, never each other's files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.conftest import load_benchmark


@pytest.fixture(scope="module")
def tt() -> ModuleType:
    return load_benchmark("train_time")


def _trained_workspace(root: Path) -> Path:
    """The files a finished `train` leaves, in miniature (one large feature shard)."""
    project = root / "projects" / "hey_jarvis"
    for phase in ("features", "training", "models", "evaluation"):
        (project / phase).mkdir(parents=True)
        (project / phase / "phase.json").write_text(json.dumps({"complete": True}))
    (project / "features" / "shard_00000.npy").write_bytes(b"\0" * (2 << 20))
    (project / "models" / "hey_jarvis.onnx").write_bytes(b"model")
    (project / "config.yaml").write_text(yaml.safe_dump(
        {"name": "hey_jarvis", "training": {"steps": 8000}}, sort_keys=False))
    (project / ".lock").write_text("1")
    (root / "cache").mkdir()
    (root / "cache" / "clip.wav").write_bytes(b"RIFF")
    return root


def test_reused_copy_trains_afresh_on_shared_features(tt: ModuleType, tmp_path: Path) -> None:
    source = _trained_workspace(tmp_path / "source")
    ws = tt.prepare_reused(tmp_path / "work", "wn", source, "hey_jarvis",
                           {"training.window_norm": True})
    src, dst = source / "projects" / "hey_jarvis", ws / "projects" / "hey_jarvis"
    shard = "features/shard_00000.npy"
    assert os.path.samefile(src / shard, dst / shard)  # large: linked, not copied
    assert not os.path.samefile(src / "config.yaml", dst / "config.yaml")
    assert yaml.safe_load((dst / "config.yaml").read_text())["training"] == {
        "steps": 8000, "window_norm": True}
    assert "window_norm" not in (src / "config.yaml").read_text()  # the source untouched
    assert not any((dst / p).exists() for p in ("training", "models", "evaluation", ".lock"))
    assert (src / "models" / "hey_jarvis.onnx").exists() and (dst / "features").is_dir()
    assert (ws / "cache" / "clip.wav").read_bytes() == b"RIFF"


def test_reuse_refuses_settings_that_would_redo_features(tt: ModuleType,
                                                         tmp_path: Path) -> None:
    source = _trained_workspace(tmp_path / "source")
    with pytest.raises(SystemExit, match="augment.rounds"):
        tt.prepare_reused(tmp_path / "work", "x", source, "hey_jarvis", {"augment.rounds": 2})
    with pytest.raises(SystemExit, match="no finished features"):
        tt.prepare_reused(tmp_path / "work", "x", tmp_path / "nowhere", "hey_jarvis", {})


def test_before_turns_off_what_the_issue_added(tt: ModuleType, tmp_path: Path) -> None:
    """`before` is a valid config, and each of its settings undoes a default of today's."""
    from easy_oww.config import Preset, load_config, new_config, save_config

    path = tmp_path / "config.yaml"
    now = new_config("hj", "hey jarvis", preset=Preset.quick)
    save_config(now, path)
    tt.apply_settings(path, tt.BEFORE)
    before = load_config(path)

    def value(config: object, dotted: str) -> object:
        section, key = dotted.split(".", 1)
        got = getattr(getattr(config, section), key)
        return list(got) if isinstance(got, tuple) else got

    for dotted, wanted in tt.BEFORE.items():
        assert value(before, dotted) == wanted, dotted
        assert value(now, dotted) != wanted, f"{dotted}: today's default is already {wanted}"
