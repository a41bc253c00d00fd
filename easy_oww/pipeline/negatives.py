"""Long negative audio for validation and the final false-positive test.

The workspace's built-in negative audio (TTS speech from held-out voices, noise, silence;
generated once per workspace, cached) comes in three sets of different sentences: training
audio (training voices), validation audio (picks the checkpoint and the threshold) and
test audio, never seen by training or selection, which measures false positives per hour
in the final report. Downloaded validation features extend the test audio when present.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww.config import ProjectConfig
from easy_oww.contract import FRAME_MS
from easy_oww.fsutil import atomic_open
from easy_oww.progress import ProgressFn
from easy_oww.workspace import Workspace

log = logging.getLogger(__name__)

FRAMES_PER_HOUR = 3600 * 1000 // FRAME_MS  # 45,000


MAX_VALIDATION_HOURS = 12.0
VALIDATION_ACTIVATIONS = 3  # activations the validation audio is long enough to allow


def validation_hours(test_hours: float, target_fp_per_hour: float) -> float:
    """Hours of validation audio: as long as the test audio, and long enough that
    VALIDATION_ACTIVATIONS activations may be allowed while the threshold still meets the
    target with confidence (`easy_oww.evaluate.metrics.validation_allowance`: 11.25 h at
    0.5/h), up to MAX_VALIDATION_HOURS. A threshold above the fourth-highest activation of
    11 h varies less than one above the second-highest of 6 h: over random validation/test
    splits of 34 h of held-out audio, recall 0.920 against 0.905 at the same false
    positives per hour (0.32 and 0.34 on the rest), see docs/training.md."""
    from easy_oww.evaluate.metrics import poisson_upper

    wanted = poisson_upper(VALIDATION_ACTIVATIONS) / target_fp_per_hour
    return max(0.05, test_hours, min(MAX_VALIDATION_HOURS, math.ceil(wanted * 4) / 4))


def save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_open(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array))


TRAIN_SEED_OFFSET = 7919  # the training audio's sentences differ from the held-out audio's
VALIDATION_SEED_OFFSET = 104729  # ... and the validation audio's from the test audio's
TEST_SEED_OFFSET = 1299709  # ... and the test audio's from the negative speech clips'
TRAIN_SENTENCES_PER_HOUR = 600  # variety for training (synthesis is cheap next to embedding)
FAMILY_SENTENCES = {"train": 600, "val": 300, "test": 300}
"""Distinct sentences per voice family other than espeak-ng in each set (Piper takes ~0.2 s a
sentence, espeak-ng ~0.01 s): with balanced families they are reused more often instead."""


def test_audio_seed(seed: int) -> int:
    """The seed of a project's built-in test audio (`easy-oww eval` measures the same).
    The project seed itself picks the sentences of the training clips of negative speech,
    which the test must not speak again."""
    return seed + TEST_SEED_OFFSET


def negative_streams(ws: Workspace, config: ProjectConfig, directory: Path, *,
                     progress: ProgressFn | None = None,
                     rooms: dict[str, Any] | None = None) -> dict[str, Any]:
    """Three embedding streams: training (training voices), validation and test (held-out
    voices). Long audio embedded as a stream gives a negative window every 80 ms for a
    fraction of the cost of clip windows: the cheapest large negative set there is.
    `rooms`: `negative_rooms(ws, config)` when the caller has them already."""
    from easy_oww.negative_audio import ensure_negative_audio
    from easy_oww.pipeline.clips import voice_split
    from easy_oww.pipeline.real_speech import real_speech

    train_voices, held_voices = voice_split(config, ws)
    rooms = rooms if rooms is not None else negative_rooms(ws, config)
    train_hours = config.clips.negative_audio_hours
    real = real_speech(ws, config, progress=progress)
    summary: dict[str, Any] = {"train_hours": 0.0}
    train_stream = real.stream("train")
    if train_hours > 0:
        train = ensure_negative_audio(ws, hours=train_hours, seed=config.seed + TRAIN_SEED_OFFSET,
                                      exclude=config.wake_word, voices=train_voices,
                                      progress=progress,
                                      sentences_per_hour=TRAIN_SENTENCES_PER_HOUR,
                                      keep_audio=False, **_balance(config, "train"), **rooms)
        train_stream = np.concatenate([train.embeddings(), train_stream]).astype(np.float32)
    if len(train_stream):
        save_npy(directory / "train_stream.npy", train_stream)
        summary["train_hours"] = len(train_stream) / FRAMES_PER_HOUR
    test_hours = config.evaluation.negative_hours
    val_hours = validation_hours(test_hours, config.evaluation.target_fp_per_hour)
    # Validation and test audio are made separately, from different sentences: a threshold
    # fitted to the validation audio would otherwise be tested on the same sentences (each
    # is reused several times per hour), which reads fewer false positives than new audio.
    parts: dict[str, Any] = {}
    for part, hours, seed in (("val", val_hours, config.seed + VALIDATION_SEED_OFFSET),
                              ("test", test_hours, test_audio_seed(config.seed))):
        parts[part] = ensure_negative_audio(ws, hours=hours, seed=seed,
                                            exclude=config.wake_word, voices=held_voices,
                                            progress=progress, **_balance(config, part),
                                            **rooms)
    val = np.asarray(parts["val"].embeddings(), dtype=np.float32)
    test = np.asarray(parts["test"].embeddings(), dtype=np.float32)
    for name, stream, hours in (("validation", val, val_hours), ("test", test, test_hours)):
        if len(stream) < FRAMES_PER_HOUR * hours * 0.95:
            raise RuntimeError(f"{name} negative audio too short: {len(stream)} frames")
    source = [parts["test"].describe()]
    downloaded = _downloaded_stream(ws)
    if downloaded is not None:
        test = np.concatenate([test, downloaded])
        source.append(f"openWakeWord validation features ({len(downloaded) / FRAMES_PER_HOUR:.1f} h)")
    val = np.concatenate([val, real.stream("val")])
    real_test = real.stream("test")
    save_npy(directory / "val_stream.npy", val)
    save_npy(directory / "test_stream.npy", test)
    save_npy(directory / "real_test_stream.npy", real_test)
    return {**summary, "val_hours": len(val) / FRAMES_PER_HOUR,
            "test_hours": len(test) / FRAMES_PER_HOUR, "source": "; ".join(source),
            "real_train_hours": sum(map(len, real.streams["train"])) / FRAMES_PER_HOUR,
            "real_val_hours": sum(map(len, real.streams["val"])) / FRAMES_PER_HOUR,
            "real_test_hours": len(real_test) / FRAMES_PER_HOUR,
            "real_sources": real.sources}


def negative_rooms(ws: Workspace, config: ProjectConfig) -> dict[str, Any]:
    """The rooms of the positives' augmentation, at its probability, and its voice shift,
    for the long negative audio: reverb (or another voice) that only wake words have is a
    label the model learns (and then fires on reverberant speech of real people)."""
    from easy_oww.augment.effects import VoiceShift
    from easy_oww.augment.sources import build_rooms

    rooms = tuple(h for _, h in build_rooms(ws, seed=config.seed))
    return {"rooms": rooms, "room_probability": config.augment.rir_probability,
            "voice": VoiceShift.of(config.augment)}


def _balance(config: ProjectConfig, part: str) -> dict[str, Any]:
    if not config.tts.balance_families:
        return {}
    return {"balance_families": True, "family_sentences": FAMILY_SENTENCES[part]}


def _downloaded_stream(ws: Workspace) -> np.ndarray | None:
    """openWakeWord's downloaded false-positive validation features ([T, 96]) if present."""
    from easy_oww.datasets import validation_features
    path = validation_features(ws)
    if path is None:
        return None
    arr = np.load(path, mmap_mode="r")
    if arr.ndim != 2:
        log.info("%s holds windows, not a stream: not used for false positives per hour",
                 path.name)
        return None
    return np.asarray(arr, dtype=np.float32)
