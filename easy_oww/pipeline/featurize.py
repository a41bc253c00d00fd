"""Features phase: augmented clips through the parallel front end into feature shards.

Augmentation happens in memory inside the feature workers; only features are written.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww.config import AugmentConfig, ProjectConfig
from easy_oww.contract import (
    FRAME_SAMPLES,
    MODEL_INPUT_FRAMES,
    SAMPLE_RATE,
    samples_for_embedding_frames,
)
from easy_oww.pipeline.clips import ClipPlan
from easy_oww.progress import ProgressFn
from easy_oww.workspace import ProjectPaths, Workspace

log = logging.getLogger(__name__)

MIN_WINDOW = samples_for_embedding_frames(MODEL_INPUT_FRAMES)
NOISE_SOURCE = ""  # a job with no clip: augmentation noise alone (a negative)

TRAIN_SETS = ("positive", "negative_adversarial", "negative_speech", "negative_noise")
HELD_OUT_SETS = ("val_positive", "val_adversarial", "eval_positive", "eval_adversarial",
                 "oof_positive", "oof_adversarial")
HELD_OUT_FRAMES = MODEL_INPUT_FRAMES + 10
"""Held-out clips keep 26 frames: 11 windows, 80 ms apart, as a streaming detector sees the
phrase pass; a clip's score is its best window, as in deployment."""
BABBLE_CLIPS = 96  # sentences of negative speech that the babble noise tracks are made of
BABBLE_SECONDS = 60.0  # per babble track (four tracks): windows are cut at random offsets
HELD_OUT_END = (0.55, 0.75)  # seconds after the phrase: the windows cover its end -0.25..0.75 s


class ClipAudio:
    """Picklable audio function for the feature workers: load a clip, augment it."""

    def __init__(self, augmenter: Any, window_samples: int) -> None:
        self.augmenter = augmenter
        self.window_samples = window_samples

    def __call__(self, job: Any, rng: np.random.Generator) -> np.ndarray:
        from easy_oww.audio.io import load_audio

        if job.source == NOISE_SOURCE:
            audio = np.zeros(self.window_samples, dtype=np.int16)
        else:
            audio = load_audio(job.source)
        out: np.ndarray = self.augmenter(audio, rng, positive=job.label == 1)
        return out


def window_samples(config: ProjectConfig, positives: list[Path]) -> int:
    """openWakeWord's convention: median positive length rounded to 1000 samples + 0.75 s,
    and never shorter than the model's 16 embedding frames need."""
    if config.clips.clip_duration != "auto":
        return max(MIN_WINDOW, int(float(config.clips.clip_duration) * SAMPLE_RATE))
    if not positives:
        return MIN_WINDOW
    import soundfile as sf

    sample = positives[:: max(1, len(positives) // 200)]
    lengths = [sf.info(str(p)).frames for p in sample]
    median = float(statistics.median(lengths))
    return max(MIN_WINDOW, round(median / 1000.0) * 1000 + 12_000)


def near_miss_augment_config(config: AugmentConfig) -> AugmentConfig:
    """Near misses in training are noisy less often than other clips: heard clearly, a near
    miss shows where the phrase's sound ends; heard in noise, it taught the head to refuse a
    wake word in noise from a voice it did not know (docs/training.md, session 36)."""
    return config.model_copy(update={"noise_probability": config.near_miss_noise_probability})


def eval_augment_config(config: AugmentConfig) -> AugmentConfig:
    """Held-out clips are always reverberant and noisy: the hard case, measured honestly.
    The phrase ends well before the window's end, so the windows span every alignment a
    streaming detector would score."""
    lo, hi = config.snr_db
    return config.model_copy(update={"rir_probability": 1.0, "noise_probability": 1.0,
                                     "snr_db": (max(lo, 5.0), max(min(hi, 20.0), max(lo, 5.0))),
                                     "end_jitter_s": HELD_OUT_END})


def feature_jobs(plan: ClipPlan, config: ProjectConfig) -> dict[str, list[Any]]:
    from easy_oww.features.store import FeatureJob

    rounds = config.augment.rounds
    s = plan.splits

    def jobs(paths: list[Path], label: int, n_rounds: int, tag: str) -> list[Any]:
        """A clip listed k times (a family's clips reused to keep its share) is augmented
        afresh each time: its k-th occurrence (k > 0) gets a key of its own."""
        seen: dict[str, int] = {}
        out = []
        for p in paths:
            k = seen[p.name] = seen.get(p.name, -1) + 1
            key = f"{tag}:{p.name}" + (f":{k}" if k else "")
            out += [FeatureJob(key=key, source=str(p), round=r, label=label, kind=tag)
                    for r in range(n_rounds)]
        return out

    weight = config.clips.real_positive_weight
    n_noise = max(1, config.clips.n_negative_speech // 4) * rounds
    return {
        "positive": jobs(s["train_positive"], 1, rounds, "pos")
        + jobs(s["train_real_positive"], 1, rounds * weight, "real"),
        "negative_adversarial": jobs(s["train_adversarial"], 0, rounds, "adv"),
        "negative_speech": jobs(s["train_speech"], 0, rounds, "speech")
        + jobs(s.get("train_downloaded_speech", []), 0, rounds, "dlspeech")
        + jobs(s["train_real_negative"], 0, rounds * weight, "realneg"),
        "negative_noise": [FeatureJob(key=f"noise:{i}", source=NOISE_SOURCE, round=0, label=0,
                                      kind="noise") for i in range(n_noise)],
        "val_positive": jobs(s["val_positive"], 1, 1, "valpos"),
        "val_adversarial": jobs(s["val_adversarial"], 0, 1, "valadv"),
        "eval_positive": jobs(s["eval_positive"], 1, 1, "evalpos"),
        "eval_adversarial": jobs(s["eval_adversarial"], 0, 1, "evaladv"),
        "oof_positive": jobs(s.get("oof_positive", []), 1, 1, "oofpos"),
        "oof_adversarial": jobs(s.get("oof_adversarial", []), 0, 1, "oofadv"),
    }


@dataclass(frozen=True)
class FeatureSummary:
    counts: dict[str, int]
    window_samples: int
    sources: dict[str, Any]


def make_features(config: ProjectConfig, workspace: Workspace, paths: ProjectPaths,
                  plan: ClipPlan, *, device: str = "cpu",
                  progress: ProgressFn | None = None) -> FeatureSummary:
    from easy_oww.audio.io import load_audio
    from easy_oww.augment import Augmenter, build_sources, with_babble
    from easy_oww.features.store import extract_features

    window = window_samples(config, plan.splits["train_positive"])
    babble = [load_audio(p) for p in plan.splits["train_speech"][:BABBLE_CLIPS]]
    sources = build_sources(workspace, seed=config.seed, babble=babble, speech=babble,
                            babble_seconds=BABBLE_SECONDS)
    # held-out clips: the same rooms and noises, but crowds (and speech after the phrase)
    # of held-out voices
    held_babble = [load_audio(p) for p in plan.splits.get("eval_speech", [])[:BABBLE_CLIPS]]
    held_sources = (with_babble(sources, held_babble, seed=config.seed,
                                seconds=BABBLE_SECONDS) if held_babble else sources)
    train_audio = ClipAudio(Augmenter(config.augment, sources, window), window)
    near_miss_audio = ClipAudio(Augmenter(near_miss_augment_config(config.augment), sources,
                                          window), window)
    held_window = window + (HELD_OUT_FRAMES - MODEL_INPUT_FRAMES) * FRAME_SAMPLES
    eval_audio = ClipAudio(Augmenter(eval_augment_config(config.augment), held_sources,
                                     held_window), held_window)
    counts: dict[str, int] = {}
    for name, jobs in feature_jobs(plan, config).items():
        if not jobs:
            counts[name] = 0
            continue
        held = name in HELD_OUT_SETS
        audio = (eval_audio if held else
                 near_miss_audio if name == "negative_adversarial" else train_audio)
        res = extract_features(jobs, paths.features / name, audio,
                               seed=config.seed,
                               frames=HELD_OUT_FRAMES if held else MODEL_INPUT_FRAMES,
                               workers=config.features.workers,
                               shard_size=config.features.shard_size,
                               threads=config.features.onnx_threads, device=device,
                               fingerprint=(held_sources if held else sources).fingerprint(),
                               progress=_named(progress, f"features: {name}"))
        counts[name] = res.count
    return FeatureSummary(counts, window, {"rirs": len(sources.rir_names),
                                           "noises": list(sources.noise_names),
                                           "fingerprint": sources.fingerprint(),
                                           "held_out_babble": bool(held_babble)})


def _named(progress: ProgressFn | None, task: str) -> ProgressFn | None:
    if progress is None:
        return None
    return lambda _t, done, total: progress(task, done, total)
