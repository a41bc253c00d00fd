"""Near-miss phrases: things that sound like the wake phrase but are not it.

Strategies, for any English phrase (words missing from the dictionary get espeak-ng
pronunciations and made-up spelling variants):
- substitute: one word replaced by a sound-alike (phone edits), rhyme or word with the
  same beginning ("hey marvin", "hey jar", "they jarvis");
- double: every word replaced;
- partial: a strict part of the phrase ("jarvis");
- swapped: the words reordered, also with a substitution ("jarvis hey");
- resegmented: two words whose joined sounds move the word boundary, with at most one
  phone changed on each side ("hedge are this" for "hey jarvis");
- invented: spelling variants of out-of-dictionary words ("hey borbly", "hey zorbla");
- carried: the above inside short carrier phrases ("I said hey marvin").
Every candidate is validated with `is_safe_negative`: none contains the wake phrase or a
homophone of it (canonical phone strings, all dictionary variants plus espeak-ng's reading).
Nor, by default, anything one phone from it ("they jarvis", "hey harvis", "olexa": see
`phone_distance`): for a voice the model never heard, or in noise, such a phrase is the wake
phrase, and refusing it cost recall on such voices (docs/training.md, session 37).
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
from collections.abc import Iterator, Sequence

import numpy as np

from easy_oww.rng import item_rng
from easy_oww.text.neighbors import rhymes, shared_beginnings, sound_alikes, vocabulary, words_near
from easy_oww.text.phonetics import (
    contains,
    in_dictionary,
    search_key,
    substring_distance,
    text_pronunciations,
    word_pronunciations,
    words,
)

log = logging.getLogger(__name__)

CARRIERS = (
    "{} please", "okay {}", "I said {}", "{} again", "the {}", "{} is here", "my {}", "and {}",
    "so {}", "{} now", "is it {}", "not {}", "{} today", "call {}", "{} or not", "just {}",
    "what about {}", "{} right", "oh {}", "{} for me", "tell {}", "maybe {}", "{} and more",
    "no more {}",
)
_ONSETS = ("b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br",
           "bl", "fl", "gr", "kl", "pl", "sh", "st", "tr", "ch", "j", "sn", "sp", "dr", "")
_VOWEL_LETTERS = ("a", "e", "i", "o", "u", "oo", "ee", "ai", "ou")
_ENDINGS = ("y", "ey", "a", "o", "er", "ie", "ly", "ny", "ry", "ble", "ster", "ton", "ish")
_ONSET_RE = re.compile(r"^([^aeiouy]*)([aeiouy]+)(.*)$")
_END_RE = re.compile(r"^(.*?)([aeiouy]+[^aeiouy]*)$")


def is_safe_negative(text: str, wake_word: str) -> bool:
    """True if `text` contains neither the wake phrase nor anything pronounced like it."""
    wake_words = words(wake_word)
    text_words = words(text)
    if not wake_words or not text_words:
        return bool(text_words) or not wake_words
    if contains(tuple(text_words), tuple(wake_words)):
        return False
    targets = _wake_pronunciations(wake_word)
    for pron in text_pronunciations(text):
        if any(contains(pron, t) for t in targets):
            return False
    return True


@functools.lru_cache(maxsize=64)
def _wake_pronunciations(wake_word: str) -> tuple[tuple[str, ...], ...]:
    """The wake phrase's canonical phone strings, its alternative reading's included
    (cached: every candidate of `adversarial_phrases` is checked against them)."""
    from easy_oww.text.readings import alternative_readings, respell

    targets = text_pronunciations(wake_word)
    readings = alternative_readings(wake_word)
    if readings:
        targets += text_pronunciations(respell(wake_word, readings))
    return tuple(targets)


def phone_distance(text: str, wake_word: str) -> int:
    """Fewest phone edits that put the wake phrase (any of its readings) inside `text`
    (any of its readings): 0 for a homophone, 1 for "they jarvis" or "hey harvis"."""
    targets = _wake_pronunciations(wake_word)
    prons = text_pronunciations(text)
    if not targets or not prons:
        return max((len(t) for t in targets), default=0)
    return min(substring_distance(t, p) for t in targets for p in prons)


def invented_words(word: str) -> list[str]:
    """Made-up spelling variants of a word: other onsets, vowels and endings."""
    out: dict[str, None] = {}
    m = _ONSET_RE.match(word)
    if m:
        onset, vowel, rest = m.groups()
        for o in _ONSETS:
            out.setdefault(o + vowel + rest)
        for v in _VOWEL_LETTERS:
            out.setdefault(onset + v + rest)
    e = _END_RE.match(word)
    if e and len(e.group(1)) >= 2:
        for end in _ENDINGS:
            out.setdefault(e.group(1) + end)
    out.pop(word, None)
    return [w for w in out if len(w) >= 2]


def _alternatives(word: str) -> list[str]:
    alts = list(dict.fromkeys(sound_alikes(word) + shared_beginnings(word) + rhymes(word)[:60]))
    if not in_dictionary(word):
        alts += invented_words(word)
    return alts


def _substitute(ws: Sequence[str], alts: Sequence[Sequence[str]]) -> Iterator[str]:
    for i, options in enumerate(alts):
        for a in options:
            yield " ".join([*ws[:i], a, *ws[i + 1:]])


def _double(ws: Sequence[str], alts: Sequence[Sequence[str]]) -> Iterator[str]:
    if len(ws) < 2:
        return
    for combo in itertools.product(*[a[:40] for a in alts]):
        yield " ".join(combo)


def _partial(ws: Sequence[str], alts: Sequence[Sequence[str]]) -> Iterator[str]:
    k = len(ws)
    for size in range(k - 1, 0, -1):
        for start in range(k - size + 1):
            yield " ".join(ws[start:start + size])
    if k == 1:  # a single word: its beginnings alone are the partials
        yield from shared_beginnings(ws[0])


def _swapped(ws: Sequence[str], alts: Sequence[Sequence[str]]) -> Iterator[str]:
    if len(ws) < 2:
        return
    for perm in itertools.islice(itertools.permutations(range(len(ws))), 1, 24):
        order = [ws[i] for i in perm]
        yield " ".join(order)
        yield from _substitute(order, [alts[i][:30] for i in perm])


def _resegmented(ws: Sequence[str], alts: Sequence[Sequence[str]]) -> Iterator[str]:
    """Two words whose joined sounds are the phrase's with the word boundary moved
    ("hey jarvis" -> "hedge are this", "alexa" -> "a lexus")."""
    pron = search_key(itertools.chain.from_iterable(word_pronunciations(w, 1)[0] for w in ws))
    vocab = vocabulary()
    for k in range(1, len(pron)):
        left = sorted(words_near(pron[:k], 0) + words_near(pron[:k], 1), key=vocab.__getitem__)
        right = sorted(words_near(pron[k:], 0) + words_near(pron[k:], 1), key=vocab.__getitem__)
        for a, b in itertools.islice(itertools.product(left[:12], right[:12]), 60):
            if [a, b] != list(ws):
                yield f"{a} {b}"


def _invented(ws: Sequence[str], alts: Sequence[Sequence[str]]) -> Iterator[str]:
    for i, w in enumerate(ws):
        for inv in invented_words(w):
            yield " ".join([*ws[:i], inv, *ws[i + 1:]])


def _carried(base: Sequence[str], rng: np.random.Generator, per_phrase: int = 8) -> Iterator[str]:
    """Each base phrase inside `per_phrase` different carriers, bases interleaved."""
    choice = [rng.permutation(len(CARRIERS))[:per_phrase] for _ in base]
    for r in range(per_phrase):
        for phrase, carriers in zip(base, choice):
            yield CARRIERS[int(carriers[r])].format(phrase)


def adversarial_phrases(wake_word: str, n: int, seed: int, min_phones: int = 2) -> list[str]:
    """Up to `n` unique, validated near-miss phrases (fewer only if the pool runs out), each
    at least `min_phones` phone edits from the wake phrase (1: only homophones are left out)."""
    ws = words(wake_word)
    if not ws:
        raise ValueError(f"wake word {wake_word!r} has no words")
    rng = item_rng(seed, wake_word, 0, stream="adversarial")
    alts = [_alternatives(w) for w in ws]
    makers = (_substitute, _partial, _swapped, _resegmented, _double, _invented)
    pools = []
    for make in makers:
        pool = list(dict.fromkeys(make(ws, alts)))
        pools.append([pool[int(i)] for i in rng.permutation(len(pool))])
    base = [p for pool in pools[:4] for p in pool[:200]]
    pools.append(list(_carried([base[int(i)] for i in rng.permutation(len(base))], rng)))
    out: dict[str, None] = {}
    rejected = 0
    for phrase in _round_robin(pools):
        if len(out) >= n:
            break
        if phrase in out or phrase == " ".join(ws):
            continue
        if is_safe_negative(phrase, wake_word) and (
                min_phones <= 1 or phone_distance(phrase, wake_word) >= min_phones):
            out[phrase] = None
        else:
            rejected += 1
    log.debug("adversarial %r: %d phrases, %d homophones or phrases closer than %d phones "
              "rejected", wake_word, len(out), rejected, min_phones)
    if len(out) < n:
        log.info("only %d near-miss phrases found for %r (asked for %d)", len(out), wake_word, n)
    return list(out)


def _round_robin(pools: Sequence[Sequence[str]]) -> Iterator[str]:
    iters = [iter(p) for p in pools]
    while iters:
        alive = []
        for it in iters:
            item = next(it, None)
            if item is not None:
                yield item
                alive.append(it)
        iters = alive
