"""Wake-phrase variations, validated near-miss phrases and negative sentences."""

from __future__ import annotations

import pytest

from easy_oww.text import (
    adversarial_phrases,
    is_safe_negative,
    negative_sentences,
    phrase_variations,
)
from easy_oww.text.adversarial import phone_distance
from easy_oww.text.phonetics import (
    canonical,
    in_dictionary,
    substring_distance,
    text_pronunciations,
    words,
)

WAKE_PHRASES = ("hey jarvis", "hey zorbly", "alexa", "ok computer", "hey mycroft")


def test_variations_are_the_phrase_written_differently() -> None:
    out = phrase_variations("hey jarvis", 200, seed=3)
    assert len(out) == 200 and out[0] == "hey jarvis"
    assert len(set(out)) == 200  # distinct until the pool runs out
    assert out == phrase_variations("hey jarvis", 200, seed=3)
    assert out != phrase_variations("hey jarvis", 200, seed=4)
    for text in out:
        assert words(text)[-2:] == ["hey", "jarvis"], text
    assert any("," in t for t in out) and any(t.endswith("?") for t in out)
    assert any(t != t.lower() for t in out) and any(words(t)[0] == "um" for t in out)
    assert len(phrase_variations("alexa", 3000, seed=0)) == 3000  # repeats allowed past the pool


def test_homophones_are_unsafe() -> None:
    assert not is_safe_negative("hey jarvis", "hey jarvis")
    assert not is_safe_negative("Hay, Jarvis!", "hey jarvis")  # homophone via CMU
    assert not is_safe_negative("well I said hey jarvus today", "hey jarvis")  # reduced vowel
    assert not is_safe_negative("a lexa", "alexa")  # across a word boundary
    assert not is_safe_negative("okay compuder", "ok computer")  # flap t/d
    assert not is_safe_negative("hey zorblee", "hey zorbly")  # out of dictionary (espeak)
    assert is_safe_negative("hey marvin", "hey jarvis")
    assert is_safe_negative("jarvis hey", "hey jarvis")
    assert is_safe_negative("hey zorbo", "hey zorbly")


def test_out_of_dictionary_words_get_pronunciations() -> None:
    assert not in_dictionary("zorbly")
    (pron,) = text_pronunciations("zorbly")
    assert pron == canonical(["Z", "AO1", "R", "B", "L", "IY0"])


@pytest.mark.parametrize("wake", WAKE_PHRASES)
def test_adversarial_yields_1000_unique_valid_phrases(wake: str) -> None:
    out = adversarial_phrases(wake, 1000, seed=0)  # its speed: benchmarks/text.py
    assert len(out) == 1000 and len(set(out)) == 1000
    assert all(is_safe_negative(p, wake) for p in out)
    targets = text_pronunciations(wake)
    for p in out:  # independent check on the phone strings
        for pron in text_pronunciations(p):
            joined = f" {' '.join(pron)} "
            assert not any(f" {' '.join(t)} " in joined for t in targets), p


def test_adversarial_mixes_strategies_and_is_deterministic() -> None:
    out = adversarial_phrases("hey jarvis", 300, seed=1)
    assert out == adversarial_phrases("hey jarvis", 300, seed=1)
    assert out != adversarial_phrases("hey jarvis", 300, seed=2)
    assert "jarvis" in out and "hey" in out  # partial phrases
    assert any(words(p) == ["jarvis", "hey"] or words(p)[:1] == ["jarvis"] for p in out)  # swapped
    assert any(words(p)[0] == "hey" and words(p)[1] != "jarvis" for p in out if len(words(p)) == 2)
    assert any(len(words(p)) >= 3 for p in out)  # carried in short phrases
    assert "hay jarvis" not in adversarial_phrases("hey jarvis", 3000, seed=1)


def test_adversarial_invents_words_for_unknown_words() -> None:
    out = adversarial_phrases("hey zorbly", 2000, seed=0)
    invented = [p for p in out if any(not in_dictionary(w) and w != "zorbly" for w in words(p))]
    assert len(invented) > 50


def test_negative_sentences_vary_and_avoid_the_wake_word() -> None:
    out = negative_sentences(500, seed=5, exclude="hey jarvis")
    assert len(out) == 500 and len(set(out)) == 500
    assert out == negative_sentences(500, seed=5, exclude="hey jarvis")
    assert out[:20] != negative_sentences(20, seed=6, exclude="hey jarvis")
    assert all(is_safe_negative(s, "hey jarvis") for s in out)
    vocab = {w for s in out for w in words(s)}
    assert len(vocab) > 800
    # a wake word made of common words is filtered out of the word salad
    risky = negative_sentences(300, seed=5, exclude="the")
    assert not any("the" in words(s) for s in risky)


def test_adversarial_moves_the_word_boundary() -> None:
    out = set(adversarial_phrases("alexa", 1000, seed=0, min_phones=1))
    assert out & {"a lexus", "the lexus", "a lexie", "i lexus", "the lex", "a lex"}
    assert "a lexa" not in out  # the homophone split is rejected


def test_substring_distance_counts_phone_edits_anywhere_in_the_text() -> None:
    assert substring_distance(("HH", "EY"), ("S", "OW", "HH", "EY", "Z")) == 0
    assert substring_distance(("HH", "EY", "JH"), ("DH", "EY", "JH", "AA")) == 1  # substituted
    assert substring_distance(("HH", "EY", "JH"), ("EY", "JH")) == 1  # deleted
    assert substring_distance(("HH", "EY", "JH"), ("HH", "EY", "T", "JH")) == 1  # inserted
    assert substring_distance(("HH", "EY"), ()) == 2


def test_near_misses_stay_two_phones_from_the_wake_phrase() -> None:
    assert phone_distance("Hay, Jarvis!", "hey jarvis") == 0
    assert phone_distance("I said they jarvis", "hey jarvis") == 1
    assert phone_distance("hey harvis", "hey jarvis") == 1
    assert phone_distance("hey marvin", "hey jarvis") >= 2
    for wake in ("hey jarvis", "alexa"):
        out = adversarial_phrases(wake, 400, seed=0)  # the default: at least 2
        assert len(out) == 400 and all(phone_distance(p, wake) >= 2 for p in out)
        loose = adversarial_phrases(wake, 400, seed=0, min_phones=1)
        assert sum(phone_distance(p, wake) == 1 for p in loose) > 20
        assert set(loose) != set(out)


def test_non_ascii_wake_word_works() -> None:
    assert words("Hey Jürgen, it's 3 o'clock!") == ["hey", "jürgen", "it's", "3", "o'clock"]
    out = adversarial_phrases("hey jürgen", 300, seed=0)
    assert len(out) == 300 and all(is_safe_negative(p, "hey jürgen") for p in out)
    assert not is_safe_negative("HEY JÜRGEN!", "hey jürgen")


def test_clips_phase_takes_near_misses_from_the_configured_distance(workspace, monkeypatch
                                                                    ) -> None:
    """`clips.near_miss_min_phones` decides which near misses get synthesized."""
    from easy_oww import tts
    from easy_oww.pipeline.clips import make_clips
    from easy_oww.project import create_project

    project = create_project(workspace, "nm", "hey jarvis")

    def texts_synthesized(min_phones: int) -> set[str]:
        config = project.config.model_copy(update={"clips": project.config.clips.model_copy(
            update={"near_miss_min_phones": min_phones})})
        seen: set[str] = set()

        def fake_synthesize_many(requests, cache_dir, **kw):  # type: ignore[no-untyped-def]
            seen.update(r.text for r in requests)
            return [cache_dir / f"{i}.wav" for i in range(len(requests))]

        monkeypatch.setattr(tts, "synthesize_many", fake_synthesize_many)
        make_clips(config, workspace, project.paths, workers=1)
        return seen

    def one_phone_away(texts: set[str]) -> set[str]:
        return {t for t in texts if phone_distance(t, "hey jarvis") == 1}

    assert project.config.clips.near_miss_min_phones == 2
    assert not one_phone_away(texts_synthesized(2))
    assert len(one_phone_away(texts_synthesized(1))) > 20
