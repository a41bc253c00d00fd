"""Embedding streams of long audio files, computed once and cached (user recordings,
DiPCo sessions); the npy encoding every cached stream uses."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from easy_oww.audio.io import load_audio
from easy_oww.contract import FRAME_SAMPLES, SAMPLE_RATE
from easy_oww.fsutil import atomic_write_bytes, stable_hash
from easy_oww.negative_audio.types import LongAudio
from easy_oww.progress import ProgressFn
from easy_oww.workspace import Workspace

if TYPE_CHECKING:
    from easy_oww.features.frontend import FrontEnd

VERSION = 2
"""Version of everything cached under ``cache/negative_audio/`` (generated chunks and file
streams): bump it when the generated audio or a stream changes, to invalidate the caches."""


def npy_bytes(array: np.ndarray) -> bytes:
    """`array` as float32 .npy file bytes (written atomically by the callers)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array, dtype=np.float32))
    return buf.getvalue()


def stream_features(audio: np.ndarray, frontend: FrontEnd | None) -> np.ndarray:
    """The embedding stream of 16 kHz audio ([frames, 96]), with a new front end if none."""
    from easy_oww.features.frontend import FrontEnd
    from easy_oww.features.streaming import stream_embeddings

    out: np.ndarray = stream_embeddings(audio, frontend if frontend is not None else FrontEnd())
    return out


def cached_long_audio(path: Path, cache_dir: Path, *, frontend: FrontEnd | None = None,
                      name: str | None = None, kind: str = "file") -> LongAudio:
    """`path`'s embedding stream, computed once and cached by (path, size, mtime)."""
    path = Path(path)
    st = path.stat()
    key = stable_hash({"v": VERSION, "path": str(path.resolve()), "size": st.st_size,
                       "mtime": st.st_mtime_ns})
    feats = Path(cache_dir) / f"{path.stem}.{key}.npy"
    if not feats.is_file():
        audio = load_audio(path)
        atomic_write_bytes(feats, npy_bytes(stream_features(audio, frontend)))
    frames = int(np.load(feats, mmap_mode="r").shape[0])
    return LongAudio(name or path.name, path, feats, frames * FRAME_SAMPLES / SAMPLE_RATE / 3600,
                     kind)


def one_device_per_session(files: Sequence[Path]) -> list[Path]:
    """DiPCo records each dinner with several devices at once: keep the first device of
    each session ("S01_U01.CH1.wav" -> session "S01") so no conversation counts twice."""
    chosen: dict[str, Path] = {}
    for f in sorted(files):
        session = f.name.split("_U", 1)[0] if "_U" in f.name else f.stem
        chosen.setdefault(session, f)
    return list(chosen.values())


def dipco_parts(workspace: Workspace, *, frontend: FrontEnd | None = None,
                progress: ProgressFn | None = None) -> list[LongAudio]:
    """DiPCo far-field sessions as long negative audio, when the dataset is downloaded
    (none otherwise)."""
    from easy_oww.datasets import dipco_audio

    files = one_device_per_session(dipco_audio(workspace))
    out = []
    for i, f in enumerate(files):
        out.append(cached_long_audio(f, workspace.cache / "negative_audio" / "dipco",
                                     frontend=frontend, name=f"dipco/{f.name}",
                                     kind="dipco"))
        if progress:
            progress("DiPCo features", i + 1, len(files))
    return out
