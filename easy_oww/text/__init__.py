"""Text for training: wake-phrase variations, near-miss phrases, negative sentences.

    from easy_oww.text import phrase_variations, adversarial_phrases, negative_sentences
    phrase_variations("hey jarvis", 50, seed=0)       # "Hey, Jarvis!", "um, hey jarvis", ...
    adversarial_phrases("hey jarvis", 1000, seed=0)   # "hey marvin", "jarvis hey", ...
    negative_sentences(100, seed=0, exclude="hey jarvis")
"""

from easy_oww.text.adversarial import adversarial_phrases, is_safe_negative
from easy_oww.text.sentences import negative_sentences
from easy_oww.text.variations import phrase_variations

__all__ = ["adversarial_phrases", "is_safe_negative", "negative_sentences", "phrase_variations"]
