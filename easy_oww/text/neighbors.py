"""Sound-alike words from the CMU dictionary: phone edits, rhymes, shared beginnings.

The vocabulary is the dictionary restricted to common words (wordfreq), so TTS engines
read them naturally. Look-ups generate every phone substitution, insertion and deletion
(and pairs of them) of a word and probe an index keyed by phones: fast, no dictionary scan.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from easy_oww.text.phonetics import PHONES, VOWELS, cmu, search_key, word_pronunciations

PhoneIndex = dict[tuple[str, ...], tuple[str, ...]]
VOCAB_SIZE = 60000  # most frequent English words considered
_ALPHA = re.compile(r"^[a-z]+(?:'[a-z]+)?$")


@functools.cache
def vocabulary() -> dict[str, int]:
    """Common dictionary words -> frequency rank (0 = most common)."""
    import wordfreq

    table = cmu()
    vocab: dict[str, int] = {}
    for rank, w in enumerate(wordfreq.top_n_list("en", VOCAB_SIZE)):
        if w in table and _ALPHA.match(w) and (len(w) > 1 or w in ("a", "i")):
            vocab.setdefault(w, rank)
    return vocab


@functools.cache
def _index() -> tuple[PhoneIndex, PhoneIndex]:
    """(phones -> words, rhyme part -> words) over the vocabulary, most common first."""
    by_phones: dict[tuple[str, ...], list[str]] = {}
    by_rhyme: dict[tuple[str, ...], list[str]] = {}
    table = cmu()
    for w in sorted(vocabulary(), key=vocabulary().__getitem__):
        for pron in table[w][:2]:
            key = search_key(pron)
            by_phones.setdefault(key, []).append(w)
            rp = rhyme_part(pron)
            if rp:
                by_rhyme.setdefault(rp, []).append(w)
    return ({k: tuple(dict.fromkeys(v)) for k, v in by_phones.items()},
            {k: tuple(dict.fromkeys(v)) for k, v in by_rhyme.items()})


def rhyme_part(pron: tuple[str, ...]) -> tuple[str, ...]:
    """Phones from the last stressed vowel on (stress digits dropped)."""
    last = None
    for i, p in enumerate(pron):
        if p[-1] in "12":
            last = i
    if last is None:
        vowels = [i for i, p in enumerate(pron) if p.rstrip("012") in VOWELS]
        last = vowels[-1] if vowels else None
    return search_key(pron[last:]) if last is not None else ()


def _edits(key: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    n = len(key)
    for i in range(n):
        yield key[:i] + key[i + 1:]
        for p in PHONES:
            if p != key[i]:
                yield key[:i] + (p,) + key[i + 1:]
    for i in range(n + 1):
        for p in PHONES:
            yield key[:i] + (p,) + key[i:]


def words_near(key: tuple[str, ...], distance: int) -> list[str]:
    """Vocabulary words whose phones are exactly `distance` edits from `key` (or fewer)."""
    by_phones, _ = _index()
    found: dict[str, None] = {}
    frontier = {key}
    seen = set(frontier)
    if distance == 0:
        return list(by_phones.get(key, ()))
    for _ in range(distance):
        nxt: set[tuple[str, ...]] = set()
        for k in frontier:
            for e in _edits(k):
                if e not in seen and e:
                    seen.add(e)
                    nxt.add(e)
                    for w in by_phones.get(e, ()):
                        found.setdefault(w)
        frontier = nxt
    return list(found)


def _candidates(word: str, distance: int) -> list[str]:
    found: dict[str, None] = {}
    for pron in word_pronunciations(word, limit=2):
        found.update(dict.fromkeys(words_near(search_key(pron), distance)))
    found.pop(word, None)
    return list(found)


@functools.lru_cache(maxsize=1024)
def sound_alikes(word: str, max_distance: int = 2) -> tuple[str, ...]:
    """Common words within `max_distance` phone edits of `word`, closest then commonest."""
    vocab = vocabulary()
    out: dict[str, None] = {}
    for d in range(1, max_distance + 1):
        for w in sorted(_candidates(word, d), key=lambda w: vocab.get(w, 10**9)):
            out.setdefault(w)
    out.pop(word, None)
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def rhymes(word: str) -> tuple[str, ...]:
    _, by_rhyme = _index()
    out: dict[str, None] = {}
    for pron in word_pronunciations(word, limit=2):
        for w in by_rhyme.get(rhyme_part(pron), ()):
            out.setdefault(w)
    out.pop(word, None)
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def shared_beginnings(word: str, min_phones: int = 2) -> tuple[str, ...]:
    """Common words that start with the same phones (e.g. "jar", "jargon" for "jarvis")."""
    by_phones, _ = _index()
    out: dict[str, None] = {}
    for pron in word_pronunciations(word, limit=2):
        key = search_key(pron)
        for n in range(len(key), min_phones - 1, -1):
            prefix = key[:n]
            for k, ws in by_phones.items():
                if k[:n] == prefix and abs(len(k) - len(key)) <= 2:
                    out.update(dict.fromkeys(ws))
            if len(out) >= 60:
                break
    out.pop(word, None)
    return tuple(out)
