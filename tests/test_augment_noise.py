"""augment/noise.py: the shared spectral shaping keeps augmentation's coloured noise."""

from __future__ import annotations

import numpy as np
import pytest

from easy_oww.augment.noise import COLOURS, coloured_noise, normalise, shaped_noise
from easy_oww.contract import SAMPLE_RATE


def _old_coloured_noise(colour: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """coloured_noise before `shaped_noise` was factored out of it."""
    exponent = COLOURS[colour]
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    f[0] = f[1] if n > 1 else 1.0
    shaped = np.fft.irfft(spec * f ** (exponent / 2.0), n)
    shaped -= shaped.mean()
    return normalise(shaped)


@pytest.mark.parametrize("colour", sorted(COLOURS))
@pytest.mark.parametrize("n", [1, 2, 1000, 16000 * 3 + 7])
def test_coloured_noise_keeps_its_samples(colour: str, n: int) -> None:
    for seed in range(3):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        assert np.array_equal(coloured_noise(colour, n, a), _old_coloured_noise(colour, n, b))
        assert a.random() == b.random()


def test_shaped_noise_cut_from_a_longer_fft() -> None:
    x = shaped_noise(-1.0, 1000, np.random.default_rng(0), fft_len=1024)
    assert x.shape == (1000,) and x.dtype == np.float64 and np.isfinite(x).all()
    white = shaped_noise(0.0, 4096, np.random.default_rng(1))
    assert np.std(white) == pytest.approx(1.0, rel=0.1)
