"""Ways of writing the wake phrase that TTS engines read with different prosody."""

from __future__ import annotations

import itertools

from easy_oww.rng import item_rng
from easy_oww.text.phonetics import words

# Leading fillers only: words after the phrase would put speech where the detector fires.
FILLERS = ("", "um, ", "uh, ", "oh, ", "okay, ", "so, ", "well, ", "hmm, ", "and ", "now, ")
ENDINGS = ("", ".", "!", "?", "...", ",", "!!")


def _casings(ws: list[str]) -> list[list[str]]:
    return [ws, [w.capitalize() for w in ws], [ws[0].capitalize(), *ws[1:]],
            [w.upper() for w in ws]]


def _joins(ws: list[str]) -> list[str]:
    if len(ws) == 1:
        return ws[:]
    first, rest = ws[0], " ".join(ws[1:])
    return [" ".join(ws), f"{first}, {rest}", "-".join(ws), f"{first}  {rest}",
            f"{first}... {rest}"]


def variation_pool(wake_word: str) -> list[str]:
    """Every distinct written form: casing x spacing/punctuation x filler x ending."""
    ws = words(wake_word)
    if not ws:
        raise ValueError(f"wake word {wake_word!r} has no words")
    forms: dict[str, None] = {}
    for cased in _casings(ws):
        for body, filler, end in itertools.product(_joins(cased), FILLERS, ENDINGS):
            text = filler + body + end
            forms.setdefault(text[0].upper() + text[1:] if filler and cased is not ws else text)
    return list(forms)


def phrase_variations(wake_word: str, n: int, seed: int) -> list[str]:
    """`n` written forms of the wake phrase; the plain phrase first, all distinct forms
    before any repeats, in a seeded order."""
    pool = variation_pool(wake_word)
    plain = " ".join(words(wake_word))
    rest = [p for p in pool if p != plain]
    rng = item_rng(seed, wake_word, 0, stream="phrase-variations")
    out = [plain]
    while len(out) < n:
        out.extend(rest[int(i)] for i in rng.permutation(len(rest)))
    return out[:n]
