"""The benchmarks' noise helpers: the colours they claim, at unit level, reproducible."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from easy_oww.contract import SAMPLE_RATE
from tests.conftest import load_benchmark


@pytest.fixture(scope="module")
def cf() -> ModuleType:
    return load_benchmark("crossfamily")


def _slope(x: np.ndarray) -> float:
    """Fitted power slope (log power per log frequency) between 100 Hz and 6 kHz."""
    f = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    p = np.abs(np.fft.rfft(x)) ** 2
    band = (f > 100) & (f < 6000)
    return float(np.polyfit(np.log(f[band]), np.log(p[band] + 1e-12), 1)[0])


@pytest.mark.parametrize("slope", [0.0, -1.0, -2.0])
def test_coloured_noise_has_the_asked_power_slope_and_unit_level(cf: ModuleType,
                                                                  slope: float) -> None:
    x = cf.coloured(np.random.default_rng(3).standard_normal(4 * SAMPLE_RATE), slope)
    assert x.dtype == np.float32 and len(x) == 4 * SAMPLE_RATE
    assert np.std(x) == pytest.approx(1.0, rel=1e-3)
    assert _slope(x) == pytest.approx(slope, abs=0.15)


def test_talk_takes_a_unit_level_stretch_of_the_recordings(cf: ModuleType) -> None:
    crowd = (np.sin(np.arange(10 * SAMPLE_RATE) * 0.01) * 3000).astype(np.int16)
    x = cf.talk(SAMPLE_RATE, np.random.default_rng(5), crowd)
    y = cf.talk(SAMPLE_RATE, np.random.default_rng(5), crowd)
    assert np.array_equal(x, y) and len(x) == SAMPLE_RATE
    assert np.std(x) == pytest.approx(1.0, rel=1e-3)
    at = int(np.random.default_rng(5).integers(0, len(crowd) - SAMPLE_RATE))
    assert np.corrcoef(x, crowd[at:at + SAMPLE_RATE])[0, 1] > 0.999
