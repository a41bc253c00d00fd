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

The folders' audio is also heard behind clips (`talker_tracks`): a real talker, as a
television or a meeting is, behind wake words and negative clips alike, cut from each
recording's training part for training and from its validation part for held-out clips.

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
from easy_oww.contract import EMBEDDING_DIM, MODEL_INPUT_FRAMES, SAMPLE_RATE
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

    return folder_key(config) + _file_ids(dipco_audio(ws))


def folder_key(config: ProjectConfig) -> list[Any]:
    """The folders' files by path, size and modification time (what `talker_tracks` reads)."""
    return _file_ids(folder_files(config.clips.negative_audio_dirs))


def _file_ids(files: Sequence[Path]) -> list[Any]:
    return [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in files]


TALKER_PIECE_SECONDS = 20.0  # one stretch of one recording; a track joins several
TALKER_RMS = 0.1  # the active RMS every stretch is scaled to


def talker_tracks(config: ProjectConfig, part: str, *, tracks: int, seconds: float,
                  seed: int) -> list[np.ndarray]:
    """`tracks` noise tracks of `seconds` each (float32 at 16 kHz), cut from `part`
    ("train" or "val") of the folders' recordings, the same stretch by time that
    `split_stream` gives that part: stretches of up to TALKER_PIECE_SECONDS from recordings
    drawn by that part's length, each scaled to TALKER_RMS, joined end to end. None when
    the folders are empty or hold no such part."""
    from easy_oww.audio.io import load_audio
    from easy_oww.augment.ops import active_rms, as_float
    from easy_oww.rng import item_rng

    index = PARTS.index(part)
    lo, hi = sum(SHARES[:index]), sum(SHARES[:index + 1])
    spans = []  # a second inside each end: no stretch reaches into the next part
    for f in folder_files(config.clips.negative_audio_dirs):
        length = _seconds(f)
        a, b = lo * length + 1.0, hi * length - 1.0
        if b - a >= 1.0:
            spans.append((f, a, b))
    if not spans:
        return []
    weights = np.array([b - a for _, a, b in spans])
    weights /= weights.sum()
    out = []
    for i in range(tracks):
        rng = item_rng(seed, f"talker-{part}-{i}", 0, stream="sources")
        track, filled = np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32), 0
        while filled < len(track):
            f, a, b = spans[int(rng.choice(len(spans), p=weights))]
            take = min(TALKER_PIECE_SECONDS, b - a, (len(track) - filled) / SAMPLE_RATE)
            start = a + float(rng.uniform(0.0, b - a - take))
            piece = as_float(load_audio(f, start_s=start, seconds=take))[: len(track) - filled]
            level = active_rms(piece)
            if level > 0:
                track[filled: filled + len(piece)] = piece * (TALKER_RMS / level)
            filled += max(len(piece), 1)
        out.append(track)
    return out


def _seconds(path: Path) -> float:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise EasyOWWError(f"cannot read audio file {path}: {exc}",
                           "re-export it as WAV or FLAC, or move it out of "
                           "clips.negative_audio_dirs") from None
    return float(info.frames) / float(info.samplerate)


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
