"""Real speech as negative audio: the user's folders of long recordings, and DiPCo.

Text-to-speech cannot stand for people: a model trained and measured on synthetic speech
alone fired on real voices twenty times an hour while its own report read zero. So every
recording of real people that the user has is used twice, on separate parts:

- folders named in `clips.negative_audio_dirs` (podcasts, TV, meetings: any audio that
  soundfile reads; searched recursively): each recording's embedding stream is cut by
  time into a training part (70 %), a validation part (15 %, joins the validation audio
  that picks the checkpoint and threshold) and a test part (15 %, measured on its own line
  of the report, "real speech");
- DiPCo (`easy-oww download dipco`: dinner parties, far-field): test only.

Streams are computed once per file and cached in the workspace (keyed by path, size and
modification time).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww.config import ProjectConfig
from easy_oww.contract import EMBEDDING_DIM, MODEL_INPUT_FRAMES
from easy_oww.errors import EasyOWWError
from easy_oww.progress import ProgressFn
from easy_oww.project import AUDIO_GLOBS
from easy_oww.workspace import Workspace

log = logging.getLogger(__name__)

SHARES = (0.70, 0.15, 0.15)  # training, validation, test part of each recording (by time)
PARTS = ("train", "val", "test")


@dataclass
class RealSpeech:
    """Embedding streams ([frames, 96]) of real speech per part, and what they came from."""

    streams: dict[str, list[np.ndarray]] = field(
        default_factory=lambda: {p: [] for p in PARTS})
    sources: list[str] = field(default_factory=list)

    def stream(self, part: str) -> np.ndarray:
        parts = self.streams[part]
        if not parts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)


def folder_files(folders: Sequence[str | Path]) -> list[Path]:
    """Every audio file under the folders (recursive, sorted); a missing folder is an error."""
    out: list[Path] = []
    for folder in folders:
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise EasyOWWError(f"clips.negative_audio_dirs: {root} is not a folder",
                               "fix the path in config.yaml, or remove it from the list")
        found = sorted(p for g in AUDIO_GLOBS for p in root.rglob(g) if p.is_file())
        if not found:
            log.warning("no audio files (%s) in %s", ", ".join(AUDIO_GLOBS), root)
        out.extend(found)
    return out


def files_key(config: ProjectConfig, ws: Workspace) -> list[Any]:
    """What the real speech depends on: each file by path, size and modification time."""
    from easy_oww.datasets import dipco_audio

    files = folder_files(config.clips.negative_audio_dirs) + list(dipco_audio(ws))
    return [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in files]


def split_stream(stream: np.ndarray) -> dict[str, np.ndarray]:
    """A recording's stream cut by time into training, validation and test parts."""
    n = len(stream)
    a = round(n * SHARES[0])
    b = a + round(n * SHARES[1])
    return {"train": stream[:a], "val": stream[a:b], "test": stream[b:]}


def real_speech(ws: Workspace, config: ProjectConfig, *,
                progress: ProgressFn | None = None) -> RealSpeech:
    """The user's real speech, split per recording; DiPCo (when downloaded) for testing."""
    from easy_oww.negative_audio import cached_long_audio, dipco_parts

    out = RealSpeech()
    files = folder_files(config.clips.negative_audio_dirs)
    cache = ws.cache / "negative_audio" / "folders"
    for i, f in enumerate(files):
        feats = np.asarray(cached_long_audio(f, cache).load_features(), dtype=np.float32)
        for part, piece in split_stream(feats).items():
            if len(piece) >= MODEL_INPUT_FRAMES:
                out.streams[part].append(piece)
        if progress:
            progress("real speech", i + 1, len(files))
    if files:
        out.sources.append(f"{len(files)} recordings in "
                           + ", ".join(str(d) for d in config.clips.negative_audio_dirs))
    dipco = dipco_parts(ws, progress=progress)
    for p in dipco:
        out.streams["test"].append(np.asarray(p.load_features(), dtype=np.float32))
    if dipco:
        out.sources.append(f"DiPCo ({sum(p.hours for p in dipco):.1f} h)")
    return out
