from __future__ import annotations

import os
from pathlib import Path

import pytest

from easy_oww.errors import EasyOWWError, ProjectNotFound, WorkspaceError
from easy_oww.project import create_project, list_projects, open_project
from easy_oww.workspace import (
    ENV_VAR,
    WORKSPACE_DIRS,
    default_workspace_dir,
    init_workspace,
    open_workspace,
    resolve_workspace_path,
)


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opt, env = tmp_path / "opt", tmp_path / "env"
    monkeypatch.setenv(ENV_VAR, str(env))
    assert resolve_workspace_path(opt) == (opt.resolve(), "option")
    assert resolve_workspace_path(None) == (env.resolve(), "environment")
    monkeypatch.delenv(ENV_VAR)
    path, source = resolve_workspace_path(None)
    assert source == "default" and path == default_workspace_dir().resolve()
    assert path.is_relative_to(Path(os.environ["HOME"]).resolve())


def test_init_creates_layout_and_is_idempotent(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "drive" / "my space")  # spaces, nested: external drives
    for d in WORKSPACE_DIRS:
        assert (ws.root / d).is_dir()
    (ws.datasets / "keep.txt").write_text("x")
    init_workspace(ws.root)
    assert (ws.datasets / "keep.txt").read_text() == "x"
    assert open_workspace(ws.root).root == ws.root


def test_missing_workspace_error_names_fix(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError) as info:
        open_workspace(tmp_path / "nope")
    assert "easy-oww init --workspace" in (info.value.hint or "")


def test_file_as_workspace_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(WorkspaceError, match="is a file"):
        init_workspace(f)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_workspace(tmp_path: Path) -> None:  # pragma: no cover - root in CI
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(WorkspaceError, match="permission denied"):
        init_workspace(ro / "ws")


def test_unwritable_workspace_via_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = init_workspace(tmp_path / "ws")
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(WorkspaceError, match="not writable"):
        open_workspace(ws.root)


def test_projects(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    p = create_project(ws, "hey_jarvis", "hey jarvis", samples=123, steps=456)
    assert p.config.clips.n_positive == 123 and p.config.training.steps == 456
    assert p.paths.recordings.is_dir() and p.paths.models.is_dir()
    assert open_project(ws, "hey_jarvis").config == p.config
    with pytest.raises(EasyOWWError, match="already exists"):
        create_project(ws, "hey_jarvis", "hey jarvis")
    with pytest.raises(ProjectNotFound) as info:
        open_project(ws, "nope")
    assert "easy-oww create nope" in (info.value.hint or "")
    with pytest.raises(WorkspaceError, match="invalid project name"):
        create_project(ws, "../escape", "hey")
    (p.paths.recordings / "0001.wav").write_bytes(b"")
    (p.paths.config.parent.parent / "broken").mkdir()
    (p.paths.config.parent.parent / "broken" / "config.yaml").write_text("steps: [\n")
    summaries = {s.name: s for s in list_projects(ws)}
    assert summaries["hey_jarvis"].recordings == 1
    assert summaries["broken"].error is not None
