"""`easy-oww eval` as a library function: `evaluate_project`.

With no data given, on a trained project, it is train's evaluation again (same held-out
clips, voices and negative audio, `report.rescore_project`). With folders or files, or on
an untrained project, it embeds them (and, by default, the workspace's generated negative
audio) and measures them with the same `evaluate_features`. Either way it writes its own
report, ``evaluation/eval-<model>-<data>.json`` (and ``.png``); the model card and the
project's ``test_results.json`` stay train's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from easy_oww.audio.io import SUPPORTED_EXTENSIONS
from easy_oww.errors import EasyOWWError
from easy_oww.evaluate.result import EvalReport
from easy_oww.fsutil import read_json
from easy_oww.progress import ProgressFn
from easy_oww.project import Project
from easy_oww.workspace import Workspace

INCOMPLETE_NOTE = ("train's held-out data is incomplete (a run was stopped?), so these "
                   "figures are not train's; `easy-oww train` completes it")
NO_POSITIVES_NOTE = ("no positive clips, so no recall and no recommended threshold; pass "
                     "--positives DIR (or run `easy-oww train` first)")


@dataclass(frozen=True)
class EvalRequest:
    """What to evaluate: the model (default: the project's) and the data (default: train's
    held-out data, else the planned held-out clips and generated negative audio)."""

    model: Path | None = None
    positives: Path | None = None
    negatives: Path | None = None
    near_miss: Path | None = None
    audio: tuple[Path, ...] = ()
    builtin_audio: bool | None = None
    threshold: float | None = None

    @property
    def custom(self) -> bool:
        return (bool(self.positives or self.negatives or self.near_miss or self.audio)
                or self.builtin_audio is not None)


@dataclass(frozen=True)
class ProjectEval:
    """The report, whether it is train's evaluation again (`heldout`), and notes to show."""

    report: EvalReport
    heldout: bool
    notes: tuple[str, ...] = ()


def model_path(project: Project, model: Path | None) -> Path:
    """`model`, or the project's trained model (a user error when there is none)."""
    if model is not None:
        return Path(model)
    if not project.paths.model.is_file():
        raise EasyOWWError(f"project '{project.name}' has no trained model yet",
                           f"train it with `easy-oww train {project.name}`, or pass "
                           "--model PATH (any openWakeWord .onnx model)")
    return project.paths.model


def evaluate_project(ws: Workspace, project: Project, request: EvalRequest, *,
                     progress: ProgressFn | None = None) -> ProjectEval:
    """Evaluate as `easy-oww eval` does; writes only the evaluation's own report."""
    from easy_oww.evaluate.detector import WakeWordModel
    from easy_oww.pipeline.report import has_heldout_data

    path = model_path(project, request.model)
    WakeWordModel(path)  # Contract 1 (one [batch, 1] score), before any slow step
    if not request.custom and has_heldout_data(project.paths):
        return ProjectEval(_heldout(ws, project, path, request.threshold), True)
    notes = []
    if not request.custom and project.paths.model.is_file():
        notes.append(INCOMPLETE_NOTE)
    report = _files(ws, project, path, request, progress)
    if not report.n_positive:
        notes.append(NO_POSITIVES_NOTE)
    return ProjectEval(report, False, tuple(notes))


def _heldout(ws: Workspace, project: Project, path: Path, threshold: float | None
             ) -> EvalReport:
    """train's evaluation, again: same held-out clips, voices and test audio."""
    from easy_oww.evaluate.report import write_report
    from easy_oww.pipeline.report import rescore_project

    report = rescore_project(ws, project.paths, project.config, path, threshold)
    out = project.paths.evaluation / f"{report_stem(path, 'heldout')}.json"
    return write_report(report, out, title=project.config.wake_word)


def _files(ws: Workspace, project: Project, path: Path, r: EvalRequest,
           progress: ProgressFn | None) -> EvalReport:
    from easy_oww.evaluate.report import run_eval
    from easy_oww.negative_audio import cached_long_audio, ensure_negative_audio
    from easy_oww.pipeline.negatives import negative_rooms, test_audio_seed

    pos = audio_in(r.positives, "positives") if r.positives else planned_clips(
        project, ws, "eval_positive")
    near = (audio_in(r.near_miss, "near-miss") if r.near_miss
            else planned_clips(project, ws, "eval_adversarial"))
    neg = audio_in(r.negatives, "negatives") if r.negatives else []
    for p in r.audio:
        if not p.is_file():
            raise EasyOWWError(f"audio file not found: {p}", "check the --audio path")
    use_builtin = r.builtin_audio if r.builtin_audio is not None else not r.audio
    stem = report_stem(path, _data_tag(r, use_builtin))
    cfg = project.config
    long: list[Any] = [cached_long_audio(p, ws.cache / "eval_audio") for p in r.audio]
    data: dict[str, Any] = {}
    if use_builtin:
        na = ensure_negative_audio(ws, hours=cfg.evaluation.negative_hours,
                                   seed=test_audio_seed(cfg.seed), exclude=cfg.wake_word,
                                   progress=progress, include_dipco=True,
                                   **negative_rooms(ws, cfg))
        long += list(na.parts)
        data["negative_audio"] = na.describe()
    return run_eval(path, positives=pos, negatives=neg, long_audio=long,
                    config=cfg.evaluation, near_miss=near, out_dir=project.paths.evaluation,
                    threshold=r.threshold, wake_word=cfg.wake_word, data=data,
                    progress=progress, stem=stem)


def audio_in(folder: Path, what: str) -> list[Path]:
    """The audio files in `folder` (a user error when there are none)."""
    if not folder.is_dir():
        raise EasyOWWError(f"{what} folder not found: {folder}", "give a folder of audio clips")
    files = sorted(p for p in folder.rglob("*")
                   if p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS
                   and not p.name.startswith("._"))
    if not files:
        raise EasyOWWError(f"no audio files in {what} folder {folder}",
                           f"put WAV/FLAC clips there ({', '.join(SUPPORTED_EXTENSIONS)})")
    return files


def planned_clips(project: Project, ws: Workspace, split: str) -> list[Path]:
    """Held-out clips the training pipeline made for evaluation (if it has run)."""
    try:
        data = read_json(project.paths.clips / "phase.json")
        rel = data["summary"]["plan"]["splits"].get(split, [])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
    paths = [ws.root / p for p in rel]
    return [p for p in paths if p.is_file()]


def report_stem(model: Path, data: str) -> str:
    """``eval-<model stem>-<data>``: the name of an evaluation's own report files."""
    return f"eval-{_slug(model.stem)}-{data}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._")[:60] or "model"


def _data_tag(r: EvalRequest, builtin: bool) -> str:
    """"builtin" for the defaults of an untrained project ("clips" without the built-in
    audio), else the first folder's or file's name and a short hash of the paths given
    (another folder of the same name gets another report)."""
    from easy_oww.fsutil import stable_hash

    given = [p for p in (r.positives, r.negatives, r.near_miss, *r.audio) if p is not None]
    if not given:
        return "builtin" if builtin else "clips"
    key = stable_hash([str(p.resolve()) for p in given] + [builtin])[:6]
    return f"{_slug(given[0].stem)}-{key}"

