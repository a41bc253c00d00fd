"""Workspace and project paths.

A workspace holds shared data (datasets/, voices/, cache/) and projects/. It is found in
this order: an explicit path (``--workspace``), the ``EASY_OWW_WORKSPACE`` environment
variable, then a per-user default directory. Any path works, an external drive included.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from easy_oww.errors import PathKindError, ProjectNotFound, WorkspaceError

ENV_VAR = "EASY_OWW_WORKSPACE"
WORKSPACE_DIRS = ("datasets", "voices", "projects", "cache")
MARKER = ".easy-oww-workspace"
PROJECT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def default_workspace_dir() -> Path:
    """The per-user default: ~/easy-oww on Linux/macOS, %LOCALAPPDATA%\\easy-oww on Windows."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        if base:
            return Path(base) / "easy-oww"
    return Path.home() / "easy-oww"


def resolve_workspace_path(explicit: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """Return (path, source) where source is 'option', 'environment' or 'default'."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser().resolve(), "option"
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser().resolve(), "environment"
    return default_workspace_dir().resolve(), "default"


@dataclass(frozen=True)
class ProjectPaths:
    """Every path of one project; stages own their own subdirectory."""

    root: Path

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def recordings(self) -> Path:
        return self.root / "recordings"  # the user's own positive takes

    @property
    def negative_recordings(self) -> Path:
        return self.root / "recordings_negative"

    @property
    def clips(self) -> Path:
        return self.root / "clips"

    @property
    def features(self) -> Path:
        return self.root / "features"

    @property
    def negative_audio(self) -> Path:
        return self.root / "negative_audio"  # embedded long negative audio, split val/test

    @property
    def training(self) -> Path:
        return self.root / "training"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def evaluation(self) -> Path:
        return self.root / "evaluation"

    @property
    def test_results(self) -> Path:
        return self.root / "test_results.json"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def model(self) -> Path:
        return self.models / f"{self.name}.onnx"

    @property
    def model_card_json(self) -> Path:
        return self.models / f"{self.name}.json"

    @property
    def model_card_md(self) -> Path:
        return self.models / f"{self.name}.md"

    def folders(self) -> tuple[Path, ...]:
        return (self.recordings, self.negative_recordings, self.clips, self.features,
                self.training, self.models, self.evaluation)


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def voices(self) -> Path:
        return self.root / "voices"

    @property
    def projects(self) -> Path:
        return self.root / "projects"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def exists(self) -> bool:
        return (self.root / MARKER).is_file()

    def project(self, name: str) -> ProjectPaths:
        validate_project_name(name)
        return ProjectPaths(self.projects / name)

    def require_project(self, name: str) -> ProjectPaths:
        """The project's paths; a missing project is ProjectNotFound, one whose folders or
        config.yaml are of the wrong kind (a file for a folder, or back) a PathKindError."""
        paths = self.project(name)
        if paths.root.exists() and not paths.root.is_dir():
            raise PathKindError(f"project path {paths.root} is a file, not a project folder",
                                "move or rename that file, then run the command again")
        if paths.config.exists() and not paths.config.is_file():
            raise PathKindError(f"{paths.config} is a folder, but easy-oww needs the project's "
                                "config file there", "move or rename that folder, then "
                                f"recreate the config with: easy-oww create {name} "
                                "--wake-word \"...\"")
        if not paths.config.is_file():
            raise ProjectNotFound(
                f"project '{name}' not found in {self.projects}",
                f"create it with: easy-oww create {name} --wake-word \"...\"",
            )
        _require_folders((*paths.folders(), paths.negative_audio))
        return paths

    def project_names(self) -> list[str]:
        if not self.projects.is_dir():
            return []
        return sorted(p.name for p in self.projects.iterdir() if (p / "config.yaml").exists())


def validate_project_name(name: str) -> None:
    if not PROJECT_NAME_RE.match(name):
        raise WorkspaceError(
            f"invalid project name {name!r}",
            "use letters, digits, '_', '-' or '.', starting with a letter or digit (max 64)",
        )


def init_workspace(path: Path) -> Workspace:
    """Create the workspace layout at `path` (idempotent)."""
    ws = Workspace(path)
    if path.exists() and not path.is_dir():
        raise WorkspaceError(f"workspace path {path} is a file, not a directory",
                             "choose another path with --workspace")
    _require_folders(path / d for d in WORKSPACE_DIRS)
    try:
        path.mkdir(parents=True, exist_ok=True)
        for d in WORKSPACE_DIRS:
            (path / d).mkdir(exist_ok=True)
        (path / MARKER).write_text("easy-oww workspace\n", encoding="utf-8")
    except PermissionError as exc:
        raise WorkspaceError(f"cannot write to workspace {path}: permission denied",
                             "choose a writable path with --workspace or EASY_OWW_WORKSPACE"
                             ) from exc
    except OSError as exc:
        raise WorkspaceError(f"cannot create workspace {path}: {exc.strerror or exc}",
                             "choose another path with --workspace") from exc
    return ws


def open_workspace(explicit: str | os.PathLike[str] | None = None) -> Workspace:
    """Open an initialised workspace; a missing or unwritable one is a WorkspaceError."""
    path, source = resolve_workspace_path(explicit)
    ws = Workspace(path)
    if not ws.exists():
        where = {"option": "given with --workspace", "environment": f"from ${ENV_VAR}",
                 "default": "the default"}[source]
        raise WorkspaceError(
            f"no easy-oww workspace at {path} ({where})",
            f"create it with: easy-oww init --workspace {path}",
        )
    if not os.access(path, os.W_OK):
        raise WorkspaceError(f"workspace {path} is not writable",
                             "fix its permissions or choose another with --workspace")
    _require_folders(path / d for d in WORKSPACE_DIRS)
    return ws


def _require_folders(paths: Iterable[Path]) -> None:
    """A PathKindError naming the first of `paths` that exists but is not a folder."""
    for p in paths:
        if p.exists() and not p.is_dir():
            raise PathKindError(f"{p} is a file, but easy-oww needs a folder there",
                                "move or rename that file, then run the command again")
