"""Creating, opening and summarising projects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from easy_oww.config import Preset, ProjectConfig, load_config, new_config, save_config
from easy_oww.errors import EasyOWWError
from easy_oww.fsutil import disk_space, read_json
from easy_oww.text.language import check_sayable
from easy_oww.workspace import ProjectPaths, Workspace

AUDIO_GLOBS = ("*.wav", "*.flac", "*.ogg", "*.mp3")
CREATE_BYTES = 1_000_000  # config.yaml and empty folders, with room to spare


@dataclass(frozen=True)
class Project:
    paths: ProjectPaths
    config: ProjectConfig

    @property
    def name(self) -> str:
        return self.paths.name


def create_project(ws: Workspace, name: str, wake_word: str, *, samples: int | None = None,
                   steps: int | None = None, preset: Preset = Preset.standard,
                   exist_ok: bool = False) -> Project:
    """Write projects/NAME/config.yaml and the project's folders."""
    paths = ws.project(name)
    if paths.config.exists() and not exist_ok:
        raise EasyOWWError(f"project '{name}' already exists at {paths.root}",
                           "pick another name, or edit its config.yaml")
    overrides: dict[str, Any] = {}
    if samples is not None:
        overrides["clips.n_positive"] = samples
    if steps is not None:
        overrides["training.steps"] = steps
    config = new_config(name, wake_word, preset=preset, **overrides)
    check_sayable(config.wake_word)
    with disk_space(ws.projects, CREATE_BYTES, "create"):
        for folder in paths.folders():
            folder.mkdir(parents=True, exist_ok=True)
        if not paths.config.exists():
            save_config(config, paths.config)
    return Project(paths, load_config(paths.config))


def open_project(ws: Workspace, name: str) -> Project:
    paths = ws.require_project(name)
    return Project(paths, load_config(paths.config))


def count_audio(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(1 for g in AUDIO_GLOBS for _ in folder.glob(g))


@dataclass(frozen=True)
class ProjectSummary:
    name: str
    wake_word: str
    recordings: int
    negative_recordings: int
    model: str | None
    last_result: dict[str, Any] | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "wake_word": self.wake_word, "recordings": self.recordings,
                "negative_recordings": self.negative_recordings, "model": self.model,
                "last_result": self.last_result, "error": self.error}


def summarize_project(ws: Workspace, name: str) -> ProjectSummary:
    paths = ws.project(name)
    try:
        cfg = load_config(paths.config)
        wake = cfg.wake_word
        error = None
    except EasyOWWError as exc:
        wake, error = "?", exc.message
    last = None
    if paths.test_results.is_file():
        try:
            data = read_json(paths.test_results)
            last = {k: data[k] for k in ("recall", "fp_per_hour", "threshold", "date")
                    if k in data}
        except (OSError, ValueError):
            last = None
    return ProjectSummary(name, wake, count_audio(paths.recordings),
                          count_audio(paths.negative_recordings),
                          str(paths.model) if paths.model.is_file() else None, last, error)


def list_projects(ws: Workspace) -> list[ProjectSummary]:
    return [summarize_project(ws, n) for n in ws.project_names()]
