"""Phrases to suggest for negative recordings (things that must NOT trigger the model).

They come from the adversarial generator in :mod:`easy_oww.text` (similar-sounding
phrases, parts of the wake phrase, rhymes). When that module cannot be imported, a
minimal built-in list (parts of the phrase and everyday words) keeps recording usable.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

_EVERYDAY = ("hello there", "okay", "hey", "what time is it", "turn on the light",
             "good morning", "thank you", "hey there", "say that again", "never mind")


def negative_suggestions(wake_word: str, n: int, seed: int) -> list[str]:
    """`n` phrases (n >= 1) to say for negative recordings, deterministic for `seed`."""
    try:
        adversarial_phrases = importlib.import_module("easy_oww.text").adversarial_phrases
    except (ImportError, AttributeError):
        log.debug("easy_oww.text is unavailable; using the built-in suggestions")
        return _fallback(wake_word, n)
    phrases = [str(p) for p in adversarial_phrases(wake_word, n, seed) if str(p).strip()]
    if not phrases:
        return _fallback(wake_word, n)
    return [phrases[i % len(phrases)] for i in range(n)]


def _fallback(wake_word: str, n: int) -> list[str]:
    words = wake_word.split()
    parts = list(words)
    if len(words) > 1:
        parts.append(" ".join(words[:-1]))
    pool = [p for p in parts if p and p != wake_word] + list(_EVERYDAY)
    return [pool[i % len(pool)] for i in range(n)]
