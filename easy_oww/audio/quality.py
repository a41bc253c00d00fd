"""Quality checks for recorded or imported clips, returning structured findings.

Used by recording (a plain explanation after each take) and import (a refusal reason).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from easy_oww.contract import SAMPLE_RATE


class Severity(str, enum.Enum):
    ok = "ok"
    warning = "warning"
    error = "error"


@dataclass(frozen=True)
class Finding:
    code: str  # too_short, too_long, too_quiet, too_loud, clipped, silent, low_snr
    severity: Severity
    message: str


@dataclass(frozen=True)
class QualityThresholds:
    min_duration_s: float = 0.3
    max_duration_s: float = 10.0
    min_peak_dbfs: float = -35.0  # quieter than this peak: too quiet
    max_rms_dbfs: float = -3.0  # louder than this RMS: too loud
    clip_fraction: float = 0.001  # share of samples at full scale counted as clipping
    min_active_fraction: float = 0.1  # share of 20 ms frames with speech-like energy
    min_snr_db: float = 10.0  # below: a warning (noisy but usable)
    min_speech_snr_db: float = 3.0  # below: no speech distinguishable from the noise


@dataclass(frozen=True)
class QualityReport:
    duration_s: float
    peak_dbfs: float
    rms_dbfs: float
    clipped_fraction: float
    active_fraction: float
    snr_db: float
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.error for f in self.findings)

    @property
    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    def summary(self) -> str:
        if not self.findings:
            return "good"
        return "; ".join(f.message for f in self.findings)


def _db(x: float) -> float:
    return float(20.0 * np.log10(max(x, 1e-10)))


def frame_energies_db(audio: np.ndarray, sr: int = SAMPLE_RATE, frame_ms: int = 20) -> np.ndarray:
    """RMS level in dBFS of consecutive frames."""
    x = audio.astype(np.float64) / 32768.0
    n = max(1, sr * frame_ms // 1000)
    count = len(x) // n
    if count == 0:
        return np.array([_db(float(np.sqrt(np.mean(x**2)))) if len(x) else -200.0])
    frames = x[: count * n].reshape(count, n)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    out: np.ndarray = 20.0 * np.log10(np.maximum(rms, 1e-10))
    return out


def check_quality(audio: np.ndarray, sr: int = SAMPLE_RATE,
                  thresholds: QualityThresholds | None = None) -> QualityReport:
    """Measure duration, level, clipping, silence and rough SNR of int16 `audio`."""
    t = thresholds or QualityThresholds()
    a = np.asarray(audio)
    if a.dtype != np.int16:
        raise TypeError("check_quality expects int16 audio")
    dur = len(a) / sr
    x = a.astype(np.float64) / 32768.0
    peak = _db(float(np.max(np.abs(x)))) if len(x) else -200.0
    rms = _db(float(np.sqrt(np.mean(x**2)))) if len(x) else -200.0
    clipped = float(np.mean(np.abs(a.astype(np.int32)) >= 32767)) if len(a) else 0.0
    energies = frame_energies_db(a, sr)
    noise_floor = float(np.percentile(energies, 10))
    speech_level = float(np.percentile(energies, 95))
    snr = speech_level - noise_floor
    # A frame is active when it is nearer the speech level than the floor (so the share of
    # active frames means the same at any SNR) and not digital silence.
    active = float(np.mean((energies > noise_floor + 0.5 * snr) & (energies > -60.0)))

    findings: list[Finding] = []

    def add(code: str, sev: Severity, msg: str) -> None:
        findings.append(Finding(code, sev, msg))

    if dur < t.min_duration_s:
        add("too_short", Severity.error,
            f"too short ({dur:.2f} s; at least {t.min_duration_s:.1f} s needed)")
    if dur > t.max_duration_s:
        add("too_long", Severity.error,
            f"too long ({dur:.1f} s; at most {t.max_duration_s:.0f} s)")
    if peak < -90.0:
        add("silent", Severity.error, "silent: no sound was captured (check the microphone)")
    elif peak < t.min_peak_dbfs:
        add("too_quiet", Severity.error,
            f"too quiet (peak {peak:.0f} dBFS): speak closer or raise the input gain")
    elif snr < t.min_speech_snr_db:
        add("low_snr", Severity.error,
            f"no clear speech above the background noise ({snr:.0f} dB): find a quieter place")
    elif snr < t.min_snr_db:
        add("low_snr", Severity.warning,
            f"noisy (speech only {snr:.0f} dB above the background): find a quieter place")
    elif active < t.min_active_fraction:
        add("silent", Severity.error, "mostly silence: no clear speech was found")
    if rms > t.max_rms_dbfs:
        add("too_loud", Severity.error,
            f"too loud (level {rms:.0f} dBFS): move back or lower the input gain")
    if clipped > t.clip_fraction:
        add("clipped", Severity.error,
            f"clipped ({clipped:.1%} of samples at full scale): lower the input gain")
    return QualityReport(dur, peak, rms, clipped, active, snr, tuple(findings))
