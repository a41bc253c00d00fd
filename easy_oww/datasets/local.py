"""What is downloaded: presence checks and paths used by training, augmentation and eval.

Formats (openWakeWord's, kept as published):

- precomputed negative features (``acav100m_features``): ``.npy`` of shape ``[N, 16, 96]``,
  float16 in the published file (float32 accepted) — ready-made model inputs, one
  16-frame window each. Open with `open_negative_features` (memory-mapped, read-only).
- validation features (``validation_features``): ``.npy`` of shape ``[T, 96]``, float32, one
  continuous embedding stream (one row per 80 ms). `feature_windows` turns it into the
  ``[T - 15, 16, 96]`` sliding windows a streaming detector scores. An ``[N, 16, 96]`` file
  is accepted as already-windowed input.

A dataset counts as present when its files are complete: a single-file dataset when its
file exists with the expected size (so a file the user copied in by hand counts), an
archive dataset when its extraction finished (marker file ``.complete.json``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from easy_oww.contract import EMBEDDING_DIM, MODEL_INPUT_FRAMES
from easy_oww.datasets import registry
from easy_oww.datasets.registry import (
    ACAV100M_FEATURES,
    DIPCO,
    FSD50K_EVAL,
    LIBRISPEECH_DEV_CLEAN,
    MIT_RIRS,
    VALIDATION_FEATURES,
    DatasetSpec,
    Kind,
    Tier,
)
from easy_oww.errors import DownloadError
from easy_oww.workspace import Workspace

log = logging.getLogger(__name__)

MARKER = ".complete.json"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
State = Literal["present", "partial", "missing"]


@dataclass(frozen=True)
class DatasetStatus:
    """One row of the status table."""

    name: str
    present: bool
    state: State  # present | partial (an interrupted download or extraction) | missing
    path: Path
    size_on_disk: int
    expected_size: int | None  # bytes once installed (approximate for archives)
    tier: Tier
    kind: Kind
    description: str
    licence: str


def dataset_path(workspace: Workspace, spec: DatasetSpec) -> Path:
    """The file (single-file datasets) or folder (archives) a dataset installs to."""
    folder = workspace.datasets / spec.folder
    return folder / spec.files[0].filename if not spec.archive else folder


def marker_path(workspace: Workspace, spec: DatasetSpec) -> Path:
    return workspace.datasets / spec.folder / MARKER


def is_present(workspace: Workspace, spec: DatasetSpec) -> bool:
    """Archives: extraction finished. Feature files: a complete ``.npy`` of the right shape
    (any size, so a smaller or differently made file the user put there counts too)."""
    if spec.archive:
        return marker_path(workspace, spec).is_file()
    path = dataset_path(workspace, spec)
    if not path.is_file():
        return False
    if spec.extraction != "npy":
        expected = spec.files[0].size
        return expected is None or path.stat().st_size == expected
    try:
        shape, _dtype = npy_header(path)
        check_feature_shape(path, shape, windowed_only=spec.kind == "precomputed_features"
                            and spec.name == ACAV100M_FEATURES.name)
    except DownloadError:
        return False
    return True


def dataset_status(workspace: Workspace) -> list[DatasetStatus]:
    """Every registry dataset with whether it is present and how much disk it uses."""
    rows = []
    for spec in registry.REGISTRY:
        path = dataset_path(workspace, spec)
        present = is_present(workspace, spec)
        size = _size_on_disk(path) + _leftover_bytes(workspace, spec)
        state: State = "present" if present else ("partial" if size else "missing")
        rows.append(DatasetStatus(spec.name, present, state, path, size, spec.disk_size,
                                  spec.tier, spec.kind, spec.description, spec.licence))
    return rows


def _size_on_disk(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    if path.is_dir():
        for root, _dirs, files in os.walk(path):
            for f in files:
                with contextlib.suppress(OSError):
                    total += (Path(root) / f).stat().st_size
    return total


def _leftover_bytes(workspace: Workspace, spec: DatasetSpec) -> int:
    """Bytes of partial downloads (.part) and kept archives belonging to `spec`."""
    from easy_oww.datasets.download import partial_path

    total = 0
    for f in spec.files:
        for p in (downloads_dir(workspace) / f.filename,
                  partial_path(downloads_dir(workspace) / f.filename),
                  partial_path(workspace.datasets / spec.folder / f.filename)):
            if p.is_file():
                total += p.stat().st_size
    return total


def downloads_dir(workspace: Workspace) -> Path:
    """Where archives wait (and resume) before extraction."""
    return workspace.datasets / ".downloads"


# --- precomputed features ---------------------------------------------------------------

def precomputed_negative_features(workspace: Workspace) -> Path | None:
    """The ACAV100M negative-features ``.npy`` ([N, 16, 96]) when present and valid, else None.

    Looks in ``datasets/openwakeword_features/`` then directly in ``datasets/`` (a file the
    user copied there). A truncated file (interrupted copy) is ignored with a warning.
    """
    return _find_features(workspace, ACAV100M_FEATURES, windowed_only=True)


def validation_features(workspace: Workspace) -> Path | None:
    """The false-positive validation ``.npy`` when present: a [T, 96] float32 stream
    (the published format; one row per 80 ms) or an already-windowed [N, 16, 96] file."""
    return _find_features(workspace, VALIDATION_FEATURES, windowed_only=False)


def _find_features(workspace: Workspace, spec: DatasetSpec, *, windowed_only: bool
                   ) -> Path | None:
    name = spec.files[0].filename
    for candidate in (dataset_path(workspace, spec), workspace.datasets / name):
        if not candidate.is_file():
            continue
        try:
            shape, _dtype = npy_header(candidate)
            check_feature_shape(candidate, shape, windowed_only=windowed_only)
        except DownloadError as exc:
            log.warning("ignoring %s: %s", candidate, exc.message)
            continue
        return candidate
    return None


def npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """(shape, dtype) of a ``.npy`` file from its header; DownloadError when unreadable or
    shorter than the header says (an interrupted download)."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            offset = fh.tell()
    except (OSError, ValueError) as exc:
        raise DownloadError(f"{path.name} is not a valid .npy file ({exc})",
                            "delete it and run: easy-oww download") from exc
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = path.stat().st_size
    if actual < expected:
        raise DownloadError(f"{path.name} is truncated ({actual} of {expected} bytes)",
                            "run easy-oww download again to complete it")
    if fortran:
        raise DownloadError(f"{path.name} is stored in Fortran order",
                            "save it again with numpy in C order")
    return tuple(int(s) for s in shape), dtype


def check_feature_shape(path: Path, shape: tuple[int, ...], *, windowed_only: bool) -> None:
    windowed = len(shape) == 3 and shape[1:] == (MODEL_INPUT_FRAMES, EMBEDDING_DIM)
    stream = len(shape) == 2 and shape[1] == EMBEDDING_DIM
    if windowed or (stream and not windowed_only):
        return
    want = f"[N, {MODEL_INPUT_FRAMES}, {EMBEDDING_DIM}]" + (
        "" if windowed_only else f" or [T, {EMBEDDING_DIM}]")
    raise DownloadError(f"{path.name} has shape {list(shape)}, expected {want}",
                        "use openWakeWord's feature files or features made by easy-oww")


def open_features(path: Path) -> np.ndarray:
    """Memory-map a features ``.npy`` read-only (float16 or float32, never copied)."""
    shape, dtype = npy_header(path)
    if dtype not in (np.float16, np.float32):
        raise DownloadError(f"{path.name} has dtype {dtype}, expected float16 or float32",
                            "use openWakeWord's feature files")
    arr: np.ndarray = np.load(path, mmap_mode="r")
    assert arr.shape == shape
    return arr


def open_negative_features(workspace: Workspace) -> np.ndarray | None:
    """The precomputed negatives as a read-only memory map [N, 16, 96], or None."""
    path = precomputed_negative_features(workspace)
    return None if path is None else open_features(path)


def feature_windows(features: np.ndarray) -> np.ndarray:
    """[T, 96] stream -> [T - 15, 16, 96] sliding windows (a view, no copy); [N, 16, 96]
    is returned unchanged."""
    if features.ndim == 3:
        return features
    if features.ndim != 2 or features.shape[1] != EMBEDDING_DIM:
        raise ValueError(f"expected [T, {EMBEDDING_DIM}] features, got {features.shape}")
    if features.shape[0] < MODEL_INPUT_FRAMES:
        return np.empty((0, MODEL_INPUT_FRAMES, EMBEDDING_DIM), dtype=features.dtype)
    win = np.lib.stride_tricks.sliding_window_view(features, MODEL_INPUT_FRAMES, axis=0)
    out: np.ndarray = win.transpose(0, 2, 1)
    return out  # [T-15, 96, 16] -> [T-15, 16, 96]


# --- audio datasets ---------------------------------------------------------------------

def audio_files(folder: Path) -> list[Path]:
    """Audio files under `folder`, sorted, without macOS resource forks."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.rglob("*")
             if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()
             and not p.name.startswith("._") and "__MACOSX" not in p.parts]
    return sorted(found)


def _installed(workspace: Workspace, spec: DatasetSpec) -> Path | None:
    return workspace.datasets / spec.folder if is_present(workspace, spec) else None


def rir_files(workspace: Workspace) -> list[Path]:
    """Room impulse responses from the MIT survey (any sample rate; resample on load)."""
    folder = _installed(workspace, MIT_RIRS)
    return audio_files(folder) if folder else []


def noise_files(workspace: Workspace) -> list[Path]:
    """Background-noise clips (FSD50K)."""
    folder = _installed(workspace, FSD50K_EVAL)
    return audio_files(folder) if folder else []


def speech_files(workspace: Workspace) -> list[Path]:
    """Real read speech (LibriSpeech dev-clean FLAC files) for negative examples."""
    folder = _installed(workspace, LIBRISPEECH_DEV_CLEAN)
    return audio_files(folder) if folder else []


def dipco_audio(workspace: Workspace) -> list[Path]:
    """DiPCo far-field recordings, channel 1 of each device (``S01_U01.CH1.wav`` ...)."""
    folder = _installed(workspace, DIPCO)
    if folder is None:
        return []
    files = audio_files(folder)
    far = [p for p in files if p.name.endswith(".CH1.wav") and "_U" in p.name]
    return far or files
