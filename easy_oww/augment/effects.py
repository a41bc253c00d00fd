"""Waveform effects: pitch and tempo, another voice, another timbre, microphone/channel EQ,
gain and light distortion.

Where audiomentations is fast enough we run its transforms with parameters drawn from our
own generator (`_run_frozen`): its `randomize_parameters` uses the module-level `random`,
which would break (seed, clip, round) determinism. Where it is too slow for the
augmentation budget (about 1 ms per 2 s clip) we use small numpy/scipy versions:

- PitchShift (librosa phase vocoder, 3.7 ms per 2 s clip measured) and TimeStretch
  (2.9 ms): replaced by soxr resampling plus a numpy WSOLA time stretch (one pass for
  both, ~0.1 ms per 100 ms of speech).
- Butterworth filters (BandPass/HighPass/LowPassFilter: 0.6 ms each, most of it spent
  redesigning the filter on every call) and PeakingFilter: replaced by one scipy
  `sosfilt` over cascaded sections, with designs cached per cutoff (drawn on a 25 Hz grid).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import signal as sps

from easy_oww.augment.ops import match_rms
from easy_oww.contract import SAMPLE_RATE

if TYPE_CHECKING:
    from easy_oww.config import AugmentConfig

EQ_KINDS = ("phone", "far_field", "cheap_mic")
_GRID_HZ = 25.0


# --- pitch and tempo -------------------------------------------------------------------

def pitch_tempo(x: np.ndarray, semitones: float = 0.0, tempo: float = 1.0) -> np.ndarray:
    """Shift pitch by `semitones` and speed up by `tempo` (>1 is faster), independently.

    Resampling by the pitch factor changes pitch and duration together; WSOLA then
    restores (or sets) the duration without changing pitch. Output length:
    round(len(x) / tempo).
    """
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        empty: np.ndarray = x.copy()
        return empty
    factor = 2.0 ** (semitones / 12.0)
    y = x
    if abs(factor - 1.0) > 1e-4:
        import soxr

        y = soxr.resample(x, SAMPLE_RATE * factor, SAMPLE_RATE, quality="MQ").astype(np.float32)
    target = max(1, round(len(x) / tempo))
    return time_stretch(y, len(y) / target)[:target]


def time_stretch(x: np.ndarray, rate: float, *, frame: int = 640,
                 search: int = 160) -> np.ndarray:
    """WSOLA time stretch: `rate` > 1 is faster; output length round(len(x) / rate).

    40 ms Hann frames at 50 % overlap; each frame is taken within +-10 ms of its nominal
    position where it best continues the previous one (coarse search on every 4th sample,
    then refined at full rate), so voiced speech keeps its periods and pitch.
    """
    x = np.asarray(x, dtype=np.float32)
    n_out = max(1, round(len(x) / rate))
    if abs(rate - 1.0) < 1e-4 or len(x) < frame:
        return _fit(x, n_out)
    hs = frame // 2
    ha = hs * rate
    n_frames = (n_out + hs) // hs + 2
    pad = search + frame
    right = pad + frame + hs + max(0, int(np.ceil(n_frames * ha)) - len(x))
    xp = np.concatenate([np.zeros(pad, np.float32), x, np.zeros(right, np.float32)])
    xd = xp[::4]
    w = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame) / frame)).astype(np.float32)
    out = np.zeros(n_frames * hs + frame, dtype=np.float32)
    # Frame k starts at input time k*ha - hs and output time k*hs - hs, so the first
    # output sample already has two overlapping frames (no fade-in).
    prev = pad - hs
    out[:frame] += w * xp[prev:prev + frame]
    span = 2 * search
    for k in range(1, n_frames):
        lo = pad - hs + round(k * ha) - search
        target = xp[prev + hs:prev + hs + frame]
        prev = lo + _best_offset(xp, xd, lo, target, frame, span)
        out[k * hs:k * hs + frame] += w * xp[prev:prev + frame]
    return out[hs:hs + n_out]


def _best_offset(xp: np.ndarray, xd: np.ndarray, lo: int, target: np.ndarray, frame: int,
                 span: int) -> int:
    lo4 = lo // 4
    coarse = np.correlate(xd[lo4:lo4 + (span + frame) // 4], target[::4], "valid")
    j = int(coarse.argmax())
    if coarse[j] <= 0.0:
        return span // 2  # silence (or no match): keep the nominal position
    c = j * 4 + lo4 * 4 - lo
    a, b = max(c - 4, 0), min(c + 4, span)
    fine = np.correlate(xp[lo + a:lo + b + frame], target, "valid")
    return a + int(fine.argmax())


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    return x[:n].copy() if len(x) >= n else np.pad(x, (0, n - len(x)))


# --- another voice -----------------------------------------------------------------------

@dataclass(frozen=True)
class VoiceShift:
    """How often, and how far, an utterance is given another voice: pitch moved by
    `semitones` and formants (the vocal tract's resonances) by a factor within `formant`,
    independently. A woman's voice differs from a man's by about +10 semitones of pitch but
    only x1.15-1.2 in formants; resampling (the pitch step) moves both together. With
    `timbre_probability` an utterance also goes through `timbre` with gains within
    +-`timbre_db` (`timbre_gains`)."""

    probability: float = 0.0
    semitones: tuple[float, float] = (-4.0, 8.0)
    formant: tuple[float, float] = (0.86, 1.2)
    timbre_probability: float = 0.0
    timbre_db: float = 6.0

    @classmethod
    def of(cls, config: AugmentConfig) -> VoiceShift:
        """The `augment` section's voice and timbre steps (for clips and the long negative
        audio)."""
        return cls(config.voice_probability, config.voice_semitones, config.voice_formant,
                   config.timbre_probability, config.timbre_db)

    def draw(self, rng: np.random.Generator) -> tuple[float, float]:
        """(semitones, formant factor): uniform in semitones, log-uniform in formant."""
        st = float(rng.uniform(*self.semitones))
        lo, hi = np.log(self.formant[0]), np.log(self.formant[1])
        return st, float(np.exp(rng.uniform(lo, hi)))

    def timbre_gains(self, rng: np.random.Generator) -> tuple[float, ...] | None:
        """Gains (dB) at `TIMBRE_HZ` for one utterance, or None (no timbre this time). The
        first draw is made even when the timbre is off."""
        if rng.random() >= self.timbre_probability:
            return None
        return tuple(float(g) for g in rng.uniform(-self.timbre_db, self.timbre_db,
                                                   len(TIMBRE_HZ)))

    def key(self) -> dict[str, Any]:
        """For cache keys: empty when it never applies."""
        key: dict[str, Any] = {}
        if self.probability > 0:
            key.update(voice_p=round(self.probability, 4), voice_st=list(self.semitones),
                       voice_formant=list(self.formant))
        if self.timbre_probability > 0:
            key.update(timbre_p=round(self.timbre_probability, 4), timbre_db=self.timbre_db)
        return key


def new_voice(x: np.ndarray, semitones: float, formant: float,
              tempo: float = 1.0) -> np.ndarray:
    """`x` in another voice: formants moved by `formant`, pitch by `semitones`, speed by
    `tempo`. The envelope is warped by formant / pitch factor first, then resampling moves
    pitch and formants together by the pitch factor (`pitch_tempo`, duration restored):
    the envelope needs only frequencies that resampling keeps."""
    y = warp_formants(x, formant / 2.0 ** (semitones / 12.0))
    return pitch_tempo(y, semitones, tempo)


def warp_formants(x: np.ndarray, ratio: float, *, n_fft: int = 512, hop: int = 128,
                  lifter: int = 24) -> np.ndarray:
    """Move the spectral envelope (the formants) by `ratio` along frequency, pitch kept.

    Each 32 ms Hann frame's log magnitude is split into a cepstrally smoothed envelope
    (the first `lifter` quefrencies: 1.5 ms at 16 kHz, shorter than any voice's pitch
    period) and the rest (the harmonics); the envelope is read at f / ratio (its top value
    held above the top) and each frame resynthesised with its own phase by weighted
    overlap-add. The smoothed envelope moves all the way; a resonance sharper than it
    (bandwidth under ~300 Hz) moves most of the way, its peak staying partly in the rest.
    Same length and RMS as `x`; about 1.3 ms per second of audio.
    """
    import scipy.fft as sfft

    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0 or abs(ratio - 1.0) < 1e-3:
        same: np.ndarray = x.copy()
        return same
    pad, n = n_fft // 2, len(x)
    count = int(np.ceil((n + 2 * pad - n_fft) / hop)) + 1
    xp = np.zeros((count - 1) * hop + n_fft, np.float32)
    xp[pad:pad + n] = x
    win = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    spec = sfft.rfft(np.lib.stride_tricks.sliding_window_view(xp, n_fft)[::hop] * win, axis=1)
    cep = sfft.irfft(np.log(np.abs(spec) + np.float32(1e-9)), n=n_fft, axis=1)
    cep[:, lifter:n_fft - lifter + 1] = 0.0
    env = sfft.rfft(cep, axis=1).real
    bins = n_fft // 2 + 1
    src = np.clip(np.arange(bins) / ratio, 0.0, bins - 1.0)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, bins - 1)
    w = (src - lo).astype(np.float32)
    warped = env[:, lo] * (1.0 - w) + env[:, hi] * w
    frames = sfft.irfft(spec * np.exp(warped - env), n=n_fft, axis=1) * win
    y = _overlap_add(frames, hop)[pad:pad + n]
    y /= np.maximum(_overlap_add(np.broadcast_to(win**2, frames.shape), hop)[pad:pad + n], 1e-3)
    rx, ry = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))), float(np.sqrt(np.mean(y**2)))
    if ry > 1e-9:
        y *= rx / ry
    return y.astype(np.float32)


def _overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """Sum of frames (count x size, size a multiple of `hop`) placed `hop` apart."""
    count, size = frames.shape
    k = size // hop
    blocks = np.zeros((count + k - 1, hop), np.float32)
    for j in range(k):
        blocks[j:j + count] += frames[:, j * hop:(j + 1) * hop]
    return blocks.reshape(-1)


# --- EQ: phone band, far field, cheap microphone ----------------------------------------

@functools.lru_cache(maxsize=1024)
def _butter(order: int, cutoff: tuple[float, ...], btype: str) -> np.ndarray:
    wn = cutoff[0] if len(cutoff) == 1 else list(cutoff)
    return np.asarray(sps.butter(order, wn, btype=btype, fs=SAMPLE_RATE, output="sos"))


def _grid(hz: float) -> float:
    """Cutoffs on a 25 Hz grid below 1 kHz, 100 Hz above: ~100 distinct designs in all,
    each designed once per process (scipy's butter() costs 0.4 ms, the filter 0.2 ms)."""
    step = _GRID_HZ if hz < 1000.0 else 4 * _GRID_HZ
    return float(round(hz / step) * step)


def sample_eq(rng: np.random.Generator) -> dict[str, Any]:
    """Parameters for one microphone/channel colouring."""
    kind = EQ_KINDS[int(rng.integers(len(EQ_KINDS)))]
    if kind == "phone":  # narrow-band telephone / VoIP channel
        return {"kind": kind, "low": _grid(rng.uniform(200, 450)),
                "high": _grid(rng.uniform(2900, 3800))}
    if kind == "far_field":  # distance and air absorb highs; small speakers lose lows
        return {"kind": kind, "low": _grid(rng.uniform(60, 150)),
                "high": _grid(rng.uniform(2000, 6000))}
    return {"kind": kind, "low": _grid(rng.uniform(150, 450)),  # cheap electret mic
            "high": _grid(rng.uniform(4500, 7500)), "peak_hz": _grid(rng.uniform(1500, 5000)),
            "peak_db": float(rng.uniform(3.0, 10.0)), "peak_q": float(rng.uniform(0.8, 3.0))}


def apply_eq(x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Filter `x` by parameters from `sample_eq` (level is restored to the input's RMS).

    All sections of one colouring run in a single `sosfilt` call: its cost is mostly
    per call (0.17 ms for one section, 0.2 ms for four on 2 s of audio).
    """
    kind = params["kind"]
    if kind == "phone":
        sos = np.vstack([_butter(4, (params["low"],), "highpass"),
                         _butter(4, (params["high"],), "lowpass")])
    elif kind == "far_field":
        sos = np.vstack([_butter(2, (params["low"],), "highpass"),
                         _butter(2, (params["high"],), "lowpass")])
    elif kind == "cheap_mic":
        sos = np.vstack([_butter(2, (params["low"],), "highpass"),
                         peaking_sos(params["peak_hz"], params["peak_db"], params["peak_q"]),
                         _butter(4, (params["high"],), "lowpass")])
    else:
        raise ValueError(f"unknown EQ kind {kind!r}")
    return _filtered(sos, x)


def _filtered(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """`x` through the cascaded sections `sos` in one `sosfilt` call, at `x`'s RMS level."""
    return match_rms(np.asarray(sps.sosfilt(sos, x), dtype=np.float32), x)


# --- timbre -------------------------------------------------------------------------------

TIMBRE_HZ = (120.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 6400.0)  # octave apart, below 8 kHz
TIMBRE_Q = 1.2  # neighbouring bands overlap, so the envelope stays smooth


def timbre(x: np.ndarray, gains_db: Sequence[float]) -> np.ndarray:
    """`x` through one peaking filter per `TIMBRE_HZ` band with `gains_db`, level restored.

    Reshapes the spectral envelope (how loud each region of a voice is against the others)
    without moving formants or pitch, as a seven-band parametric EQ does."""
    if len(gains_db) != len(TIMBRE_HZ):
        raise ValueError(f"timbre needs {len(TIMBRE_HZ)} gains, got {len(gains_db)}")
    sos = np.vstack([peaking_sos(f, g, TIMBRE_Q) for f, g in zip(TIMBRE_HZ, gains_db)])
    return _filtered(sos, x)


def peaking_sos(center_hz: float, gain_db: float, q: float) -> np.ndarray:
    """One peaking-EQ biquad (RBJ Audio EQ Cookbook) as an sos row.

    The same filter as audiomentations' PeakingFilter, computed here so that it can be
    cascaded with the Butterworth sections in one `sosfilt` call.
    """
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * center_hz / SAMPLE_RATE
    alpha = np.sin(w0) / (2.0 * q)
    b = np.array([1.0 + alpha * a, -2.0 * np.cos(w0), 1.0 - alpha * a])
    den = np.array([1.0 + alpha / a, -2.0 * np.cos(w0), 1.0 - alpha / a])
    return np.concatenate([b / den[0], den / den[0]])[None, :]


# --- distortion ---------------------------------------------------------------------------

def distort(x: np.ndarray, amount: float) -> np.ndarray:
    """Light tanh saturation (audiomentations TanhDistortion; RMS kept)."""
    return _run_frozen("TanhDistortion", x, {"distortion_amount": amount})


# --- audiomentations with our own randomness ---------------------------------------------

def _run_frozen(name: str, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Apply audiomentations transform `name` with exactly `params` (no global RNG).

    A fresh transform per call (construction costs microseconds): no shared mutable
    state, so this is safe from threads too.
    """
    from easy_oww.errors import require

    module = require("audiomentations", "train", "audio augmentation")
    t = getattr(module, name)(p=1.0)
    t.parameters = {"should_apply": True, **params}
    t.freeze_parameters()
    return np.asarray(t(np.asarray(x, dtype=np.float32), SAMPLE_RATE), dtype=np.float32)
