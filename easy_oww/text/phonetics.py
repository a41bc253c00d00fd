"""Pronunciations for any English text: the CMU dictionary, espeak-ng for the rest.

Phones are ARPAbet without stress digits. Two views:
- `search_key` (light merging) indexes the dictionary for near-miss look-ups;
- `canonical` (heavy merging: reduced vowels, cot/caught, t/d/flap, ər) decides whether two
  pronunciations sound the same. Merging more makes the homophone check stricter, which is
  the safe direction for negatives.
espeak-ng's IPA output (from the embedded library) is converted to ARPAbet, so words missing
from the dictionary ("zorbly") get pronunciations too.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence

VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AX", "AY", "EH", "ER", "EY", "IH", "IY",
                    "OW", "OY", "UH", "UW"})
PHONES = tuple(sorted(VOWELS | {"B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N",
                                "NG", "P", "R", "S", "SH", "T", "TH", "V", "W", "Y", "Z", "ZH"}))
WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?")

# espeak-ng en-us IPA -> ARPAbet (after stress and length marks are removed); longest first.
_IPA = {
    "aɪɚ": "AY ER", "aɪə": "AY AX", "aʊɚ": "AW ER", "aʊə": "AW AX",
    "ɑɹ": "AA R", "ɔɹ": "AO R", "ɛɹ": "EH R", "ɪɹ": "IH R", "ʊɹ": "UH R", "oɹ": "AO R",
    "eɪ": "EY", "aɪ": "AY", "aʊ": "AW", "ɔɪ": "OY", "oʊ": "OW", "əʊ": "OW", "iə": "IY AX",
    "eə": "EH AX", "ʊə": "UH AX", "tʃ": "CH", "dʒ": "JH", "n̩": "AX N", "l̩": "AX L",
    "m̩": "AX M", "əl": "AX L",
    "i": "IY", "ɪ": "IH", "ᵻ": "IH", "e": "EY", "ɛ": "EH", "æ": "AE", "a": "AE", "ɑ": "AA",
    "ɒ": "AA", "ɔ": "AO", "o": "OW", "ʊ": "UH", "u": "UW", "ʌ": "AH", "ə": "AX", "ɐ": "AX",
    "ɚ": "ER", "ɜ": "ER", "ɝ": "ER", "p": "P", "b": "B", "t": "T", "d": "D", "k": "K",
    "ɡ": "G", "g": "G", "f": "F", "v": "V", "θ": "TH", "ð": "DH", "s": "S", "z": "Z",
    "ʃ": "SH", "ʒ": "ZH", "h": "HH", "m": "M", "n": "N", "ŋ": "NG", "l": "L", "ɹ": "R",
    "r": "R", "w": "W", "j": "Y", "ɾ": "T", "ʔ": "T", "x": "K", "ç": "HH", "ɬ": "L",
}
_IPA_MAX = max(len(k) for k in _IPA)
_REDUCED = {"AH", "IH", "EH", "UH", "AX"}


def words(text: str) -> list[str]:
    """Lower-case words of `text` (apostrophes kept inside words)."""
    return WORD_RE.findall(text.lower().replace("’", "'"))


@functools.cache
def cmu() -> dict[str, tuple[tuple[str, ...], ...]]:
    """word -> its CMU pronunciations (ARPAbet with stress digits)."""
    import pronouncing

    pronouncing.init_cmu()
    table: dict[str, list[tuple[str, ...]]] = {}
    for word, phones in pronouncing.pronunciations:
        table.setdefault(word.lower(), []).append(tuple(phones.split()))
    return {w: tuple(p) for w, p in table.items()}


def _strip(phone: str) -> tuple[str, int]:
    if phone[-1].isdigit():
        return phone[:-1], int(phone[-1])
    return phone, -1


def search_key(phones: Iterable[str]) -> tuple[str, ...]:
    """Stress-free phones, unstressed lax vowels as AX (for dictionary look-ups)."""
    out = []
    for p in phones:
        base, stress = _strip(p)
        out.append("AX" if base in _REDUCED and stress == 0 else base)
    return tuple(out)


def canonical(phones: Iterable[str]) -> tuple[str, ...]:
    """Heavily merged phones: equal canonical forms are treated as homophones."""
    out: list[str] = []
    for p in phones:
        base, stress = _strip(p)
        if base in _REDUCED and stress <= 0 or base == "AH":
            base = "AX"
        elif base == "AO":
            base = "AA"
        elif base in ("D", "DX"):
            base = "T"
        if base == "R" and out and out[-1] in ("AX", "ER"):
            out[-1] = "ER"
            continue
        if base == "ER" and out and out[-1] == "AX":
            out[-1] = "ER"
            continue
        out.append(base)
    return tuple(out)


def ipa_to_arpabet(token: str) -> list[str]:
    """One espeak IPA phoneme token (stress marks allowed) -> ARPAbet with stress digits."""
    stressed = "ˈ" in token or "ˌ" in token
    s = token.replace("ˈ", "").replace("ˌ", "").replace("ː", "").replace("‿", "")
    out: list[str] = []
    i = 0
    while i < len(s):
        for size in range(min(_IPA_MAX, len(s) - i), 0, -1):
            arpa = _IPA.get(s[i:i + size])
            if arpa is not None:
                out.extend(arpa.split())
                i += size
                break
        else:
            i += 1  # an unknown mark (tie, diacritic): skip it
    return [p + ("1" if stressed else "0") if p in VOWELS else p for p in out]


@functools.lru_cache(maxsize=65536)
def espeak_phones(text: str) -> tuple[tuple[str, ...], ...]:
    """ARPAbet phones per word from espeak-ng's letter-to-sound rules (en-us)."""
    from easy_oww.tts.espeak import engine

    result = []
    for word in engine().phonemes(text):
        phones: list[str] = []
        for token in word:
            phones.extend(ipa_to_arpabet(token))
        result.append(tuple(phones))
    return tuple(result)


def word_pronunciations(word: str, limit: int = 3) -> tuple[tuple[str, ...], ...]:
    """Up to `limit` pronunciations: the dictionary's, else espeak-ng's."""
    found = cmu().get(word)
    if found:
        return found[:limit]
    return (tuple(itertools.chain.from_iterable(espeak_phones(word))),)


def in_dictionary(word: str) -> bool:
    return word in cmu()


def text_pronunciations(text: str, max_variants: int = 16) -> list[tuple[str, ...]]:
    """Canonical phone sequences for the whole text: dictionary variant combinations
    (capped) plus espeak-ng's reading of the full text."""
    ws = words(text)
    if not ws:
        return []
    per_word = [word_pronunciations(w, limit=2) for w in ws]
    out: list[tuple[str, ...]] = []
    for combo in itertools.islice(itertools.product(*per_word), max_variants):
        out.append(canonical(itertools.chain.from_iterable(combo)))
    out.append(canonical(itertools.chain.from_iterable(espeak_phones(" ".join(ws)))))
    return list(dict.fromkeys(out))


def substring_distance(needle: Sequence[str], haystack: Sequence[str]) -> int:
    """Fewest phone edits (substitutions, insertions, deletions) that make `needle` occur
    contiguously in `haystack`: 0 when it does, len(needle) at most."""
    prev = [0] * (len(haystack) + 1)  # a match may start anywhere in the haystack
    for i, p in enumerate(needle, 1):
        cur = [i] + [0] * len(haystack)
        for j, q in enumerate(haystack, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (p != q))
        prev = cur
    return min(prev)


def contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    """True if `needle` occurs contiguously in `haystack`."""
    if not needle:
        return False
    return f" {' '.join(needle)} " in f" {' '.join(haystack)} "
