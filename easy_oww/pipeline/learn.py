"""Training and export phases: feature shards -> classifier -> openWakeWord ONNX model."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww.config import ProjectConfig
from easy_oww.fsutil import atomic_write_bytes, sha256_file
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
    return TrainingData(
        positives=shards("positive"), negatives=negatives, val_positives=val_pos,
        val_negative_stream=np.load(stream_dir / "val_stream.npy", mmap_mode="r"),
        val_negative_hours=float(meta["val_hours"]),
        val_adversarial=held_out("val_adversarial"), negative_weights=weights)


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


def train_model(ws: Workspace, paths: ProjectPaths, config: ProjectConfig, *, device: str,
                progress: ProgressFn | None) -> dict[str, Any]:
    import torch

    from easy_oww.training.heads import calibrate_threshold
    from easy_oww.training.trainer import train_classifier

    data = training_data(ws, paths, config)
    result = train_classifier(data, config.training, config.evaluation, seed=config.seed,
                              checkpoint_dir=paths.training / "checkpoints", progress=progress,
                              device=device)
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
            "val_adversarial_false_accept": result.val_adversarial_false_accept,
            "train_seconds": result.seconds, "history": result.history[-50:],
            "data": data.describe(),
            "precomputed_negatives": len(data.negatives[-1])
            if _precomputed(ws) is not None else 0}


def export_model(paths: ProjectPaths) -> dict[str, Any]:
    import torch

    from easy_oww.training.export import export_onnx

    model = torch.load(paths.training / MODEL_FILE, weights_only=False)
    model.eval()
    export_onnx(model, paths.model)
    return {"path": str(paths.model), "sha256": sha256_file(paths.model),
            "bytes": paths.model.stat().st_size}
