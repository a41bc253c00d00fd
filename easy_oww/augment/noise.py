"""Generated background noise: coloured noise, mains hum and babble from TTS clips.

Every generator returns float32 audio at 16 kHz normalised to an RMS of 0.1; the level
heard in training is set later by the sampled SNR.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from easy_oww.augment.ops import as_float
from easy_oww.contract import SAMPLE_RATE

NOISE_RMS = 0.1

# Spectral slope of the power spectrum per colour: power ~ f ** exponent.
COLOURS: dict[str, float] = {"white": 0.0, "pink": -1.0, "brown": -2.0, "blue": 1.0}


def normalise(x: np.ndarray, rms: float = NOISE_RMS) -> np.ndarray:
    r = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0
    return (x * (rms / r)).astype(np.float32) if r > 0 else x.astype(np.float32)


def coloured_noise(colour: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """White, pink, brown or blue noise of `n` samples (shaped in the frequency domain)."""
    exponent = COLOURS[colour]
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    f[0] = f[1] if n > 1 else 1.0
    shaped = np.fft.irfft(spec * f ** (exponent / 2.0), n)
    shaped -= shaped.mean()
    return normalise(shaped)


def mains_hum(n: int, rng: np.random.Generator, *, mains_hz: float = 50.0,
              buzz: bool = False) -> np.ndarray:
    """Mains hum: `mains_hz` and harmonics with a slight frequency drift, plus hiss.

    `buzz` gives the odd-harmonic-rich sound of a rectifier or a ground loop.
    """
    t = np.arange(n) / SAMPLE_RATE
    drift = 1.0 + 0.002 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t)
    phase = 2 * np.pi * mains_hz * np.cumsum(drift) / SAMPLE_RATE
    x = np.zeros(n)
    for k in range(1, 13 if buzz else 7):
        if buzz and k % 2 == 0:
            continue
        amp = rng.uniform(0.3, 1.0) / (k ** (0.5 if buzz else 1.2))
        x += amp * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    x += 0.02 * rng.standard_normal(n) * float(np.std(x))
    return normalise(x)


def babble(clips: Sequence[np.ndarray], n: int, rng: np.random.Generator, *,
           talkers: tuple[int, int] = (3, 7)) -> np.ndarray:
    """Crowd-like babble: several clips summed at random offsets and levels, filling `n`."""
    if not clips:
        raise ValueError("babble needs at least one clip")
    out = np.zeros(n)
    k = int(rng.integers(talkers[0], talkers[1] + 1))
    for _ in range(k):  # each talker speaks clips back to back over the whole length
        pos = -int(rng.integers(0, SAMPLE_RATE))
        level = 10.0 ** (rng.uniform(-10.0, 0.0) / 20.0)
        while pos < n:
            clip = normalise(as_float(clips[int(rng.integers(len(clips)))]))
            a, b = max(pos, 0), min(pos + len(clip), n)
            if b > a:
                out[a:b] += level * clip[a - pos:b - pos]
            pos += max(len(clip), 1) + int(rng.integers(0, SAMPLE_RATE // 4))
    return normalise(out)
