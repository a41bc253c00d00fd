"""Generated background noise: coloured noise, mains hum and babble from TTS clips.

The generators augmentation uses (`coloured_noise`, `mains_hum`, `babble`) return float32
audio at 16 kHz normalised to an RMS of 0.1; the level heard in training is set later by
the sampled SNR. `shaped_noise` and `steady_hum` are raw float64 building blocks, also
used for the backgrounds of the long negative audio (`easy_oww.negative_audio.chunks`).
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


def shaped_noise(exponent: float, n: int, rng: np.random.Generator, *,
                 fft_len: int | None = None) -> np.ndarray:
    """Gaussian noise whose power spectrum goes as f ** `exponent` (float64, as shaped:
    neither centred nor normalised).

    The noise is made at `fft_len` samples (default `n`) and cut to `n`: callers with
    arbitrary lengths pass a power of two, since an FFT of a length with large prime
    factors is very slow. Draws `fft_len` standard normals from `rng`.
    """
    m = n if fft_len is None else fft_len
    spec = np.fft.rfft(rng.standard_normal(m))
    f = np.fft.rfftfreq(m, 1.0 / SAMPLE_RATE)
    f[0] = f[1] if m > 1 else 1.0
    shaped: np.ndarray = np.fft.irfft(spec * f ** (exponent / 2.0), m)[:n]
    return shaped


def coloured_noise(colour: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """White, pink, brown or blue noise of `n` samples (shaped in the frequency domain)."""
    shaped = shaped_noise(COLOURS[colour], n, rng)
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


def steady_hum(n: int, rng: np.random.Generator, *, mains_hz: float,
               harmonics: int = 5) -> np.ndarray:
    """A steady hum (no drift, no hiss; float64, not normalised): `mains_hz` and its
    multiples up to the `harmonics`-th, the k-th at a random level in [0.2, 1) / k and a
    random phase in [0, 6.3). `mains_hum` is the richer hum that augmentation uses."""
    t = np.arange(n) / SAMPLE_RATE
    x = np.zeros(n)
    for k in range(1, harmonics + 1):
        x += rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * mains_hz * k * t
                                                + rng.uniform(0, 6.3))
    return x


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
