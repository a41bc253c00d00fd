"""Training phase: feature shards -> classifier (training/model.pt); export is in exporting.py."""

from __future__ import annotations

import contextlib
import io
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww.compute import resolve_device
from easy_oww.config import ProjectConfig
from easy_oww.fsutil import atomic_write_bytes
from easy_oww.progress import ProgressFn
from easy_oww.workspace import ProjectPaths, Workspace

log = logging.getLogger(__name__)

MODEL_FILE = "model.pt"
NEGATIVE_SETS = ("negative_adversarial", "negative_speech", "negative_noise")
PRECOMPUTED_WEIGHT = 0.5  # share of negative rows drawn from downloaded ACAV100M features
STREAM_SHARE = 0.5  # share of (our own) negative rows drawn from the long negative audio


def training_data(ws: Workspace, paths: ProjectPaths, config: ProjectConfig) -> Any:
    """Shards for training and held-out validation data. Checkpoints of other data are
    never resumed: the training phase clears its folder when its key changes."""
    from easy_oww.features.store import open_features
    from easy_oww.training.data import TrainingData

    def shards(name: str) -> list[np.ndarray]:
        directory = paths.features / name
        return list(open_features(directory).shards) if directory.is_dir() else []

    def held_out(name: str) -> np.ndarray | None:
        directory = paths.features / name
        if not directory.is_dir():
            return None
        fs = open_features(directory)
        return fs.load_all() if len(fs) else None

    negatives: list[np.ndarray] = []
    weights: list[float] = []
    for name in NEGATIVE_SETS:
        for shard in shards(name):
            negatives.append(shard)
            weights.append(1.0)
    stream_dir = paths.negative_audio
    train_stream = stream_dir / "train_stream.npy"
    if train_stream.is_file():
        from easy_oww.datasets import feature_windows

        windows = feature_windows(np.load(train_stream, mmap_mode="r"))
        rows = sum(len(s) for s in negatives)
        negatives.append(windows)
        # per-row weight: the long audio supplies STREAM_SHARE of the negative rows
        weights.append(STREAM_SHARE / (1 - STREAM_SHARE) * rows / max(1, len(windows)))
    extra = _precomputed(ws)
    if extra is not None:
        ours = float(sum(w * len(s) for w, s in zip(weights, negatives, strict=True)))
        negatives.append(extra)
        # per-row weight so the downloaded set supplies PRECOMPUTED_WEIGHT of negatives
        weights.append(PRECOMPUTED_WEIGHT / (1 - PRECOMPUTED_WEIGHT) * ours / max(1, len(extra)))
        log.info("training with %d downloaded precomputed negative windows", len(extra))
    meta = _stream_meta(stream_dir)
    val_pos = held_out("val_positive")
    if val_pos is None:
        raise RuntimeError("validation positives are missing: rerun with --force")
    positives = open_features(paths.features / "positive")
    return TrainingData(
        positives=list(positives.shards), negatives=negatives, val_positives=val_pos,
        val_negative_stream=np.load(stream_dir / "val_stream.npy", mmap_mode="r"),
        val_negative_hours=float(meta["val_hours"]),
        val_adversarial=held_out("val_adversarial"), negative_weights=weights,
        positive_groups=clip_groups(positives.keys))


def clip_groups(keys: list[str]) -> np.ndarray:
    """An id per feature row, the same for the augmentation rounds of one clip (its key)."""
    _, ids = np.unique(np.asarray(keys, dtype=str), return_inverse=True)
    return ids.astype(np.int64)


def _stream_meta(directory: Path) -> dict[str, Any]:
    from easy_oww.pipeline.phases import load_manifest

    data = load_manifest(directory) or {}
    summary = data.get("summary") or {}
    if "val_hours" not in summary:
        raise RuntimeError(f"negative audio in {directory} is incomplete: rerun with --force")
    return summary


def _precomputed(ws: Workspace) -> np.ndarray | None:
    from easy_oww.datasets import precomputed_negative_features
    path = precomputed_negative_features(ws)
    if path is None:
        return None
    arr: np.ndarray = np.load(path, mmap_mode="r")
    if arr.ndim != 3 or arr.shape[1:] != (16, 96):
        log.warning("ignoring %s: shape %s is not [n, 16, 96]", path.name, arr.shape)
        return None
    return arr


ENSEMBLE_SEED_STRIDE = 1_000_003  # member k trains with seed + k * this (member 0: seed)


def member_seed(seed: int, k: int) -> int:
    return seed + k * ENSEMBLE_SEED_STRIDE


def member_dir(paths: ProjectPaths, k: int, n: int) -> Path:
    """Checkpoints of ensemble member `k` of `n` (a single head keeps the plain folder)."""
    root = paths.training / "checkpoints"
    return root if n == 1 else root / f"member_{k}"


_member_queue: Any = None


def _init_member_worker(queue: Any, parent: int | None = None) -> None:
    """Pool initializer (run after `easy_oww.parallel.worker_init`, which already makes
    the worker die with its run: a worker outliving its run would keep writing checkpoints
    next to the rerun's). `parent` arms that here too, for a pool started elsewhere."""
    global _member_queue
    _member_queue = queue
    if parent is not None:
        from easy_oww.parallel import exit_with_parent

        exit_with_parent(parent)


def _train_member(task: tuple[Workspace, ProjectPaths, ProjectConfig, int, str],
                  progress: ProgressFn | None = None) -> tuple[int, Any]:
    """Worker (or in-process): train ensemble member `k`; returns (k, TrainResult).

    Each worker opens the feature shards itself (read-only memory maps: the page cache is
    shared, nothing is copied) and keeps its own resumable checkpoints."""
    from easy_oww.training.trainer import train_classifier

    ws, paths, config, k, device = task
    n = config.training.ensemble
    queue = _member_queue
    if progress is None and queue is not None:
        def progress(_task: str, done: int, _total: int) -> None:
            queue.put((k, done))

    data = training_data(ws, paths, config)
    result = train_classifier(data, config.training, config.evaluation,
                              seed=member_seed(config.seed, k),
                              checkpoint_dir=member_dir(paths, k, n), progress=progress,
                              device=device)
    return k, result


def train_members(ws: Workspace, paths: ProjectPaths, config: ProjectConfig, *, device: str,
                  progress: ProgressFn | None) -> list[Any]:
    """Train `config.training.ensemble` heads, on a CPU in parallel processes (spawn: safe
    on macOS and Windows; each head uses one thread), in order of member index.

    Workers report their steps through a queue that a thread of this process drains into
    `progress` while `parallel.ordered_map` collects the members' results."""
    from easy_oww.parallel import ordered_map, spawn_context, worker_count

    n = config.training.ensemble
    dev = resolve_device(device)
    steps = config.training.steps
    tasks = [(ws, paths, config, k, dev) for k in range(n)]
    workers = worker_count(0, n) if dev == "cpu" else 1
    done = [0] * n

    def report(k: int, step: int) -> None:
        done[k] = step
        if progress:
            progress("training", sum(done), steps * n)

    if progress:
        progress("training", 0, steps * n)
    if workers <= 1:
        results = []
        for task in tasks:
            def member_progress(_t: str, step: int, _total: int, k: int = task[3]) -> None:
                report(k, step)

            results.append(_train_member(task, member_progress)[1])
        return results
    q = spawn_context().Queue()
    with _draining(q, report):
        out = dict(ordered_map(_train_member, tasks, workers=workers,
                               initializer=_init_member_worker, initargs=(q,)))
    return [out[k] for k in range(n)]


@contextlib.contextmanager
def _draining(q: Any, report: Callable[[int, int], None]) -> Iterator[None]:
    """Within the block a thread passes the (member, step) pairs put on `q` to `report`;
    after a clean exit the rest of the queue is passed on too, and a `report` error raised."""
    import queue as queue_mod
    import threading

    stop = threading.Event()
    errors: list[BaseException] = []

    def drain(block: bool) -> None:
        while True:
            try:
                k, step = q.get(timeout=0.2) if block else q.get_nowait()
            except queue_mod.Empty:
                if stop.is_set() or not block:
                    return
                continue
            try:
                report(k, step)
            except Exception as exc:  # noqa: BLE001 - raised in the parent below
                errors.append(exc)
                return

    thread = threading.Thread(target=drain, args=(True,), name="member-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    if not errors:
        drain(block=False)
    if errors:
        raise errors[0]


def train_model(ws: Workspace, paths: ProjectPaths, config: ProjectConfig, *, device: str,
                progress: ProgressFn | None) -> dict[str, Any]:
    import torch

    from easy_oww.training.heads import calibrate_threshold

    started = time.monotonic()
    members = train_members(ws, paths, config, device=device, progress=progress)
    data = training_data(ws, paths, config)
    result = members[0] if len(members) == 1 else _ensemble(data, config, members, device)
    threshold = result.threshold
    if result.met_target:
        # the validation threshold becomes the configured default (0.5 unless changed), so
        # openWakeWord's default threshold is the recommended one
        calibrate_threshold(result.model, result.threshold, config.evaluation.threshold)
        threshold = config.evaluation.threshold
    buf = io.BytesIO()
    torch.save(result.model, buf)
    atomic_write_bytes(paths.training / MODEL_FILE, buf.getvalue())
    return {"selected_step": result.selected_step, "threshold": threshold,
            "validation_threshold": result.threshold,
            "val_recall": result.val_recall, "val_fp_per_hour": result.val_fp_per_hour,
            "met_target": result.met_target, "averaged_steps": list(result.averaged_steps),
            "ensemble": len(members),
            "members": [{"seed": member_seed(config.seed, k), "val_recall": m.val_recall,
                         "val_fp_per_hour": m.val_fp_per_hour, "met_target": m.met_target,
                         "threshold": m.threshold, "train_seconds": m.seconds}
                        for k, m in enumerate(members)],
            "val_adversarial_false_accept": result.val_adversarial_false_accept,
            "train_seconds": round(time.monotonic() - started, 3), "history": result.history[-50:],
            "data": data.describe(),
            "precomputed_negatives": len(data.negatives[-1])
            if _precomputed(ws) is not None else 0}


def _ensemble(data: Any, config: ProjectConfig, members: list[Any], device: str) -> Any:
    """The members' mean logit as one model, validated like a single head (threshold for
    the target on the validation audio)."""
    import dataclasses

    import torch

    from easy_oww.training.heads import EnsembleHead, ScoreModel
    from easy_oww.training.validation import validate

    model = ScoreModel(EnsembleHead([m.model.head for m in members]))
    model.eval()
    res = validate(model, data, config.evaluation, torch.device(resolve_device(device)))
    if res.met:
        threshold, recall, fph = res.threshold, res.recall, res.fp_per_hour
    else:
        log.warning("the ensemble meets %.2f false positives/hour on no threshold; shipping "
                    "it at the default threshold", config.evaluation.target_fp_per_hour)
        threshold = config.evaluation.threshold
        recall, fph = res.recall_at_default, res.fp_per_hour_at_default
    log.info("ensemble of %d heads: recall %.3f at %.3f FP/h on validation", len(members),
             recall, fph)
    return dataclasses.replace(
        members[0], model=model.cpu().eval(), threshold=float(threshold),
        val_recall=float(recall), val_fp_per_hour=float(fph), met_target=bool(res.met),
        val_adversarial_false_accept=res.adversarial_false_accept)

