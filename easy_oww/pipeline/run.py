"""`easy-oww train`: the phases in order, each skipped when its manifest matches.

    clips -> features -> negative audio -> training -> export -> evaluation

Every phase writes its outputs atomically and its manifest last, keyed by a hash of what
it depends on; `force` redoes every phase; a killed run continues where it stopped
(feature shards and training checkpoints resume inside their phases).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from easy_oww import fsutil
from easy_oww.compute import feature_device, resolve_device
from easy_oww.config import Preset, ProjectConfig, save_config, with_preset
from easy_oww.errors import EasyOWWError
from easy_oww.evaluate.result import EvalReport
from easy_oww.fsutil import disk_space, require_free_space, stable_hash
from easy_oww.pipeline import phases
from easy_oww.pipeline.clips import ClipPlan, clips_key, make_clips
from easy_oww.pipeline.estimate import estimate_seconds
from easy_oww.pipeline.results import (
    ClipsResult,
    Evaluation,
    ExportedModel,
    FeaturesResult,
    NegativeStreams,
    PhaseResult,
    TrainedModel,
)
from easy_oww.progress import ProgressFn
from easy_oww.project import open_project
from easy_oww.workspace import ProjectPaths, Workspace

log = logging.getLogger(__name__)

PHASES = ("clips", "features", "negative audio", "training", "export", "evaluation")

R = TypeVar("R", bound=PhaseResult)


@dataclass(frozen=True)
class PhaseTiming:
    """One phase of a run: how long it took (0 when skipped) and its typed result."""

    name: str
    seconds: float
    skipped: bool
    result: PhaseResult

    @property
    def summary(self) -> dict[str, Any]:
        """The result as the phase's manifest records it."""
        return self.result.to_json()


@dataclass(frozen=True)
class TrainReport:
    project: str
    wake_word: str
    preset: str
    model_path: Path
    card_path: Path
    phases: tuple[PhaseTiming, ...]
    evaluation: EvalReport
    expected_seconds: float
    tflite_path: Path | None = None  # None when the TFLite exporter is not installed

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.phases)

    @property
    def metrics(self) -> dict[str, Any]:
        """The evaluation report as ``test_results.json`` holds it."""
        return self.evaluation.to_json()


@dataclass
class _Run:
    ws: Workspace
    paths: ProjectPaths
    config: ProjectConfig
    force: bool
    device: str
    progress: ProgressFn | None
    timings: list[PhaseTiming] = field(default_factory=list)

    def phase(self, name: str, directory: Path, key_data: Any, body: Callable[[], R],
              load: Callable[[dict[str, Any]], R]) -> tuple[str, R]:
        """Run `body` unless `directory` records a completed run with the same key; then
        its recorded result is read back with `load`."""
        key = stable_hash(key_data)
        directory.mkdir(parents=True, exist_ok=True)
        done = None if self.force else phases.is_complete(directory, key)
        if done is not None:
            log.info("%s: up to date, skipped", name)
            result = load(done)
            self.timings.append(PhaseTiming(name, 0.0, True, result))
            return key, result
        previous = phases.load_manifest(directory)
        phases.invalidate(directory)
        if self.force or (previous is not None and previous.get("key") != key):
            _clear(directory)  # outputs of another configuration: start afresh
        log.info("%s: running", name)
        start = time.perf_counter()
        result = body()
        seconds = time.perf_counter() - start
        phases.record_complete(directory, key, result.to_json(), seconds)
        self.timings.append(PhaseTiming(name, seconds, False, result))
        return key, result


def _clear(directory: Path) -> None:
    for child in directory.iterdir():
        if child.name == phases.MANIFEST:
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def preflight(run: _Run) -> None:
    """Everything a run needs, checked before the slow part (STYLE 8)."""
    from easy_oww.errors import require
    from easy_oww.text.language import check_sayable

    check_sayable(run.config.wake_word)  # config.yaml's wake word may have been edited
    require("torch", "train", "Training")
    from easy_oww.features.frontend import FrontEnd

    FrontEnd()  # front-end models present, checksums match
    require_free_space(run.paths.root, _disk_estimate(run.config), "train")
    if not os.access(run.paths.root, os.W_OK):
        raise EasyOWWError(f"project folder {run.paths.root} is not writable",
                           "fix its permissions")


def _disk_estimate(config: ProjectConfig) -> int:
    c = config.clips
    clips = c.n_positive + c.n_adversarial + c.n_negative_speech + 4 * c.n_eval_positive
    features = (c.n_positive + c.n_adversarial + c.n_negative_speech * 1.25) * config.augment.rounds
    return int(clips * 80_000 + features * 16 * 96 * 4 + 300e6)


def run_train(ws: Workspace, name: str, *, preset: Preset | None = None, force: bool = False,
              device: str | None = None, progress: ProgressFn | None = None,
              announce: Callable[[float], None] | None = None) -> TrainReport:
    """Train project `name` end to end; returns the report the CLI prints. `device`
    (auto, cpu, cuda) overrides the config's ``training.device`` when given."""
    project = open_project(ws, name)
    config = project.config if preset is None else with_preset(project.config, preset)
    run = _Run(ws, project.paths, config, force,
               resolve_device(device, config.training.device), progress)
    with phases.project_lock(project.paths.lock):
        preflight(run)
        _sweep_temps(ws, project.paths)
        if config != project.config:
            _record_preset(project.paths, config)
        with disk_space(project.paths.root, _disk_estimate(config), "train"):
            report = _run_phases(run, announce)
    return report


def _sweep_temps(ws: Workspace, paths: ProjectPaths) -> None:
    """Temporary files of killed runs (kill -9, power cut), in the project and the shared
    cache; those of live writers (another project's run) stay."""
    removed = (fsutil.remove_stale_temps(paths.root, recursive=True, dead_only=True)
               + fsutil.remove_stale_temps(ws.cache, recursive=True, dead_only=True))
    if removed:
        log.debug("removed %d temporary file(s) of killed runs", removed)


def _run_phases(run: _Run, announce: Callable[[float], None] | None) -> TrainReport:
    config, paths = run.config, run.paths
    expected = estimate_seconds(config)
    if announce is not None:
        announce(expected)
    plan = _clips_phase(run)
    feat_key, feat = _features_phase(run, plan)
    neg_key, _ = _negatives_phase(run)
    train_key, trained = _training_phase(run, (feat_key, neg_key))
    export_key, exported = _export_phase(run, train_key)
    _, evaluation = _evaluation_phase(run, (export_key, feat_key, neg_key), trained, plan,
                                      feat)
    tflite = exported.tflite.path if exported.tflite else None
    return TrainReport(paths.name, config.wake_word, config.preset.value, paths.model,
                       paths.model_card_json, tuple(run.timings), evaluation.report, expected,
                       Path(tflite) if tflite else None)


def _record_preset(paths: ProjectPaths, config: ProjectConfig) -> None:
    """`train --preset P` resizes config.yaml, so that a later plain `train` keeps P."""
    save_config(config, paths.config)
    log.info("preset %s recorded in %s: later runs of train use it", config.preset.value,
             paths.config)


# --- phases -------------------------------------------------------------------------------

def _clips_phase(run: _Run) -> ClipPlan:
    root = run.ws.root

    def body() -> ClipsResult:
        plan = make_clips(run.config, run.ws, run.paths, progress=run.progress)
        return ClipsResult(plan, root, plan.counts())

    _, result = run.phase("clips", run.paths.clips, clips_key(run.config, run.ws, run.paths),
                          body, lambda d: ClipsResult.from_json(d, root))
    plan = result.plan
    missing = [p for ps in plan.splits.values() for p in ps if not p.is_file()]
    if missing:  # the TTS cache was cleaned since: make the clips again
        log.info("clips: %d cached clips are missing, making them again", len(missing))
        plan = make_clips(run.config, run.ws, run.paths, progress=run.progress)
    return plan


def _features_phase(run: _Run, plan: ClipPlan) -> tuple[str, FeaturesResult]:
    from easy_oww.pipeline.featurize import make_features

    c = run.config
    key = {"clips": plan.to_json(run.ws.root), "augment": c.augment.model_dump(mode="json"),
           "clip_duration": c.clips.clip_duration, "seed": c.seed,
           "real_weight": c.clips.real_positive_weight, "version": 3}

    def body() -> FeaturesResult:
        device = feature_device(run.device)
        if device != run.device:
            log.info("features: on the CPU (ONNX Runtime has no CUDA provider; install "
                     "onnxruntime-gpu to use the GPU here too); training stays on %s",
                     run.device)
        s = make_features(c, run.ws, run.paths, plan, device=device, progress=run.progress)
        return FeaturesResult(s.counts, s.window_samples, s.sources)

    return run.phase("features", run.paths.features, key, body, FeaturesResult.from_json)


def _negatives_phase(run: _Run) -> tuple[str, NegativeStreams]:
    """Long negative audio (held-out voices, noise): validation part and test part."""
    from easy_oww.negative_audio import VERSION as AUDIO_VERSION
    from easy_oww.negative_audio.generate import rooms_fingerprint
    from easy_oww.pipeline.negatives import negative_rooms, negative_streams, validation_hours
    from easy_oww.pipeline.real_speech import files_key

    ev = run.config.evaluation
    rooms = negative_rooms(run.ws, run.config)
    key = {"hours": ev.negative_hours, "train_hours": run.config.clips.negative_audio_hours,
           "val_hours": validation_hours(ev.negative_hours, ev.target_fp_per_hour),
           "seed": run.config.seed, "wake_word": run.config.wake_word,
           "tts": run.config.tts.model_dump(mode="json"), "audio": AUDIO_VERSION,
           "real_speech": files_key(run.config, run.ws),
           "rooms": rooms_fingerprint(rooms["rooms"]), "room_p": rooms["room_probability"],
           "voice": rooms["voice"].key(), "version": 7}
    directory = run.paths.negative_audio
    return run.phase("negative audio", directory, key,
                     lambda: NegativeStreams.from_json(negative_streams(
                         run.ws, run.config, directory, progress=run.progress, rooms=rooms)),
                     NegativeStreams.from_json)


def _training_phase(run: _Run, upstream: tuple[str, str]) -> tuple[str, TrainedModel]:
    from easy_oww.pipeline.learn import train_model

    c = run.config
    key = {"upstream": upstream, "training": c.training.model_dump(mode="json", exclude={"device"}),
           "evaluation": c.evaluation.model_dump(mode="json"), "seed": c.seed,
           "precomputed": _precomputed_id(run.ws), "version": 1}
    return run.phase("training", run.paths.training, key,
                     lambda: TrainedModel.from_json(train_model(
                         run.ws, run.paths, c, device=run.device, progress=run.progress)),
                     TrainedModel.from_json)


def _export_phase(run: _Run, train_key: str) -> tuple[str, ExportedModel]:
    from easy_oww.pipeline.exporting import export_model
    from easy_oww.training import tflite

    # installing the TFLite exporter later makes the next `train` write the .tflite file
    key = {"training": train_key, "tflite": tflite.available(), "version": 2}
    return run.phase("export", run.paths.models, key,
                     lambda: ExportedModel.from_json(export_model(run.paths)),
                     ExportedModel.from_json)


def _evaluation_phase(run: _Run, upstream: tuple[str, ...], trained: TrainedModel,
                      plan: ClipPlan, feat: FeaturesResult) -> tuple[str, Evaluation]:
    from easy_oww.pipeline.report import evaluate_model

    key = {"upstream": upstream, "evaluation": run.config.evaluation.model_dump(mode="json"),
           "version": 1}
    return run.phase("evaluation", run.paths.evaluation, key,
                     lambda: Evaluation(evaluate_model(run.ws, run.paths, run.config, trained,
                                                       plan, feat)),
                     Evaluation.from_json)


def _precomputed_id(ws: Workspace) -> Any:
    """Identity of downloaded precomputed negative features, if present (name + size)."""
    from easy_oww.datasets import precomputed_negative_features
    path = precomputed_negative_features(ws)
    return None if path is None else [path.name, path.stat().st_size]
