"""Run-time compatibility patches for upstream openWakeWord's training utilities on macOS.

openWakeWord's own feature computation (``compute_features_from_generator`` and
``AudioFeatures.embed_clips``) uses a ``ThreadPool`` per batch while a ``numpy.memmap`` is
open for writing, then trims the mapped file by copying it; on macOS this dies with SIGBUS
("zsh: bus error", plus a leaked-semaphore warning). easy-oww's own pipeline does not need
any of this (see ``easy_oww.features.store``); these patches are for people who run
upstream's training code (openwakeword 0.6.0) themselves.

``apply_patches()`` changes nothing at import time and nothing on Linux or Windows. On
macOS it replaces, in memory only (installed files are never touched):

- ``AudioFeatures._get_melspectrogram_batch`` / ``_get_embeddings_batch``: a plain loop in
  the calling thread instead of a ``ThreadPool`` (identical numbers), batch size <= 64;
- ``compute_features_from_generator``: ncpu=1, batch size <= 64, ``del`` + ``gc.collect()``
  after every batch, the writable map closed before the trailing empty rows are trimmed,
  and the trim written through a normal file instead of a second writable map.

The notices ``Note: Using single CPU on macOS to prevent memory errors`` and ``Reduced
batch size from 128 to 64 for macOS stability`` are INFO records of this module's logger
when they apply. The replacement bodies follow openWakeWord's code (Apache-2.0,
Copyright 2022 David Scripka).
"""

from __future__ import annotations

import gc
import importlib
import inspect
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww.errors import EasyOWWError

log = logging.getLogger(__name__)

MACOS_BATCH_SIZE = 64
SINGLE_CPU_NOTICE = "Note: Using single CPU on macOS to prevent memory errors"
BATCH_NOTICE = "Reduced batch size from {old} to {new} for macOS stability"
PATCH_MARK = "__easy_oww_patch__"

_EXPECTED = {
    "_get_melspectrogram_batch": ["self", "x", "batch_size", "ncpu"],
    "_get_embeddings_batch": ["self", "x", "batch_size", "ncpu"],
    "compute_features_from_generator": [
        "generator", "n_total", "clip_duration", "output_file", "device", "ncpu"],
}
_originals: dict[str, Any] = {}
_noticed: set[str] = set()


@dataclass(frozen=True)
class PatchReport:
    """What `apply_patches` did: `patched` names the replaced functions (empty off macOS)."""

    platform: str
    patched: tuple[str, ...]
    already: bool = False

    @property
    def applied(self) -> bool:
        return bool(self.patched)


def is_macos(platform: str | None = None) -> bool:
    """True on macOS; `platform` (a ``sys.platform`` value) overrides the real one."""
    return (platform if platform is not None else sys.platform) == "darwin"


def _notice(text: str) -> None:
    """Log a notice once per process (the patched functions run once per batch)."""
    if text not in _noticed:
        _noticed.add(text)
        log.info(text)


def _cap_batch(batch_size: int) -> int:
    if batch_size > MACOS_BATCH_SIZE:
        _notice(BATCH_NOTICE.format(old=batch_size, new=MACOS_BATCH_SIZE))
        return MACOS_BATCH_SIZE
    return batch_size


def _single_cpu(ncpu: int) -> int:
    if ncpu > 1:
        _notice(SINGLE_CPU_NOTICE)
    return 1


# -- replacements (bodies follow openWakeWord 0.6.0, minus the ThreadPool) -------------
def _get_melspectrogram_batch(self: Any, x: np.ndarray, batch_size: int = 128,
                              ncpu: int = 1) -> np.ndarray:
    batch_size = _cap_batch(batch_size)
    _single_cpu(ncpu)
    n_frames = int(np.ceil(x.shape[1] / 160 - 3))
    melspecs = np.empty((x.shape[0], n_frames, 32), dtype=np.float32)
    for i in range(0, max(batch_size, x.shape[0]), batch_size):
        batch = x[i:i + batch_size]
        if "CUDA" in self.onnx_execution_provider:
            result = self._get_melspectrogram(batch)
        else:
            result = np.array([self._get_melspectrogram(clip) for clip in batch])
        melspecs[i:i + batch_size, :, :] = result.squeeze()
    return melspecs


def _get_embeddings_batch(self: Any, x: np.ndarray, batch_size: int = 128,
                          ncpu: int = 1) -> np.ndarray:
    if x.shape[1] < 76:
        raise ValueError("Embedding model requires the input melspectrograms to have at least 76 frames")
    batch_size = _cap_batch(batch_size)
    _single_cpu(ncpu)
    n_frames = (x.shape[1] - 76) // 8 + 1
    embeddings = np.empty((x.shape[0], n_frames, 96), dtype=np.float32)
    windows: list[np.ndarray] = []
    ndcs: list[int] = []
    for ndx, melspec in enumerate(x):
        for i in range(0, melspec.shape[0], 8):
            window = melspec[i:i + 76]
            if window.shape[0] == 76:
                windows.append(window)
        ndcs.append(ndx)
        if len(windows) >= batch_size or ndx + 1 == x.shape[0]:
            batch = np.array(windows).astype(np.float32)
            if "CUDA" in self.onnx_execution_provider:
                result = self.embedding_model.run(None, {"input_1": batch})[0].squeeze()
            else:
                result = np.array([self._get_embeddings_from_melspec(w) for w in batch])
            for j, ndx2 in zip(range(0, result.shape[0], n_frames), ndcs):
                embeddings[ndx2, :, :] = result[j:j + n_frames]
            windows, ndcs = [], []
    return embeddings


def _progress(items: Iterator[Any], total: int) -> Iterator[Any]:
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return iter(tqdm(items, total=total, desc="Computing features"))


def _store(fp: Any, features: np.ndarray, rows: int, n_total: int) -> int:
    features = features[:n_total - rows]
    fp[rows:rows + features.shape[0], :, :] = features
    fp.flush()
    return rows + int(features.shape[0])


def _make_compute_features(audio_features: Callable[..., Any]) -> Callable[..., None]:
    def compute_features_from_generator(generator: Iterator[np.ndarray], n_total: int,
                                        clip_duration: int, output_file: str,
                                        device: str = "cpu", ncpu: int = 1) -> None:
        from numpy.lib.format import open_memmap

        _single_cpu(ncpu)
        feats = audio_features(device=device)
        n_cols = feats.get_embedding_shape(clip_duration / 16000)
        fp = open_memmap(output_file, mode="w+", dtype=np.float32,
                         shape=(n_total, n_cols[0], n_cols[1]))
        audio_data = next(generator)
        first = audio_data.shape[0]
        if first > n_total:
            raise ValueError(f"The value of 'n_total' ({n_total}) is less than the batch size "
                             f"({first}). Please increase 'n_total' to be >= batch size.")
        batch_size = _cap_batch(first)
        rows = _store(fp, feats.embed_clips(audio_data, batch_size=batch_size, ncpu=1), 0, n_total)
        del audio_data
        gc.collect()
        for audio_data in _progress(generator, n_total // first):
            if rows >= n_total:
                break
            rows = _store(fp, feats.embed_clips(audio_data, batch_size=batch_size, ncpu=1),
                          rows, n_total)
            del audio_data  # free each batch before the next one
            gc.collect()
        del fp  # close the writable map before the file is trimmed
        gc.collect()
        trim_trailing_empty_rows(output_file)

    return compute_features_from_generator


def trim_trailing_empty_rows(path: str | os.PathLike[str], block: int = 1024) -> int:
    """Drop all-zero rows at the end of a .npy file, as openWakeWord's ``trim_mmap`` does.

    Reads through a read-only map and writes the copy with ordinary file writes, then
    renames it into place: no file is resized or rewritten while mapped for writing.
    Returns the number of rows kept.
    """
    src = np.load(path, mmap_mode="r")
    keep = int(src.shape[0])
    while keep > 0 and not np.any(src[keep - 1]):
        keep -= 1
    if keep == src.shape[0]:
        del src
        return keep
    tmp = Path(f"{os.fspath(path)}.trim.tmp")
    with open(tmp, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {
            "descr": np.lib.format.dtype_to_descr(src.dtype), "fortran_order": False,
            "shape": (keep, *src.shape[1:])})
        fh.writelines(np.ascontiguousarray(src[i:min(keep, i + block)]).tobytes()
                      for i in range(0, keep, block))
    del src
    os.replace(tmp, path)
    return keep


# -- applying --------------------------------------------------------------------------
def _check_signature(name: str, func: Any) -> None:
    try:
        params = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        params = []
    if params != _EXPECTED[name]:
        raise EasyOWWError(
            f"openWakeWord's {name} is not the one easy-oww's macOS patches expect "
            f"(parameters {params})",
            "use openwakeword 0.6.0, or easy-oww's own feature extraction (easy-oww train)")


def _upstream() -> tuple[Any, Any]:
    try:
        utils = importlib.import_module("openwakeword.utils")
    except ImportError as exc:
        raise EasyOWWError("openWakeWord is not importable, so there is nothing to patch",
                           "install openwakeword 0.6.0 to use its training utilities") from exc
    audio_features = getattr(utils, "AudioFeatures", None)
    if audio_features is None:
        raise EasyOWWError("openwakeword.utils has no AudioFeatures class",
                           "use openwakeword 0.6.0")
    for name in ("_get_melspectrogram_batch", "_get_embeddings_batch"):
        _check_signature(name, getattr(audio_features, name, None))
    return utils, audio_features


def apply_patches(platform: str | None = None) -> PatchReport:
    """Patch openWakeWord's training utilities for macOS; a no-op elsewhere. Idempotent.

    Raises EasyOWWError when openWakeWord's functions are not the expected ones.
    """
    plat = platform if platform is not None else sys.platform
    if not is_macos(plat):
        log.debug("openWakeWord patches not needed on %s", plat)
        return PatchReport(plat, ())
    utils, audio_features = _upstream()
    if _originals or getattr(audio_features.__dict__.get("_get_embeddings_batch"), PATCH_MARK, False):
        return PatchReport(plat, tuple(_originals), already=True)
    patched: dict[str, tuple[Any, Callable[..., Any]]] = {
        "_get_melspectrogram_batch": (audio_features, _get_melspectrogram_batch),
        "_get_embeddings_batch": (audio_features, _get_embeddings_batch),
    }
    compute = getattr(utils, "compute_features_from_generator", None)
    if compute is not None:  # openwakeword >= 0.5
        _check_signature("compute_features_from_generator", compute)
        patched["compute_features_from_generator"] = (utils, _make_compute_features(audio_features))
    for name, (owner, replacement) in patched.items():
        _originals[name] = (owner, owner.__dict__[name])
        setattr(replacement, PATCH_MARK, True)
        setattr(owner, name, replacement)
    train = sys.modules.get("openwakeword.train")  # it imported the function by name
    if train is not None and "compute_features_from_generator" in patched:
        _originals["train.compute_features_from_generator"] = (train, train.__dict__.get(
            "compute_features_from_generator"))
        train.__dict__["compute_features_from_generator"] = patched[
            "compute_features_from_generator"][1]
    log.debug("patched openWakeWord for macOS: %s", ", ".join(patched))
    return PatchReport(plat, tuple(_originals))


def remove_patches() -> None:
    """Restore openWakeWord's original functions (for tests and long-lived processes)."""
    for name, (owner, original) in list(_originals.items()):
        setattr(owner, name.rsplit(".", 1)[-1], original)
        del _originals[name]
    _noticed.clear()
