"""Can the voices say the wake phrase? A check made at `create` and before `train`.

easy-oww's voices speak English: espeak-ng's English accents and variants, Piper's
English voices and OpenAI's voices reading English text; the phrase variations, near-miss
phrases and negative sentences are English too. espeak-ng's English voices read a phrase
in another script letter by letter ("привет" is spelt out, "你好" becomes "Chinese letter
Chinese letter"), so a model trained on that audio learns a sound nobody says. Such a
phrase is refused with one line and a hint, before anything is written.

    English: measured (README, docs/training.md).
    Other languages in Latin letters ("hallo haus"): accepted, read with English
    pronunciation; not measured.
    Other scripts (Cyrillic, Greek, Arabic, Hebrew, CJK, ...): not supported.
"""

from __future__ import annotations

import unicodedata

from easy_oww.errors import EasyOWWError

LANGUAGES = "English (espeak-ng English accents, Piper en_* voices, OpenAI)"
"""What the voices speak, as named in the refusal's hint and in docs/tts.md."""


def script_of(char: str) -> str:
    """The Unicode script word of a letter: 'LATIN', 'CYRILLIC', 'CJK', 'GREEK', ..."""
    try:
        return unicodedata.name(char).split()[0]
    except ValueError:
        return "UNKNOWN"


def foreign_letters(text: str) -> list[str]:
    """Letters of `text` that are not Latin (in order, each once)."""
    seen: list[str] = []
    for c in text:
        if c.isalpha() and script_of(c) != "LATIN" and c not in seen:
            seen.append(c)
    return seen


def _script_names(letters: list[str]) -> str:
    names: list[str] = []
    for c in letters:
        s = script_of(c)
        s = "CJK" if s in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL") else s
        label = "Chinese/Japanese/Korean" if s == "CJK" else s.title()
        if label not in names:
            names.append(label)
    return " and ".join(names)


def check_sayable(wake_word: str) -> None:
    """Raise an EasyOWWError when the voices cannot say `wake_word` (see the module doc)."""
    bad = foreign_letters(wake_word)
    if not bad:
        return
    shown = "".join(bad[:6])
    raise EasyOWWError(
        f"the voices cannot say {wake_word!r}: they speak {LANGUAGES}, and read "
        f"{_script_names(bad)} letters ({shown}) one by one as letter names",
        "write the phrase in Latin letters as it sounds (e.g. \"privet dom\"), or pick an "
        "English phrase; see docs/tts.md for the languages that work")
