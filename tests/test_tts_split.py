"""tts/split.py: the one voice split of the clips phase and the negative audio."""

from __future__ import annotations

import logging

import pytest

from easy_oww.negative_audio import held_out_voices
from easy_oww.tts.split import split_voices
from easy_oww.tts.types import Voice

VOICES = ([Voice("espeak", f"en+v{i}") for i in range(10)]
          + [Voice("piper", "en_US-joe-medium"), Voice("piper", "en_US-amy-low")])


def test_each_backend_holds_out_its_share() -> None:
    train, held = split_voices(VOICES, 0.2, 7)
    assert sorted(map(str, train + held)) == sorted(map(str, VOICES))
    assert not set(train) & set(held)
    assert sum(v.backend == "espeak" for v in held) == 2
    assert sum(v.backend == "piper" for v in held) == 1  # at least one of two or more
    assert set(split_voices(list(reversed(VOICES)), 0.2, 7)[1]) == set(held)  # not order
    assert split_voices(VOICES, 0.2, 8) != (train, held)


def test_negative_audio_holds_out_the_voices_of_the_clips_phase() -> None:
    """The negative audio's former fallback split (dead code, now removed) ranked all
    backends together; the one split it uses now is the clips phase's, per backend."""
    for seed in range(5):
        assert held_out_voices(VOICES, 0.2, seed) == split_voices(VOICES, 0.2, seed)[1]


def test_a_single_voice_is_in_both_lists(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        train, held = split_voices(VOICES[:1], 0.2, 1)
    assert train == held == VOICES[:1]
    assert "only one TTS voice" in caplog.text


def test_negative_sentences_cap_only_costly_families() -> None:
    from easy_oww.negative_audio.sentences import cap_families
    from easy_oww.tts.types import SynthesisRequest

    requests = [SynthesisRequest(f"sentence {i}", VOICES[i % len(VOICES)]) for i in range(60)]
    capped = cap_families(requests, 3)
    piper = [r.voice.family for r in capped if r.voice.backend == "piper"]
    assert sorted(set(piper)) == ["piper:en_US-amy-low", "piper:en_US-joe-medium"]
    assert all(piper.count(f) == 3 for f in set(piper))  # 5 each asked, a family per model
    assert [r for r in capped if r.voice.backend == "espeak"] == [
        r for r in requests if r.voice.backend == "espeak"]  # espeak-ng declares itself cheap
    assert capped == [r for r in requests if r in capped]  # order kept


def test_negative_sentences_of_a_dear_engine_get_the_cap_over_its_cost() -> None:
    from easy_oww.negative_audio.sentences import cap_families
    from easy_oww.tts.types import SynthesisRequest

    voices = [Voice("kokoro", "kokoro-82m", k) for k in range(4)] + [
        Voice("piper", "en_US-joe-medium")]
    requests = [SynthesisRequest(f"sentence {i}", voices[i % 5]) for i in range(200)]
    capped = cap_families(requests, 20)
    assert sum(r.voice.backend == "kokoro" for r in capped) == 4  # 20 / relative_cost 5
    assert sum(r.voice.backend == "piper" for r in capped) == 20
