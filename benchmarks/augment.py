"""Augmentation cost per clip vs feature-extraction cost per clip (single core each).

    .venv/bin/python benchmarks/augment.py [--clips 400] [--window-s 2.0]

Target (issue 5): augmentation <= half of feature extraction per clip. Prints the
per-step cost (each transform forced on) and the mix the default config produces.
Figures are CPU time per clip of one process (one thread each side).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from easy_oww.augment import Augmenter, build_sources
from easy_oww.config import AugmentConfig
from easy_oww.contract import SAMPLE_RATE
from easy_oww.rng import item_rng


def phrase(seconds: float, f0: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.1 * np.sin(2 * np.pi * 1.3 * t))) / SAMPLE_RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) + 0.05 * rng.standard_normal(len(t))
    env = np.sin(np.pi * t / seconds) * (0.5 + 0.5 * np.sin(2 * np.pi * 3.5 * t) ** 2)
    return (0.3 * 32767 * x / np.max(np.abs(x)) * env).astype(np.int16)


def per_clip_ms(fn: Callable[[int], object], n: int) -> float:
    """CPU time of this process per call (both sides run single-threaded), so that other
    jobs on a shared machine distort the figures less than wall-clock time would."""
    for i in range(min(20, n)):
        fn(i)
    t0 = time.process_time()
    for i in range(n):
        fn(i)
    return (time.process_time() - t0) / n * 1000


def feature_ms(window: int, n: int) -> tuple[str, float]:
    """The faster of one-clip and batched (32 clips) embedding, per clip."""
    batch = (np.random.default_rng(0).standard_normal((32, window)) * 3000).astype(np.int16)
    try:
        from easy_oww.features.frontend import FrontEnd

        fe = FrontEnd(threads=1)
        single = per_clip_ms(lambda i: fe.embed_clip(batch[i % 32]), n)
        batched = per_clip_ms(lambda i: fe.embed_clips(batch), max(2, n // 32)) / 32
        name = "easy_oww FrontEnd"
    except ImportError:
        from openwakeword.utils import AudioFeatures

        af = AudioFeatures(ncpu=1)
        single = per_clip_ms(lambda i: af.embed_clips(batch[i % 32][None], batch_size=1), n)
        batched = per_clip_ms(lambda i: af.embed_clips(batch, batch_size=32), max(2, n // 32)) / 32
        name = "openwakeword AudioFeatures"
    print(f"feature extraction ({name}): {single:.3f} ms/clip one by one, "
          f"{batched:.3f} ms/clip in batches of 32")
    return name, min(single, batched)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=400)
    ap.add_argument("--window-s", type=float, default=2.0)
    args = ap.parse_args()
    window = int(args.window_s * SAMPLE_RATE)
    rng = np.random.default_rng(0)
    positives = [phrase(rng.uniform(0.7, 1.4), rng.uniform(100, 250), rng) for _ in range(16)]
    negatives = [phrase(rng.uniform(3.0, 6.0), rng.uniform(100, 250), rng) for _ in range(4)]
    t0 = time.perf_counter()
    sources = build_sources(seed=0, babble=positives, speech=negatives)
    build_s = time.perf_counter() - t0

    def run(aug: Augmenter, i: int) -> object:
        neg = i % 4 == 3  # a quarter negatives, as in training
        clip = negatives[i % 4] if neg else positives[i % 16]
        return aug(clip, item_rng(0, f"clip-{i}", 0, "augment"), positive=not neg)

    default = Augmenter(AugmentConfig(), sources, window)
    aug_ms = per_clip_ms(lambda i: run(default, i), args.clips)

    off = {"rir_probability": 0.0, "noise_probability": 0.0, "pitch_probability": 0.0,
           "tempo_probability": 0.0, "eq_probability": 0.0, "distortion_probability": 0.0,
           "follow_probability": 0.0, "voice_probability": 0.0, "timbre_probability": 0.0}
    steps = {"placement + gain only": {}, "reverb (p=1)": {"rir_probability": 1.0},
             "noise (p=1)": {"noise_probability": 1.0, "noise_span_probability": 0.0},
             "noise over a stretch (p=1)": {"noise_probability": 1.0,
                                            "noise_span_probability": 1.0},
             "pitch (p=1)": {"pitch_probability": 1.0},
             "another voice (p=1)": {"voice_probability": 1.0},
             "another timbre (p=1)": {"timbre_probability": 1.0},
             "tempo (p=1)": {"tempo_probability": 1.0},
             "EQ (p=1)": {"eq_probability": 1.0},
             "distortion (p=1)": {"distortion_probability": 1.0},
             "speech after (p=1)": {"follow_probability": 1.0}}
    print(f"machine load (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"{os.cpu_count()} cpus; window {args.window_s:.1f} s; sources built in "
          f"{build_s * 1000:.0f} ms ({sources.summary()})")
    for name, on in steps.items():
        aug = Augmenter(AugmentConfig(**{**off, **on}), sources, window)
        print(f"  {name:28s} {per_clip_ms(lambda i, a=aug: run(a, i), args.clips // 2):6.3f} ms/clip")
    plain = Augmenter(AugmentConfig(voice_probability=0.0), sources, window)
    plain_ms = per_clip_ms(lambda i: run(plain, i), args.clips)
    print(f"augmentation (default config): {aug_ms:.3f} ms/clip; without another voice "
          f"{plain_ms:.3f} ms/clip")
    _, fe_ms = feature_ms(window, max(64, args.clips // 4))
    print(f"ratio augmentation / features: {aug_ms / fe_ms:.2f} (target <= 0.50)")


if __name__ == "__main__":
    main()
