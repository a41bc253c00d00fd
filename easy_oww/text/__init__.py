"""Text for training: wake-phrase variations, near-miss phrases, negative sentences.

    from easy_oww.text import phrase_variations, adversarial_phrases, negative_sentences
    phrase_variations("hey jarvis", 50, seed=0)       # "Hey, Jarvis!", "um, hey jarvis", ...
    adversarial_phrases("hey jarvis", 1000, seed=0)   # "hey marvin", "jarvis hey", ...
    negative_sentences(100, seed=0, exclude="hey jarvis")

The names load lazily, so `easy_oww.text.language` (used by `create`) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from easy_oww.text.adversarial import adversarial_phrases, is_safe_negative
    from easy_oww.text.sentences import negative_sentences
    from easy_oww.text.variations import phrase_variations

_WHERE = {"adversarial_phrases": "adversarial", "is_safe_negative": "adversarial",
          "negative_sentences": "sentences", "phrase_variations": "variations"}

__all__ = ["adversarial_phrases", "is_safe_negative", "negative_sentences", "phrase_variations"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'easy_oww.text' has no attribute {name!r}")
    return getattr(importlib.import_module(f"easy_oww.text.{_WHERE[name]}"), name)
