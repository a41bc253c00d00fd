"""What the negative audio says and who says it: sentences without the wake phrase, the
voices held out from training, and the TTS requests that speak them."""

from __future__ import annotations

import re
from collections.abc import Sequence

from easy_oww.errors import EasyOWWError
from easy_oww.text import negative_sentences
from easy_oww.tts.split import split_voices
from easy_oww.tts.types import SynthesisRequest, Voice
from easy_oww.workspace import Workspace

HOLDOUT_FRACTION = 0.2

FALLBACK_SENTENCES = (
    "Could you turn the lights down a little in the living room.",
    "I think the meeting was moved to Thursday afternoon.",
    "The train to the city leaves every twenty minutes.",
    "Please remember to buy milk, bread and some apples.",
    "What time does the pharmacy close on Sundays?",
    "She said the package would arrive before noon.",
    "We should water the plants before we leave.",
    "The weather forecast says it will rain all weekend.",
    "My brother is coming over for dinner tonight.",
    "Can you read me the last message again?",
    "The children are playing football in the garden.",
    "I left my keys on the kitchen table this morning.",
    "Let's watch a film after the news.",
    "How long should the pasta boil for?",
    "There is a traffic jam on the motorway again.",
    "The library has a new collection of old maps.",
    "Set the oven to two hundred degrees, please.",
    "He plays the piano every evening after work.",
    "Our flight was delayed by almost three hours.",
    "Turn the music up, I love this song.",
    "The doctor said I should drink more water.",
    "We need a bigger table for the party.",
    "Did anyone feed the cat today?",
    "The museum is closed on Mondays and public holidays.",
    "I'll call you back when I get home.",
    "The shop around the corner sells fresh fish.",
    "Remind me to pay the electricity bill tomorrow.",
    "That restaurant makes the best soup in town.",
    "It was so cold that the lake froze over.",
    "Put the blue folder on the top shelf.",
    "The garden looks lovely in the spring.",
    "How far is it to the nearest petrol station?",
    "I can't find my glasses anywhere.",
    "The baby finally fell asleep after lunch.",
    "We're going hiking in the mountains next week.",
    "Switch off the heating when you go out.",
    "Grandma sent us a postcard from the seaside.",
    "The printer has run out of paper again.",
    "Which bus goes to the central station?",
    "Thank you very much, that was really helpful.",
)
"""Spoken when every generated sentence contains a word of the wake phrase."""


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def negative_texts(n: int, seed: int, exclude: str) -> list[str]:
    """Sentences without the words of the wake phrase `exclude` (easy_oww.text's generator,
    else the built-in list)."""
    texts = list(negative_sentences(n, seed, exclude))
    words = {w for w in _words(exclude) if len(w) > 2}
    kept = [t for t in texts if not words & _words(t)]
    return kept or list(FALLBACK_SENTENCES)


def held_out_voices(voices: Sequence[Voice], fraction: float, seed: int) -> list[Voice]:
    """The voices training does not use (the same split as the clips phase)."""
    return list(split_voices(list(voices), fraction, seed)[1])


def default_voices(workspace: Workspace, seed: int, fraction: float) -> list[Voice]:
    """The held-out voices of every installed espeak-ng and Piper voice."""
    from easy_oww.tts import list_voices

    voices = list_voices(workspace, backends=("espeak", "piper"))
    if not voices:
        raise EasyOWWError("no TTS voice is available to make negative test audio",
                           "install espeakng-loader (pip install 'easy-oww[train]'), or "
                           "pass your own long recordings with --audio")
    return held_out_voices(voices, fraction, seed)


def cap_families(requests: list[SynthesisRequest], cap: int) -> list[SynthesisRequest]:
    """At most `cap` requests of each family whose backend is not `cheap` (all but
    espeak-ng, whose synthesis costs next to nothing), `cap` over the backend's
    `relative_cost` for engines dearer than Piper, kept in order."""
    from easy_oww.tts import make_registry
    from easy_oww.tts.synth import scaled_cap

    registry = make_registry()
    seen: dict[str, int] = {}
    out = []
    for r in requests:
        fam = r.voice.family
        seen[fam] = seen.get(fam, 0) + 1
        backend = registry.get(r.voice.backend)
        if (backend is not None and backend.cheap) or seen[fam] <= scaled_cap(cap, backend):
            out.append(r)
    return out
