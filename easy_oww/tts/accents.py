"""Other English accents for Piper's voices (`tts.piper_accent_share`).

A Piper voice reads phonemes that espeak-ng makes from the text, in the voice's own accent
(joe: "en-us"). Asking espeak-ng for another of its English accents ("en-gb-scotland",
"en-029", ...) changes vowels, rhoticity and stress while the voice keeps its timbre: more
ways of saying the same words, for nothing.

A text that holds the wake phrase is only read in accents that keep the phrase's
consonants as the voice's own accent says them (`keeping_accents`): the non-rhotic accents
drop the r of "jarvis", and hearing the phrase so cost "hey jarvis" recall on voices it
never heard (docs/training.md, sessions 25-26). Each request's accent is drawn from its
seed and text, so plans are the same everywhere; the accent is part of the request and so
of its clip's cache key.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

from easy_oww.rng import item_rng
from easy_oww.tts.types import SynthesisRequest

# espeak-ng's English accents that Piper's English voices can read.
ACCENTS = ("en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
           "en-029", "en-us-nyc")
_NOT_CONSONANTS = frozenset("aeiouyæɑɒɔəɛɜɪʊʌɐɵʉɘɨøœɶɤɯ" + "ːˈˌ.:-_ 'ʲ" + "\u0303\u0329")
_SAME_CONSONANT = {"ɹ": "r", "ɾ": "t", "ɡ": "g", "ɚ": "r", "ɝ": "r"}


def skeleton(phonemes: str) -> str:
    """The consonants of a phoneme string, in order: r-coloured vowels count as r, the
    flap as t, and every kind of r as one ("dʒˈɑːɹvɪs" -> "dʒrvs")."""
    return "".join(_SAME_CONSONANT.get(c, c) for c in phonemes if c not in _NOT_CONSONANTS)


def letters(text: str) -> str:
    """The letters of a text, lower case: "Hey, Jarvis!" -> "heyjarvis"."""
    return "".join(c for c in text.lower() if c.isalpha())


@functools.cache
def _phonemes(accent: str, text: str) -> str:
    """`text` in `accent` as espeak-ng phonemizes it (the phonemes a Piper voice reads)."""
    from easy_oww.tts.espeak import engine
    return "".join("".join(w) for w in engine().phonemes(text, accent))


def keeping_accents(phrase: str, own: str) -> list[str]:
    """The accents other than `own` in which `phrase` keeps the consonants that `own`
    gives it: for "hey jarvis" in "en-us", only those that say its r."""
    mine = skeleton(_phonemes(own, phrase))
    return [a for a in ACCENTS if a != own and skeleton(_phonemes(a, phrase)) == mine]


def draw_accent(request: SynthesisRequest, share: float, choices: Sequence[str]) -> str | None:
    """The accent of one request: with probability `share` one of `choices` (uniform),
    drawn from the request's seed and text; None (the voice's own) otherwise."""
    rng = item_rng(request.seed, request.text, 0, stream="piper-accent")
    if rng.random() >= share or not choices:
        return None
    return str(choices[int(rng.integers(len(choices)))])


def with_accents(requests: Sequence[SynthesisRequest], share: float,
                 phrase: str) -> list[SynthesisRequest]:
    """`requests` with a share of the English Piper ones read in another accent; a text
    that holds `phrase` only in the accents that keep its consonants. Requests that are
    equal stay equal (a family's capped repeats are one clip)."""
    if share <= 0.0:
        return list(requests)
    from easy_oww.tts.piper_backend import espeak_voice
    key = letters(phrase)
    out = []
    for r in requests:
        own = espeak_voice(r.voice) if r.voice.backend == "piper" else None
        if own not in ACCENTS:
            out.append(r)
            continue
        choices = (keeping_accents(phrase, own) if key and key in letters(r.text)
                   else [a for a in ACCENTS if a != own])
        accent = draw_accent(r, share, choices)
        out.append(r if accent is None else dataclasses.replace(r, accent=accent))
    return out
