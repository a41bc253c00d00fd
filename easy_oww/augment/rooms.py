"""Room impulse responses: preparing measured ones and simulating shoebox rooms with numpy.

The simulation is a small image-source model (direct sound and reflections up to order 2
in a shoebox room, absorption from Sabine's formula for a sampled RT60) followed by a
late tail of exponentially decaying noise whose decay is faster at high frequencies.
It is not an acoustic solver, but it yields the features that matter for wake-word
robustness (pre-delay, early reflections, RT60 from 0.15 s to 1.2 s, darker tails)
in a few milliseconds per room, with no optional dependency (pyroomacoustics is not
needed; its ISM is slower and its random state global).
"""

from __future__ import annotations

import itertools

import numpy as np

from easy_oww.augment.ops import direct_path_index
from easy_oww.contract import SAMPLE_RATE

SPEED_OF_SOUND = 343.0
MAX_RIR_SECONDS = 1.0  # longer tails are cut: they cost convolution time, not realism
_PRE_DIRECT = 32  # samples kept before the direct path (2 ms)
_FADE = 160  # 10 ms fade-out at the cut


def prepare_rir(rir: np.ndarray, *, max_seconds: float = MAX_RIR_SECONDS,
                floor_db: float = -60.0) -> np.ndarray:
    """Trim leading silence, cut the tail where its energy decay reaches `floor_db` (or at
    `max_seconds`), fade out, and scale the direct path's peak to 1. float32."""
    h = np.asarray(rir, dtype=np.float64)
    if h.size == 0 or not np.any(h):
        return np.zeros(1, dtype=np.float32)
    start = max(0, direct_path_index(h) - _PRE_DIRECT)
    h = h[start:]
    energy = np.cumsum((h * h)[::-1])[::-1]
    below = np.nonzero(energy < energy[0] * 10.0 ** (floor_db / 10.0))[0]
    end = int(below[0]) if below.size else len(h)
    end = max(min(end, int(max_seconds * SAMPLE_RATE)), _PRE_DIRECT + 1)
    h = h[:end].copy()
    fade = min(_FADE, len(h) // 4)
    if fade > 1:
        h[-fade:] *= np.linspace(1.0, 0.0, fade)
    d = direct_path_index(h)
    peak = float(np.max(np.abs(h[d:d + 8])))
    out: np.ndarray = (h / (peak if peak > 0 else 1.0)).astype(np.float32)
    return out


def _image_sources(room: np.ndarray, src: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Image positions of `src` in a shoebox `room` and each image's reflection count."""
    positions, counts = [], []
    for n in itertools.product(range(-order, order + 1), repeat=3):
        for q in itertools.product((0, 1), repeat=3):
            refl = sum(abs(2 * ni - qi) for ni, qi in zip(n, q))
            if refl > order:
                continue
            pos = [(1 - 2 * qi) * src[i] + 2 * ni * room[i]
                   for i, (ni, qi) in enumerate(zip(n, q))]
            positions.append(pos)
            counts.append(refl)
    return np.asarray(positions), np.asarray(counts)


def simulate_room(rng: np.random.Generator, *, rt60: float | None = None,
                  order: int = 2) -> np.ndarray:
    """One simulated room impulse response (float32, prepared like a measured one)."""
    room = np.array([rng.uniform(3.0, 12.0), rng.uniform(2.5, 9.0), rng.uniform(2.4, 4.0)])
    rt60 = float(rng.uniform(0.15, 1.2)) if rt60 is None else rt60
    src = room * rng.uniform(0.1, 0.9, size=3)
    mic = room * rng.uniform(0.1, 0.9, size=3)
    volume = float(np.prod(room))
    surface = 2.0 * (room[0] * room[1] + room[0] * room[2] + room[1] * room[2])
    alpha = float(np.clip(0.161 * volume / (surface * rt60), 0.02, 0.95))
    beta = np.sqrt(1.0 - alpha)  # pressure reflection coefficient

    images, refl = _image_sources(room, src, order)
    dist = np.maximum(np.linalg.norm(images - mic, axis=1), 0.1)
    delay = dist / SPEED_OF_SOUND * SAMPLE_RATE
    amp = beta ** refl / dist
    n = int(min(MAX_RIR_SECONDS, rt60 * 1.1) * SAMPLE_RATE) + int(delay.max()) + 1
    h = np.zeros(n)
    np.add.at(h, np.rint(delay).astype(np.int64), amp * rng.choice((-1.0, 1.0), size=len(amp)))
    h[int(np.rint(delay.min()))] = amp[np.argmin(delay)]  # the direct path is positive

    h += _late_tail(rng, n, start=float(delay.min()), level=float(np.median(amp)), rt60=rt60)
    return prepare_rir(h)


def _late_tail(rng: np.random.Generator, n: int, *, start: float, level: float,
               rt60: float) -> np.ndarray:
    """Diffuse reverb: noise in three bands, each decaying 60 dB in its own RT60."""
    t = (np.arange(n) - start) / SAMPLE_RATE
    onset = np.clip(t / 0.005, 0.0, 1.0)  # 5 ms ramp after the direct sound
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    tail = np.zeros(n)
    edges = (0.0, 500.0, 2000.0, SAMPLE_RATE / 2 + 1)
    for (lo, hi), factor in zip(itertools.pairwise(edges), (1.2, 1.0, 0.6)):
        band = np.fft.irfft(np.where((freqs >= lo) & (freqs < hi), spec, 0.0), n)
        tail += band * np.exp(-6.908 * np.clip(t, 0.0, None) / (rt60 * factor))
    tail *= onset * (t >= 0)
    scale = level / (np.sqrt(np.mean(tail[t >= 0][:800] ** 2)) + 1e-12)
    out: np.ndarray = tail * scale * 0.5
    return out


def simulated_rooms(count: int, seed: int) -> list[np.ndarray]:
    """`count` simulated rooms with RT60 spread evenly over 0.15-1.2 s (deterministic)."""
    from easy_oww.rng import item_rng

    rirs = []
    for i in range(count):
        rng = item_rng(seed, f"room-{i}", 0, stream="rooms")
        rt60 = 0.15 + (1.2 - 0.15) * (i + rng.uniform()) / max(count, 1)
        rirs.append(simulate_room(rng, rt60=rt60))
    return rirs
