"""The wake-word specific steps: placement in the window, mixing at an SNR, room reverb.

All functions work on float32 audio in [-1, 1] (int16 input is scaled by 1/32768), take
their randomness as an explicit `np.random.Generator`, and never touch the global RNG.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from easy_oww.contract import SAMPLE_RATE

_ACTIVE_FRAME = 320  # 20 ms frames for the speech-activity measure
_ACTIVE_FLOOR_DB = -40.0  # frames this far below the loudest one count as silence
_SILENT_RMS = 1e-6
_NOMINAL_SPEECH_RMS = 0.1  # -20 dBFS: the level noise is set against when there is no speech
DIRECT_PATH_FRACTION = 0.5  # the direct path: first RIR sample reaching half the peak


def as_float(audio: np.ndarray) -> np.ndarray:
    """float32 copy of `audio`; int16 is scaled to [-1, 1)."""
    if audio.dtype == np.int16:
        return audio.astype(np.float32) / 32768.0
    out: np.ndarray = np.array(audio, dtype=np.float32)
    return out


def active_rms(audio: np.ndarray) -> float:
    """RMS over the active (non-silent) 20 ms frames: the level of the speech itself.

    A wake phrase fills only part of its window; measuring the whole window would make the
    SNR depend on how much silence surrounds it. Frames within 40 dB of the loudest frame
    count as active; a clip shorter than one frame is measured whole.
    """
    x = np.asarray(audio, dtype=np.float64)
    if len(x) < 2 * _ACTIVE_FRAME:
        return float(np.sqrt(np.mean(x * x))) if len(x) else 0.0
    power = _frame_power(x)
    if power.max() <= 0.0:
        return 0.0
    return float(np.sqrt(power[_active(power)].mean()))


def first_active_sample(audio: np.ndarray) -> int | None:
    """Where the first active 20 ms frame (as `active_rms` counts them) starts; None for
    audio that is silent or shorter than one frame."""
    power = _frame_power(np.asarray(audio))
    if len(power) == 0 or power.max() <= 0.0:
        return None
    return int(np.argmax(_active(power))) * _ACTIVE_FRAME


def _frame_power(x: np.ndarray) -> np.ndarray:
    """Mean power (float64) of each whole 20 ms frame."""
    n = len(x) // _ACTIVE_FRAME
    frames = x[: n * _ACTIVE_FRAME].reshape(n, _ACTIVE_FRAME)
    power: np.ndarray = np.mean(np.square(frames, dtype=np.float64), axis=1)
    return power


def _active(power: np.ndarray) -> np.ndarray:
    """Frames within 40 dB of the loudest one."""
    active: np.ndarray = power >= float(power.max()) * 10.0 ** (_ACTIVE_FLOOR_DB / 10.0)
    return active


def place_in_window(audio: np.ndarray, window_samples: int, rng: np.random.Generator,
                    end_jitter_s: tuple[float, float], *, after: np.ndarray | None = None,
                    pause_s: float = 0.0) -> np.ndarray:
    """Put a phrase in a zero window so that it ends `jitter` seconds before the window end.

    openWakeWord's convention: the model fires at the end of the phrase, so training puts
    the phrase's end near the end of the window, with a random gap drawn from
    `end_jitter_s`. A phrase longer than the space left loses its beginning (the end is
    what the model must see). `after` (float audio) starts `pause_s` after the phrase's
    end and fills what is left of the window: the rest of a command that follows a wake
    word. Output: float32 of exactly `window_samples`.
    """
    x = as_float(audio)
    jitter = round(rng.uniform(*end_jitter_s) * SAMPLE_RATE) if end_jitter_s[1] > 0 else 0
    jitter = min(jitter, window_samples - 1)
    end = window_samples - jitter
    out = np.zeros(window_samples, dtype=np.float32)
    take = min(len(x), end)
    if take:
        out[end - take:end] = x[len(x) - take:]
    if after is not None:
        start = end + round(pause_s * SAMPLE_RATE)
        room = min(max(0, window_samples - start), len(after))
        out[start:start + room] = after[:room]
    return out


def crop_or_pad(audio: np.ndarray, window_samples: int, rng: np.random.Generator) -> np.ndarray:
    """A random `window_samples` crop of longer audio, or shorter audio at a random offset."""
    x = as_float(audio)
    if len(x) >= window_samples:
        start = int(rng.integers(0, len(x) - window_samples + 1))
        crop: np.ndarray = x[start:start + window_samples].copy()
        return crop
    out = np.zeros(window_samples, dtype=np.float32)
    start = int(rng.integers(0, window_samples - len(x) + 1))
    out[start:start + len(x)] = x
    return out


def noise_segment(noise: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` samples of `noise` from a random offset, looping it when it is shorter."""
    noise = np.asarray(noise, dtype=np.float32)
    if len(noise) == 0:
        return np.zeros(n, dtype=np.float32)
    start = int(rng.integers(0, len(noise)))
    reps = -(-(start + n) // len(noise))
    if reps == 1:
        return noise[start:start + n]
    return np.tile(noise, reps)[start:start + n]


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float,
               rng: np.random.Generator) -> np.ndarray:
    """`signal` plus a random segment of `noise` scaled to `snr_db` (float32, same length).

    The SNR is the signal's active RMS (see `active_rms`) over the RMS of the noise segment.
    A silent signal (e.g. a noise-only negative) gets the noise alone, at the level it
    would have next to speech at -20 dBFS RMS: the SNR still sets how loud it is.
    """
    x = as_float(signal)
    seg = noise_segment(noise, len(x), rng).astype(np.float64)
    noise_rms = float(np.sqrt(np.mean(seg * seg))) if len(seg) else 0.0
    if noise_rms < _SILENT_RMS:
        return x
    sig_rms = active_rms(x)
    reference = sig_rms if sig_rms > _SILENT_RMS else _NOMINAL_SPEECH_RMS
    target = reference / 10.0 ** (snr_db / 20.0)
    mixed: np.ndarray = (x + seg * (target / noise_rms)).astype(np.float32)
    return mixed


def blend_span(outside: np.ndarray, inside: np.ndarray, start: int, stop: int,
               ramp: int) -> np.ndarray:
    """`inside` over samples [start, stop), `outside` elsewhere (float32, same length).

    The switch at each end of the span is a raised-cosine crossfade of `ramp` samples
    lying outside the span, left out where the span touches the array's edge: noise that
    starts or stops inside a window, as a television or a passing car does, without a click.
    """
    a, b = np.asarray(outside, np.float32), np.asarray(inside, np.float32)
    if a.shape != b.shape:
        raise ValueError(f"blend_span needs equal lengths, got {a.shape} and {b.shape}")
    n = len(a)
    start, stop = max(0, min(start, n)), max(0, min(stop, n))
    mask = np.zeros(n, np.float32)
    mask[start:stop] = 1.0
    if stop > start and ramp > 0:
        rise = (0.5 - 0.5 * np.cos(np.pi * (np.arange(1, ramp + 1) / (ramp + 1)))).astype(np.float32)
        lo = max(0, start - ramp)
        mask[lo:start] = rise[ramp - (start - lo):]
        hi = min(n, stop + ramp)
        mask[stop:hi] = rise[::-1][:hi - stop]
    out: np.ndarray = (a + (b - a) * mask).astype(np.float32)
    return out


def direct_path_index(rir: np.ndarray) -> int:
    """Index of the direct sound: the first sample reaching half of the RIR's peak.

    Not simply argmax: in some measured rooms an early reflection is louder than the
    direct sound (e.g. "Concrete Room": direct at 15.7 ms, loudest arrival at 46 ms).
    """
    a = np.abs(np.asarray(rir))
    if a.size == 0:
        return 0
    return int(np.argmax(a >= DIRECT_PATH_FRACTION * a.max()))


def apply_rir(audio: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Reverberate `audio` with `rir`, keeping its length, alignment and RMS level.

    The output is the full convolution cut from the RIR's direct path onwards, so an
    impulse at sample t stays at t (the tail past the end is dropped, as in a window cut
    from a longer recording). Level: the result is rescaled to the input's RMS, so that
    reverb changes the sound, not the loudness (gain is a separate step).
    """
    x = as_float(audio)
    h = np.asarray(rir, dtype=np.float32)
    if len(x) == 0 or len(h) == 0:
        return x
    d = direct_path_index(h)
    y = sps.oaconvolve(x, h, mode="full")[d:d + len(x)].astype(np.float32)
    return match_rms(y, x)


def match_rms(y: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`y` scaled to the RMS of `reference` (unchanged when either is silent)."""
    ry, rx = _rms(y), _rms(reference)
    if ry < _SILENT_RMS or rx < _SILENT_RMS:
        return y.astype(np.float32)
    return (y * (rx / ry)).astype(np.float32)


def _rms(x: np.ndarray) -> float:
    """RMS via a BLAS dot product (float32 is accurate to ~1e-5 here, and 5x faster)."""
    if len(x) == 0:
        return 0.0
    x = np.ascontiguousarray(x)
    return float(np.sqrt(max(float(np.dot(x, x)), 0.0) / len(x)))


def to_int16_clipped(audio: np.ndarray) -> np.ndarray:
    """float [-1, 1] -> int16, rounded and clipped (never wraps around); NaN/Inf -> 0."""
    y = np.nan_to_num(np.asarray(audio, dtype=np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    out: np.ndarray = np.clip(np.rint(y * 32768.0), -32768, 32767).astype(np.int16)
    return out
