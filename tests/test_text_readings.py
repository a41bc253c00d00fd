"""Other readings of wake-phrase words missing from the dictionary ("mycroft")."""

from __future__ import annotations

from easy_oww.pipeline.clips import positive_texts
from easy_oww.text import adversarial_phrases, is_safe_negative
from easy_oww.text.adversarial import phone_distance
from easy_oww.text.readings import alternative_readings, respell, split_reading


def test_espeak_reads_mycroft_wrong_and_the_split_right() -> None:
    """The bug: espeak-ng (and so Piper and Kokoro) said "MICK-roft" in every positive."""
    from easy_oww.text.phonetics import espeak_phones

    assert espeak_phones("mycroft")[0][:2] == ("M", "IH1")
    assert split_reading("mycroft") == "my-croft"
    assert espeak_phones("my-croft")[0][:2] == ("M", "AY0")


def test_dictionary_words_and_unsplittable_names_keep_one_reading() -> None:
    for word in ("jarvis", "alexa", "computer", "nabu", "rhasspy", "hey", "bot"):
        assert split_reading(word) is None, word
    assert alternative_readings("hey jarvis") == {}
    assert alternative_readings("Hey, Mycroft!") == {"mycroft": "my-croft"}


def test_respell_replaces_whole_words_in_any_casing() -> None:
    readings = {"mycroft": "my-croft"}
    assert respell("Um, HEY-MYCROFT!", readings) == "Um, HEY-my-croft!"
    assert respell("hey mycrofty", readings) == "hey mycrofty"
    assert respell("hey jarvis", {}) == "hey jarvis"


def test_positives_say_each_reading_half_of_the_time() -> None:
    train, held = positive_texts("hey mycroft", 1)
    for texts in (train, held):
        split = [t for t in texts if "my-croft" in t.lower()]
        assert len(split) * 2 == len(texts)
    plain_train, _ = positive_texts("hey jarvis", 1)
    assert len(plain_train) * 2 == len(train)


def test_near_misses_differ_from_both_readings() -> None:
    assert not is_safe_negative("hey my croft", "hey mycroft")
    assert not is_safe_negative("hey mick roft", "hey mycroft")
    assert is_safe_negative("hey my craft", "hey mycroft")
    # one phone from the second reading ("my-croft") is too close for a near miss
    assert phone_distance("hey bycroft", "hey mycroft") == 1
    assert "hey bycroft" not in adversarial_phrases("hey mycroft", 400, seed=1277)
