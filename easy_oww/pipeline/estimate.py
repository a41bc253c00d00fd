"""The expected duration printed before `train` starts.

Rates were measured on a 2-core x86-64 machine (see the closing notes of the issues and
benchmarks/); they scale with the number of cores for the parallel phases. The estimate
is for a run with nothing cached yet.
"""

from __future__ import annotations

import math
import os

from easy_oww.config import ProjectConfig
from easy_oww.pipeline.negatives import validation_hours

# Per core, measured on the reference machine (quick preset from a fresh clone: TTS
# 13 100 clips in 35 s, features 36 650 windows in 80 s, 32 h of negative audio in
# 255 s; one 64-unit head of 8000 x 1024 rows validated 16 times on 6 h of audio: 66 s,
# of which validation 19 s; a 128-unit head 100 s, validation 28 s).
TTS_CLIPS_PER_S = 100.0  # espeak-ng voices; a Piper voice is about 20x slower
FEATURE_CLIPS_PER_S = 250.0  # augmented 2 s windows through the front end
TRAIN_SAMPLES_PER_S = 175_000.0  # batch rows per second, dnn head of 64 units, one process
VALIDATION_S_PER_HOUR = 0.2  # scoring an hour of validation audio, 64 units, one process
NEGATIVE_AUDIO_S = 16.0  # generating + embedding an hour of long negative audio
FIXED_S = 20.0  # start-up, export, evaluation
PARALLEL_SLOWDOWN = 1.3  # two training processes on two cores: each about this much slower
WINDOW_NORM_COST = 1.2  # training.window_norm: training phase 1.14x wall, 1.21x CPU (measured)


def head_cost(layer_size: int) -> float:
    """Training time relative to a 64-unit head: the first layer (1536 x layer_size) grows
    with the width, batch sampling and validation do not (128 units: 1.5x, measured)."""
    return 0.48 + 0.52 * layer_size / 64


def estimate_seconds(config: ProjectConfig, cores: int | None = None) -> float:
    cores = max(1, cores or config.features.workers or os.cpu_count() or 1)
    c = config.clips
    clips = c.n_positive + c.n_adversarial + c.n_negative_speech + 4 * c.n_eval_positive
    features = ((c.n_positive + c.n_adversarial + c.n_negative_speech * 1.25)
                * config.augment.rounds + 4 * c.n_eval_positive)
    # ensemble members train in parallel, one per core, each a bit slower for sharing
    members = config.training.ensemble
    rounds = math.ceil(members / min(cores, members))
    t = config.training
    ev = config.evaluation
    val_hours = validation_hours(ev.negative_hours, ev.target_fp_per_hour)
    per_member = (t.steps * t.batch_size / TRAIN_SAMPLES_PER_S
                  + t.steps / t.validate_every * val_hours * VALIDATION_S_PER_HOUR)
    training = (per_member * head_cost(t.layer_size) * rounds
                * (PARALLEL_SLOWDOWN if min(cores, members) > 1 else 1.0)
                * (WINDOW_NORM_COST if t.window_norm else 1.0))
    hours = c.negative_audio_hours + ev.negative_hours + val_hours
    return (clips / (TTS_CLIPS_PER_S * cores) + features / (FEATURE_CLIPS_PER_S * cores)
            + training + hours * NEGATIVE_AUDIO_S / cores + FIXED_S)
