"""Varied English sentences for long-form negative speech, without the wake phrase.

Two sources, mixed: grammatical sentences from templates and word lists, and "word salad"
from the commonest English words (wordfreq), which covers sounds the templates do not.
Deterministic per seed; each sentence is checked with `is_safe_negative`.
"""

from __future__ import annotations

import logging

import numpy as np

from easy_oww.rng import item_rng
from easy_oww.text.adversarial import is_safe_negative

log = logging.getLogger(__name__)

SUBJECTS = ("I", "you", "we", "they", "my brother", "the teacher", "our neighbour", "the kids",
            "my friend", "the manager", "somebody", "everyone", "the doctor", "my mother",
            "the driver", "a customer", "the old man", "her sister", "the team", "his cousin")
VERBS = ("bought", "found", "cleaned", "painted", "opened", "forgot", "moved", "fixed", "sold",
         "borrowed", "carried", "washed", "dropped", "ordered", "lost", "checked", "cooked",
         "wrapped", "returned", "described", "noticed", "repaired", "watched", "packed")
ADJECTIVES = ("red", "heavy", "small", "broken", "new", "quiet", "strange", "warm", "empty",
              "wooden", "bright", "cheap", "famous", "tiny", "cold", "green", "dusty", "shiny",
              "fresh", "noisy", "gentle", "simple", "expensive", "crowded")
NOUNS = ("table", "bicycle", "window", "kettle", "garden", "letter", "umbrella", "blanket",
         "ticket", "basket", "lamp", "piano", "sandwich", "bottle", "ladder", "camera",
         "notebook", "carpet", "bucket", "pillow", "wallet", "suitcase", "printer", "sofa")
PLACES = ("in the kitchen", "at the station", "near the river", "behind the school",
          "on the bus", "at the market", "in the garage", "upstairs", "by the door",
          "at the office", "in the park", "downtown", "at the library", "outside")
TIMES = ("yesterday", "this morning", "last week", "on Sunday", "after lunch", "tonight",
         "every day", "in the evening", "two days ago", "before dinner", "right now", "later")
TOPICS = ("the weather", "the game", "dinner", "the meeting", "the news", "music", "school",
          "the holidays", "traffic", "prices", "the garden", "work")
INTERJECTIONS = ("oh", "ow", "no", "nooo", "oh no", "wow", "hmm", "haha", "ha ha ha", "ah",
                 "uh huh", "yeah", "yes", "okay", "oops", "ouch", "hey", "hi", "right",
                 "sure", "really", "boring", "what", "huh", "well", "come on", "oh my god",
                 "thanks", "sorry", "please", "yay", "ugh", "whoa", "aha", "bye", "look",
                 "wait", "stop", "hello", "nice", "great", "alright", "never mind", "oh dear")
"""Short utterances and vocalisations: what real people say most and TTS sentences lack (a
model trained on long sentences alone fired on real "ow", "nooo", "boring" and laughs)."""
SHORT_FRACTION = 0.15  # share of negative sentences that are short utterances
TEMPLATES = (
    "{S} {V} the {A} {N} {T}.",
    "{S} {V} a {A} {N} {P}.",
    "Did {s} really leave the {N} {P}?",
    "Could you put the {A} {N} {P}, please?",
    "{T}, {s} talked about {O} for an hour.",
    "I think {s} {V} the {N} {T}.",
    "Why is the {N} so {A}?",
    "Don't forget the {N} {T}.",
    "{S} said the {N} was too {A}.",
    "We should talk about {O} {T}.",
    "There is a {A} {N} {P}.",
    "{S} never liked {O} very much.",
    "The {N} {P} looks {A} {T}.",
    "How much did the {A} {N} cost?",
    "{S} {V} my {N}, and then {s} {V} the {N2}.",
    "If it rains {T}, we will stay {P}.",
    "Let me know if {s} found the {N}.",
    "Honestly, {O} was the best part of the day.",
    "{S} kept the {A} {N} {P} for years.",
    "Where did {s} put the {N2}?",
)


def _template_sentence(rng: np.random.Generator) -> str:
    def pick(seq: tuple[str, ...]) -> str:
        return seq[int(rng.integers(len(seq)))]

    subject = pick(SUBJECTS)
    text = pick(TEMPLATES).format(
        S=subject[0].upper() + subject[1:], s=subject, V=pick(VERBS), A=pick(ADJECTIVES),
        N=pick(NOUNS), N2=pick(NOUNS), P=pick(PLACES), T=pick(TIMES), O=pick(TOPICS))
    return text[0].upper() + text[1:]


def _short_utterance(rng: np.random.Generator) -> str:
    """One to three interjections with the punctuation of a call, a question or a sigh."""
    words = [INTERJECTIONS[int(rng.integers(len(INTERJECTIONS)))]
             for _ in range(int(rng.integers(1, 4)))]
    marks = ("!", "?", ".", "...")
    text = ", ".join(words)
    return text[0].upper() + text[1:] + marks[int(rng.integers(len(marks)))]


def _common_words() -> tuple[list[str], np.ndarray]:
    import wordfreq

    ws = [w for w in wordfreq.top_n_list("en", 8000) if w.isalpha()]
    weights = 1.0 / np.arange(1, len(ws) + 1) ** 0.7
    return ws, weights / weights.sum()


def _salad_sentence(rng: np.random.Generator, vocab: list[str], p: np.ndarray) -> str:
    n = int(rng.integers(5, 14))
    picked = [vocab[int(i)] for i in rng.choice(len(vocab), size=n, p=p)]
    text = " ".join(picked)
    return text[0].upper() + text[1:] + "."


def negative_sentences(n: int, seed: int, exclude: str = "",
                       salad_fraction: float = 0.3, short_fraction: float = SHORT_FRACTION) -> list[str]:
    """`n` sentences (templates, word salad and, a `short_fraction` of them, short
    utterances) that never contain `exclude` or a homophone."""
    try:
        vocab, p = _common_words()
    except ImportError:
        vocab, p = [], np.zeros(0)
    out: list[str] = []
    seen: set[str] = set()
    i = 0
    while len(out) < n and i < 50 * n + 100:
        rng = item_rng(seed, i, 0, stream="negative-sentences")
        i += 1
        roll = rng.random()
        if roll < short_fraction:
            text = _short_utterance(rng)
        elif bool(vocab) and roll < short_fraction + salad_fraction:
            text = _salad_sentence(rng, vocab, p)
        else:
            text = _template_sentence(rng)
        if text in seen or (exclude.strip() and not is_safe_negative(text, exclude)):
            continue
        seen.add(text)
        out.append(text)
    return out
