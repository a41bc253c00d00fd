"""Export: the trained classifier as ONNX (always) and TFLite (when the exporter is
installed), and `easy-oww export`'s copy into Home Assistant's custom-model folder.

The TFLite file is checked against the ONNX file on the project's evaluation windows (the
held-out clips and negative audio `evaluation` scores) before it is written; a stale
TFLite file of an earlier model never stays beside a new ONNX file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww.contract import EMBEDDING_DIM, MODEL_INPUT_FRAMES
from easy_oww.errors import EasyOWWError
from easy_oww.fsutil import atomic_write_bytes, sha256_file
from easy_oww.workspace import ProjectPaths, Workspace

log = logging.getLogger(__name__)

FORMATS = ("onnx", "tflite")
HOME_ASSISTANT_DIR = Path("/share/openwakeword")  # where HA OS's openWakeWord add-on looks
MAX_STREAM_WINDOWS = 4000  # negative-audio windows compared (evenly spaced)
MAX_CLIP_WINDOWS = 20_000  # windows of held-out clips compared


def tflite_file_name(project: str) -> str:
    """lower_snake `.tflite` name without a version suffix: wyoming-openwakeword names the
    model after the file stem and treats a trailing `_v0.1` as a version."""
    stem = re.sub(r"[^a-z0-9]+", "_", project.lower()).strip("_") or "wake_word"
    stem = re.sub(r"(_v[0-9][0-9_]*)+$", "", stem) or stem
    return f"{stem}.tflite"


def tflite_path(paths: ProjectPaths) -> Path:
    return paths.models / tflite_file_name(paths.name)


def evaluation_windows(paths: ProjectPaths) -> np.ndarray:
    """Feature windows [n, 16, 96] the evaluation phase scores: every window of the
    held-out clips (capped) and evenly spaced windows of the test negative audio."""
    from easy_oww.datasets import feature_windows
    from easy_oww.features.store import open_features

    parts: list[np.ndarray] = []
    for name in ("eval_positive", "eval_adversarial"):
        directory = paths.features / name
        if directory.is_dir():
            clips = open_features(directory).load_all()
            if len(clips) and clips.shape[1] >= MODEL_INPUT_FRAMES:
                views = np.lib.stride_tricks.sliding_window_view(clips, MODEL_INPUT_FRAMES, axis=1)
                parts.append(views.transpose(0, 1, 3, 2).reshape(-1, MODEL_INPUT_FRAMES,
                                                                 EMBEDDING_DIM))
    clip_windows = np.concatenate(parts)[:MAX_CLIP_WINDOWS] if parts else None
    out = [] if clip_windows is None else [clip_windows]
    stream = paths.negative_audio / "test_stream.npy"
    if stream.is_file():
        windows = feature_windows(np.load(stream, mmap_mode="r"))
        step = max(1, len(windows) // MAX_STREAM_WINDOWS)
        out.append(np.asarray(windows[::step][:MAX_STREAM_WINDOWS]))
    if not out:
        return np.zeros((0, MODEL_INPUT_FRAMES, EMBEDDING_DIM), np.float32)
    return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)


def export_model(paths: ProjectPaths) -> dict[str, Any]:
    """The export phase of `train`: ONNX, then TFLite beside it when possible."""
    import torch

    from easy_oww.pipeline.learn import MODEL_FILE
    from easy_oww.training import tflite
    from easy_oww.training.export import export_onnx

    model = torch.load(paths.training / MODEL_FILE, weights_only=False).eval()
    export_onnx(model, paths.model)
    summary: dict[str, Any] = {"path": str(paths.model), "sha256": sha256_file(paths.model),
                               "bytes": paths.model.stat().st_size, "tflite": None}
    target = tflite_path(paths)
    with contextlib.suppress(FileNotFoundError):
        target.unlink()  # never leave an earlier model's TFLite file beside this ONNX file
    if not tflite.available():
        log.info("TFLite model skipped: the exporter is not installed (%s)", tflite.missing_hint())
        return summary
    try:
        result = tflite.export_tflite(model, target, paths.model.read_bytes(),
                                      evaluation_windows(paths))
    except tflite.UnsupportedModel as exc:
        log.warning("TFLite model skipped: %s", exc.message)
        return summary
    log.info("TFLite model %s: scores within %.1e of the ONNX model on %d windows",
             result.path.name, result.max_abs_diff, result.windows)
    summary["tflite"] = {"path": str(result.path), "sha256": sha256_file(result.path),
                         "bytes": result.bytes, "windows": result.windows,
                         "max_abs_diff": result.max_abs_diff}
    return summary


@dataclass(frozen=True)
class ExportResult:
    format: str
    path: Path
    bytes: int
    max_abs_diff: float | None  # TFLite vs ONNX on the compared windows
    windows: int
    home_assistant: Path | None  # the copy in Home Assistant's folder, if asked


def export_project(ws: Workspace, name: str, fmt: str = "tflite", out: Path | None = None,
                   home_assistant: Path | None = None) -> ExportResult:
    """`easy-oww export`: write the trained model of project `name` as `fmt` into `out`
    (default: the project's models folder); copy a TFLite model into `home_assistant`."""
    paths = ws.require_project(name)
    if fmt not in FORMATS:
        raise EasyOWWError(f"unknown format {fmt!r}", f"use one of {', '.join(FORMATS)}")
    if home_assistant is not None and fmt != "tflite":
        raise EasyOWWError("--home-assistant needs --format tflite",
                           "Home Assistant's openWakeWord add-on loads .tflite files only")
    model = _trained_model(paths)
    directory = Path(out) if out is not None else paths.models
    _check_writable(directory)
    if fmt == "onnx":
        path = _export_onnx(model, paths, directory)
        return ExportResult("onnx", path, path.stat().st_size, None, 0, None)
    result = _export_tflite(model, paths, directory)
    copied = None if home_assistant is None else copy_to_home_assistant(result.path,
                                                                        home_assistant)
    return ExportResult("tflite", result.path, result.bytes, result.max_abs_diff,
                        result.windows, copied)


def _trained_model(paths: ProjectPaths) -> Any:
    from easy_oww.errors import require
    from easy_oww.pipeline.learn import MODEL_FILE

    torch = require("torch", "train", "exporting the model")
    file = paths.training / MODEL_FILE
    if not file.is_file():
        raise EasyOWWError(f"project {paths.name!r} has no trained model yet",
                           f"train it first: easy-oww train {paths.name}")
    return torch.load(file, weights_only=False).eval()


def _check_writable(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EasyOWWError(f"cannot create {directory}: {exc.strerror}",
                           "pick another folder with --out") from exc
    if not directory.is_dir() or not os.access(directory, os.W_OK):
        raise EasyOWWError(f"{directory} is not a writable folder", "pick another folder")


def _export_onnx(model: Any, paths: ProjectPaths, directory: Path) -> Path:
    from easy_oww.training.export import export_onnx

    return export_onnx(model, directory / paths.model.name)


def _export_tflite(model: Any, paths: ProjectPaths, directory: Path) -> Any:
    from easy_oww.training import tflite
    from easy_oww.training.export import onnx_bytes

    tflite.require_exporter()
    reference = onnx_bytes(model)  # the same bytes `train` writes (the export is deterministic)
    return tflite.export_tflite(model, directory / tflite_file_name(paths.name), reference,
                                evaluation_windows(paths))


def copy_to_home_assistant(model: Path, directory: Path) -> Path:
    """Copy a validated `.tflite` model into Home Assistant's custom-model folder."""
    if not directory.is_dir():
        raise EasyOWWError(
            f"Home Assistant folder {directory} does not exist",
            "on HA OS it is /share/openwakeword (create it, e.g. through the Samba or SSH "
            "add-on's share folder); or pass the mounted share, e.g. "
            "--home-assistant /mnt/ha-share/openwakeword")
    target = directory / model.name
    if target.resolve() == model.resolve():
        return target
    try:
        atomic_write_bytes(target, model.read_bytes())
        target.chmod(0o644)  # the add-on (or a container) may read it as another user
    except OSError as exc:
        raise EasyOWWError(f"cannot write {target}: {exc.strerror}",
                           "check the folder's permissions") from exc
    return target
