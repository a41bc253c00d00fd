"""The voice split: which TTS voices train a model and which are held out to evaluate it.

One function, so the clips phase and the negative audio hold out the very same voices.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from easy_oww.rng import key_to_int
from easy_oww.tts.types import Voice

log = logging.getLogger(__name__)


def split_voices(voices: Sequence[Voice], fraction: float, seed: int
                 ) -> tuple[list[Voice], list[Voice]]:
    """Hold out `fraction` of each backend's voices (at least one when it has two or more).

    Returns (training voices, held-out voices); the choice depends only on `seed` and the
    voice ids. With a single voice, nothing can be held out: it is then in both lists.
    """
    train: list[Voice] = []
    held: list[Voice] = []
    by_backend: dict[str, list[Voice]] = {}
    for v in voices:
        by_backend.setdefault(v.backend, []).append(v)
    for group in by_backend.values():
        ranked = sorted(group, key=lambda v: key_to_int(f"{seed}:{v.id}"))
        k = round(len(ranked) * fraction)
        if fraction > 0 and len(ranked) >= 2:
            k = max(1, k)
        k = min(k, len(ranked) - 1)
        held.extend(ranked[:k])
        train.extend(ranked[k:])
    if not held:  # a single voice: evaluate on it too, and say so
        log.warning("only one TTS voice is available: evaluation reuses a training voice")
        held = list(train)
    return train, held
