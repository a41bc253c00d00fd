"""Checks shared by recording and import: quality, silence trimming, content hashes.

Level, clipping, silence and noise are measured on the whole take (the silence around the
speech gives the background level); length is judged on the speech that is left after
trimming, so a 3-second take with a 0.1-second click is "too short", not "fine".
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np

from easy_oww.audio.quality import (
    Finding,
    QualityReport,
    QualityThresholds,
    Severity,
    check_quality,
    frame_energies_db,
)
from easy_oww.contract import SAMPLE_RATE

FRAME_MS = 20
PAD_S = 0.25  # silence kept on each side of the speech after trimming


@dataclass(frozen=True)
class ClipCheck:
    """The verdict on one take or file, and the trimmed audio to keep when `ok`."""

    report: QualityReport
    trimmed: np.ndarray
    speech_s: float

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def first_error(self) -> Finding | None:
        return next((f for f in self.report.findings if f.severity is Severity.error), None)

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.report.findings if f.severity is Severity.warning]


def speech_span(audio: np.ndarray, sr: int = SAMPLE_RATE) -> tuple[int, int] | None:
    """Sample range [start, end) from the first to the last speech-loud frame, or None.

    A frame counts when it is above -60 dBFS, within 35 dB of the loudest frame and
    6 dB above the background (10th-percentile frame level).
    """
    energies = frame_energies_db(audio, sr, FRAME_MS)
    if len(audio) == 0 or energies.size == 0:
        return None
    floor = float(np.percentile(energies, 10))
    threshold = max(-60.0, float(energies.max()) - 35.0, floor + 6.0)
    active = np.flatnonzero(energies > threshold)
    if active.size == 0:
        return None
    n = sr * FRAME_MS // 1000
    return int(active[0]) * n, min(len(audio), (int(active[-1]) + 1) * n)


def trim_silence(audio: np.ndarray, sr: int = SAMPLE_RATE, pad_s: float = PAD_S) -> np.ndarray:
    """`audio` without leading/trailing silence, keeping `pad_s` seconds around speech."""
    span = speech_span(audio, sr)
    if span is None:
        return audio
    pad = round(pad_s * sr)
    return audio[max(0, span[0] - pad): min(len(audio), span[1] + pad)]


def check_clip(audio: np.ndarray, sr: int = SAMPLE_RATE,
               thresholds: QualityThresholds | None = None) -> ClipCheck:
    """Quality-check int16 `audio` and trim it; see the module docstring."""
    t = thresholds or QualityThresholds()
    whole = check_quality(audio, sr, dataclasses.replace(t, min_duration_s=0.0,
                                                         max_duration_s=float("inf")))
    span = speech_span(audio, sr)
    speech_s = 0.0 if span is None else (span[1] - span[0]) / sr
    trimmed = trim_silence(audio, sr) if span is not None else audio
    findings = list(whole.findings)
    if span is not None and whole.peak_dbfs >= -90.0:
        # "mostly silence" does not matter once the silence is trimmed; how much speech
        # there is, is judged below ("too short").
        findings = [f for f in findings if f.code != "silent"]
    extra: list[Finding] = []
    if len(audio) < t.min_duration_s * sr and whole.peak_dbfs >= -90.0:
        # the whole file is shorter than a phrase (a 1 ms beep): that is the cause, not
        # "noise" (it has no background to compare with) or "silence"
        findings = [f for f in findings if f.code not in ("low_snr", "silent")]
        speech_s = min(speech_s, len(audio) / sr) if span is not None else len(audio) / sr
    if span is not None and speech_s < t.min_duration_s and _contrast_db(audio, sr) >= 20.0:
        # A clear but brief sound: whole-take statistics call it "noise"; the plain
        # explanation is that it is too short.
        findings = [f for f in findings if f.code != "low_snr"]
    if not any(f.severity is Severity.error for f in findings) and speech_s < t.min_duration_s:
        extra.append(Finding("too_short", Severity.error,
                             f"too short ({_seconds(speech_s)} of sound; at least "
                             f"{t.min_duration_s:.1f} s needed)"))
    if len(trimmed) / sr > t.max_duration_s:
        extra.append(Finding("too_long", Severity.error,
                             f"too long ({len(trimmed) / sr:.1f} s of sound; at most "
                             f"{t.max_duration_s:.0f} s): cut it into shorter clips"))
    report = dataclasses.replace(whole, duration_s=len(audio) / sr,
                                 findings=tuple(extra + findings))
    return ClipCheck(report, np.ascontiguousarray(trimmed, dtype=np.int16), speech_s)


def _seconds(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 0.1 else f"{s:.2f} s"


def _contrast_db(audio: np.ndarray, sr: int) -> float:
    """Loudest 20 ms frame above the background (10th-percentile frame), in dB."""
    energies = frame_energies_db(audio, sr, FRAME_MS)
    return float(energies.max() - np.percentile(energies, 10))


def content_hash(audio: np.ndarray) -> str:
    """sha256 of the int16 little-endian samples (same sound -> same hash, any file)."""
    return hashlib.sha256(np.ascontiguousarray(audio, dtype="<i2").tobytes()).hexdigest()
