"""Other readings of wake-phrase words that the pronunciation dictionary does not know.

Every TTS engine here reads a word through espeak-ng's letter-to-sound rules when the word
is not in its dictionary (Piper phonemizes with espeak-ng; Kokoro gets espeak-ng's
phonemes), and for names those rules can be wrong: espeak-ng reads "mycroft" as
"MICK-roft", so every positive clip said a word that people, and other synthesizers, say
"MY-croft". For a word missing from the CMU dictionary that splits into two common
dictionary words ("my" + "croft"), the split, written with a hyphen ("my-croft"), is a
second reading; positives say each reading half of the time, and near misses must differ
from both. Words in the dictionary ("jarvis", "alexa") keep their one reading.
"""

from __future__ import annotations

import functools
import re

from easy_oww.text.phonetics import canonical, espeak_phones, in_dictionary, words

MIN_LETTERS = 5  # shorter words are read well enough, and split into nonsense
MIN_PART = 2
MIN_ZIPF = 3.0  # each part at least as common as "croft" (3.2) or "vis" (3.4)


def _reading(text: str) -> tuple[str, ...]:
    return canonical(p for w in espeak_phones(text) for p in w)


@functools.cache
def split_reading(word: str) -> str | None:
    """`word` as two common dictionary words joined by a hyphen ("mycroft" -> "my-croft"),
    when it is missing from the dictionary, such a split exists and espeak-ng reads the
    split otherwise than the word; else None. Among splits, the one whose rarer part is
    most common wins."""
    from wordfreq import zipf_frequency

    word = word.lower()
    if len(word) < MIN_LETTERS or not word.isalpha() or in_dictionary(word):
        return None
    best: tuple[float, str] | None = None
    for i in range(MIN_PART, len(word) - MIN_PART + 1):
        a, b = word[:i], word[i:]
        if not (in_dictionary(a) and in_dictionary(b)):
            continue
        score = min(zipf_frequency(a, "en"), zipf_frequency(b, "en"))
        if score >= MIN_ZIPF and (best is None or score > best[0]):
            best = (score, f"{a}-{b}")
    if best is None or _reading(best[1]) == _reading(word):
        return None
    return best[1]


def alternative_readings(wake_word: str) -> dict[str, str]:
    """word -> its other written reading, for the wake phrase's words that have one."""
    out = {}
    for w in words(wake_word):
        alt = split_reading(w)
        if alt is not None:
            out[w] = alt
    return out


def respell(text: str, readings: dict[str, str]) -> str:
    """`text` with each word of `readings` replaced (any casing) by its other reading."""
    for word, alt in readings.items():
        text = re.sub(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", alt, text,
                      flags=re.IGNORECASE)
    return text
