"""Live microphone test: read 80 ms frames from an audio source, detect, summarise.

The source is a small Protocol (`AudioSource`) made by `open_audio_source`: an input
stream of `easy_oww.recording.device` (``sounddevice``, extra ``mic``; tests use the fake
backend of `easy_oww.recording.fake`). Other front ends pass their own source (a file, a
fake stream). No microphone or no PortAudio library is a one-line `DeviceError`
suggesting ``easy-oww eval`` with recorded files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from easy_oww.contract import FRAME_MS, FRAME_SAMPLES
from easy_oww.errors import DeviceError
from easy_oww.evaluate.detector import Detection, Detector

if TYPE_CHECKING:
    from easy_oww.recording.device import AudioBackend

log = logging.getLogger(__name__)

FILES_HINT = "test with recorded files instead: easy-oww eval NAME --audio FILE [--positives DIR]"


class AudioSource(Protocol):
    """A mono 16 kHz int16 input stream."""

    def read(self, frames: int) -> np.ndarray:
        """Block until `frames` samples are available and return them (int16, 1-D)."""
        ...

    def close(self) -> None: ...


def open_audio_source(device: str | int | None = None, *,
                      backend: AudioBackend | None = None) -> AudioSource:
    """The microphone `device` (index or part of a name; None: the default) opened through
    `easy_oww.recording.device`, the backend `record` uses too (tests pass a fake one)."""
    from easy_oww.recording import device as device_mod

    try:
        be = backend or device_mod.get_backend()
        info = device_mod.resolve_device(be.list_devices(), device)
        return be.open_input(info.index if info is not None else None)
    except DeviceError as exc:  # the live test suggests recorded files instead of `import`
        raise DeviceError(exc.message, (exc.hint or "").replace(device_mod.IMPORT_INSTEAD,
                                                                FILES_HINT)) from None


@dataclass(frozen=True)
class LiveFrame:
    """One processed 80 ms frame: its end time in the session, score, any detection."""

    time_s: float
    score: float
    detection: Detection | None


@dataclass
class LiveSummary:
    threshold: float
    seconds: float = 0.0
    frames: int = 0
    max_score: float = 0.0
    detections: list[Detection] = field(default_factory=list)
    interrupted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "seconds": round(self.seconds, 2),
                "frames": self.frames, "max_score": self.max_score,
                "detections": [{"time_s": d.time_s, "score": d.score} for d in self.detections],
                "interrupted": self.interrupted}


def run_live(detector: Detector, source: AudioSource, *, duration_s: float | None,
             on_frame: Callable[[LiveFrame], None] | None = None,
             clock: Callable[[], float] = time.monotonic) -> LiveSummary:
    """Detect on `source` until `duration_s` of audio was read (None: until Ctrl-C).

    Ctrl-C (KeyboardInterrupt) ends the session normally: the summary says
    ``interrupted=True``. The source is always closed.
    """
    detector.reset()
    summary = LiveSummary(threshold=detector.threshold)
    limit = None if duration_s is None else round(duration_s * 1000 / FRAME_MS)
    started = clock()
    try:
        while limit is None or summary.frames < limit:
            chunk = source.read(FRAME_SAMPLES)
            if chunk.size == 0:
                break  # the source ended (a file, a closed stream)
            for det in _frames(detector, chunk, summary, on_frame):
                summary.detections.append(det)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        source.close()
    summary.seconds = summary.frames * FRAME_MS / 1000.0
    log.debug("live test: %d frames in %.1f s wall", summary.frames, clock() - started)
    return summary


def _frames(detector: Detector, chunk: np.ndarray, summary: LiveSummary,
            on_frame: Callable[[LiveFrame], None] | None) -> list[Detection]:
    before = detector.frames
    found = detector.process(np.asarray(chunk, dtype=np.int16))
    by_frame = {d.frame: d for d in found}
    for i in range(before, detector.frames):
        score = detector.scores[i] if i < len(detector.scores) else 0.0
        summary.frames += 1
        summary.max_score = max(summary.max_score, float(score))
        if on_frame is not None:
            on_frame(LiveFrame((i + 1) * FRAME_MS / 1000.0, float(score), by_frame.get(i)))
    return found
