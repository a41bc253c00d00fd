"""Phrases to suggest for negative recordings (things that must NOT trigger the model).

They come from the adversarial generator in :mod:`easy_oww.text` (similar-sounding
phrases, parts of the wake phrase, rhymes). When that module cannot be imported, a
minimal built-in list (parts of the phrase and everyday words) keeps recording usable.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable

from easy_oww.errors import MissingDependency

log = logging.getLogger(__name__)

_EVERYDAY = ("hello there", "okay", "hey", "what time is it", "turn on the light",
             "good morning", "thank you", "hey there", "say that again", "never mind")


def negative_suggestions(wake_word: str, n: int, seed: int) -> list[str]:
    """`n` phrases (n >= 1) to say for negative recordings, deterministic for `seed`."""
    generate = _generator()
    phrases: list[str] = []
    if generate is not None:
        try:
            phrases = [str(p) for p in generate(wake_word, n, seed) if str(p).strip()]
        except MissingDependency as exc:  # e.g. the phrase dictionaries of the train extra
            log.info("using simple suggestions: %s", exc.message)
    if not phrases:
        return _fallback(wake_word, n)
    return [phrases[i % len(phrases)] for i in range(n)]


def _generator() -> Callable[[str, int, int], Iterable[str]] | None:
    """easy_oww.text.adversarial_phrases, or None when it cannot be imported."""
    for module in ("easy_oww.text", "easy_oww.text.adversarial"):
        try:
            fn = getattr(importlib.import_module(module), "adversarial_phrases", None)
        except ImportError as exc:
            log.debug("cannot import %s: %s", module, exc)
            continue
        if callable(fn):
            return fn  # type: ignore[no-any-return]
    return None


def _fallback(wake_word: str, n: int) -> list[str]:
    words = wake_word.split()
    parts = list(words)
    if len(words) > 1:
        parts.append(" ".join(words[:-1]))
    pool = list(dict.fromkeys([p for p in parts if p and p != wake_word] + list(_EVERYDAY)))
    return [pool[i % len(pool)] for i in range(n)]
