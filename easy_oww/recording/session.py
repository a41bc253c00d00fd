"""A guided recording session, independent of the terminal.

The caller (the CLI, or a test) drives it: `capture()` records and checks one take without
writing anything; `accept(take)` saves it under the next free number; `skip()` and
`rerecord()` only count. A take is never on disk before it is accepted, so an interrupt
(Ctrl-C) leaves only whole, accepted files behind.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from easy_oww.audio.io import save_wav
from easy_oww.audio.quality import QualityThresholds
from easy_oww.contract import SAMPLE_RATE
from easy_oww.errors import EasyOWWError
from easy_oww.fsutil import remove_stale_temps
from easy_oww.recording.device import InputStream, LevelFn
from easy_oww.recording.validate import ClipCheck, check_clip

log = logging.getLogger(__name__)

NUMBERED_RE = re.compile(r"^(\d{4,})\.wav$")


def highest_number(folder: Path) -> int:
    """The largest N among files named NNNN.wav in `folder` (0 when there are none)."""
    if not folder.is_dir():
        return 0
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := NUMBERED_RE.match(p.name))]
    return max(numbers, default=0)


def next_free_path(folder: Path) -> Path:
    """recordings/0001.wav, 0002.wav, ... continuing after the highest existing number."""
    n = highest_number(folder) + 1
    while True:
        path = folder / f"{n:04d}.wav"
        if not path.exists():
            return path
        n += 1


@dataclass(frozen=True)
class Take:
    """One recorded take: the raw audio, its check, and what would be saved."""

    number: int  # 1-based position in this session
    audio: np.ndarray
    check: ClipCheck
    prompt: str = ""

    @property
    def ok(self) -> bool:
        return self.check.ok

    @property
    def to_save(self) -> np.ndarray:
        return self.check.trimmed


@dataclass
class SessionSummary:
    folder: Path
    saved: list[Path] = field(default_factory=list)
    rerecorded: int = 0
    skipped: int = 0
    failed_checks: int = 0
    interrupted: bool = False

    @property
    def accepted(self) -> int:
        return len(self.saved)

    def describe(self) -> str:
        text = (f"{self.accepted} take{'s' if self.accepted != 1 else ''} saved to "
                f"{self.folder}, {self.rerecorded} re-recorded, {self.skipped} skipped")
        if self.failed_checks:
            text += f", {self.failed_checks} failed the quality check"
        if self.interrupted:
            text += " (interrupted; every accepted take is kept)"
        return text


class RecordingSession:
    """Record `count` takes of `duration_s` seconds into `folder`."""

    def __init__(self, folder: Path, stream: InputStream, *, duration_s: float = 3.0,
                 thresholds: QualityThresholds | None = None) -> None:
        if not 0.5 <= duration_s <= 10.0:
            raise EasyOWWError(f"take duration {duration_s:g} s is out of range",
                               "use --duration between 0.5 and 10 seconds")
        self.folder = folder
        self.stream = stream
        self.duration_s = duration_s
        self.thresholds = thresholds
        self.summary = SessionSummary(folder)
        folder.mkdir(parents=True, exist_ok=True)
        removed = remove_stale_temps(folder)
        if removed:
            log.debug("removed %d unfinished temporary file(s) in %s", removed, folder)

    def capture(self, number: int, on_level: LevelFn | None = None, prompt: str = "") -> Take:
        """Record and check one take; nothing is written."""
        audio = np.asarray(self.stream.record(self.duration_s, on_level), dtype=np.int16)
        check = check_clip(audio, getattr(self.stream, "samplerate", SAMPLE_RATE),
                           self.thresholds)
        if not check.ok:
            self.summary.failed_checks += 1
        return Take(number, audio, check, prompt)

    def play(self, take: Take) -> None:
        self.stream.play(take.to_save)

    def accept(self, take: Take) -> Path:
        """Save the take (trimmed) atomically under the next free number."""
        if not take.ok:
            raise EasyOWWError("this take failed the quality check and cannot be kept: "
                               + take.check.report.summary(), "record it again")
        path = next_free_path(self.folder)
        save_wav(path, take.to_save)
        self.summary.saved.append(path)
        log.debug("saved %s (%.2f s)", path, len(take.to_save) / SAMPLE_RATE)
        return path

    def rerecord(self) -> None:
        self.summary.rerecorded += 1

    def skip(self) -> None:
        self.summary.skipped += 1

    def close(self, interrupted: bool = False) -> SessionSummary:
        self.summary.interrupted = interrupted
        try:
            self.stream.close()
        except Exception as exc:  # noqa: BLE001 - closing must not hide the summary
            log.debug("closing the audio stream failed: %s", exc)
        return self.summary
