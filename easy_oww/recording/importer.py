"""`import`: bring existing audio files into a project's recordings.

Each file (folders are searched recursively) is decoded in any supported format,
converted to 16 kHz mono int16, quality-checked, trimmed of leading/trailing silence and
saved as the next numbered WAV. Files with the same sound as one already taken (in this
run or earlier, compared by a sha256 of the samples) are skipped. Nothing is printed: the
result lists what was taken and why anything was refused.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from easy_oww.audio.io import (
    SUPPORTED_EXTENSIONS,
    channels_cancel,
    load_audio,
    save_wav,
    wav_truncation,
)
from easy_oww.audio.quality import QualityThresholds
from easy_oww.contract import SAMPLE_RATE
from easy_oww.errors import AudioError
from easy_oww.fsutil import disk_space, remove_stale_temps
from easy_oww.progress import ProgressFn
from easy_oww.recording.session import next_free_path
from easy_oww.recording.validate import check_clip, content_hash
from easy_oww.workspace import ProjectPaths

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Taken:
    source: Path
    saved: Path
    duration_s: float
    note: str = ""  # e.g. "trimmed 1.2 s of silence; noisy (...)"


@dataclass(frozen=True)
class Refused:
    source: Path
    code: str  # not_found, symlink_loop, empty, unreadable, unsupported, truncated,
    # channels_cancel, duplicate, too_short, ...
    reason: str


@dataclass(frozen=True)
class ImportResult:
    folder: Path
    taken: tuple[Taken, ...]
    refused: tuple[Refused, ...]

    @property
    def ok(self) -> bool:
        return bool(self.taken)


def iter_candidates(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[Path, str | None]]:
    """(path, problem) for every file named or found in a named folder (sorted, recursive).

    Hidden files are skipped inside folders; a missing path yields problem 'not_found'.
    """
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if (f.is_file() or _is_symlink_loop(f))
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            if not found:
                yield p, "empty_folder"
            for f in found:
                yield f, "symlink_loop" if _is_symlink_loop(f) else None
        elif p.exists():
            yield p, None
        else:
            yield p, "symlink_loop" if _is_symlink_loop(p) else "not_found"


def _is_symlink_loop(p: Path) -> bool:
    try:
        os.stat(p)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def existing_hashes(folder: Path) -> dict[str, Path]:
    """Content hashes of the audio already in `folder` (unreadable files are ignored)."""
    hashes: dict[str, Path] = {}
    if not folder.is_dir():
        return hashes
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.suffix.lower() in SUPPORTED_EXTENSIONS and not f.name.startswith("."):
            try:
                hashes.setdefault(content_hash(load_audio(f)), f)
            except AudioError as exc:
                log.debug("ignoring unreadable %s: %s", f, exc.message)
    return hashes


def _load(path: Path) -> np.ndarray | Refused:
    """The decoded samples, or the reason the file cannot be used."""
    try:
        if path.stat().st_size == 0:
            return Refused(path, "empty", "empty file (0 bytes)")
        with open(path, "rb"):
            pass
    except OSError as exc:
        return Refused(path, "unreadable", f"cannot be read: {exc.strerror or exc}")
    cut = wav_truncation(path)
    if cut is not None:
        return Refused(path, "truncated",
                       f"truncated file: the header promises {cut[0]:.2f} s, the file holds "
                       f"{cut[1]:.2f} s (an interrupted copy or download?): export it again")
    if channels_cancel(path):
        return Refused(path, "channels_cancel",
                       "the stereo channels cancel out when mixed to mono (one is "
                       "phase-inverted): fix the wiring, or export one channel only")
    try:
        return load_audio(path)
    except AudioError as exc:
        ext = path.suffix.lower()
        if ext not in SUPPORTED_EXTENSIONS:
            shown = ext or "no extension"
            return Refused(path, "unsupported",
                                 f"not a supported audio format ({shown}); use "
                                 + ", ".join(SUPPORTED_EXTENSIONS))
        return Refused(path, "unreadable", f"cannot be decoded (corrupt?): {exc.message}")


_PROBLEMS = {"not_found": "not found (check the path)",
             "symlink_loop": "a symbolic link that points back to itself (a loop): "
                             "point it at the real file",
             "empty_folder": "folder has no files"}


def import_audio(project_paths: ProjectPaths, paths: Iterable[str | os.PathLike[str]], *,
                 negative: bool = False, thresholds: QualityThresholds | None = None,
                 progress: ProgressFn | None = None) -> ImportResult:
    """Import `paths` into recordings/ (or recordings_negative/ when `negative`)."""
    folder = project_paths.negative_recordings if negative else project_paths.recordings
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder)
    candidates = list(iter_candidates(paths))
    seen = existing_hashes(folder)
    taken: list[Taken] = []
    refused: list[Refused] = []
    total = len(candidates)
    need = sum(import_bytes(p) for p, problem in candidates if problem is None)
    with disk_space(folder, need, "import"):
        for done, (path, problem) in enumerate(candidates, 1):
            if problem is not None:
                refused.append(Refused(path, problem, _PROBLEMS[problem]))
            else:
                outcome = _import_one(path, folder, seen, thresholds)
                if isinstance(outcome, Taken):
                    taken.append(outcome)
                else:
                    refused.append(outcome)
            if progress is not None:
                progress("import", done, total)
    log.debug("imported %d file(s) into %s; refused %d", len(taken), folder, len(refused))
    return ImportResult(folder, tuple(taken), tuple(refused))


def import_bytes(path: Path) -> int:
    """About what importing `path` writes: its length as 16 kHz mono int16 (read from the
    header), or twice the file's size when the header says nothing."""
    try:
        import soundfile as sf

        info = sf.info(str(path))
        return int(info.frames / max(1, info.samplerate) * SAMPLE_RATE) * 2 + 44
    except Exception:  # noqa: BLE001 - any format soundfile cannot read: a size bound
        try:
            return 2 * path.stat().st_size
        except OSError:
            return 0


def _import_one(path: Path, folder: Path, seen: dict[str, Path],
                thresholds: QualityThresholds | None) -> Taken | Refused:
    audio = _load(path)
    if isinstance(audio, Refused):
        return audio
    whole_hash = content_hash(audio)
    if whole_hash in seen:
        return Refused(path, "duplicate", f"duplicate of {seen[whole_hash].name}")
    check = check_clip(audio, SAMPLE_RATE, thresholds)
    error = check.first_error
    if error is not None:
        return Refused(path, error.code, error.message)
    trimmed_hash = content_hash(check.trimmed)
    if trimmed_hash in seen:
        return Refused(path, "duplicate", f"duplicate of {seen[trimmed_hash].name}")
    target = next_free_path(folder)
    save_wav(target, check.trimmed)
    seen[whole_hash] = seen[trimmed_hash] = target
    notes = []
    cut = (len(audio) - len(check.trimmed)) / SAMPLE_RATE
    if cut >= 0.05:
        notes.append(f"trimmed {cut:.1f} s of silence")
    notes += [w.message for w in check.warnings]
    return Taken(path, target, len(check.trimmed) / SAMPLE_RATE, "; ".join(notes))
