"""Piper voices read in other English accents (`tts.piper_accent_share`)."""

from __future__ import annotations

import numpy as np
import pytest

from easy_oww.config import ProjectConfig
from easy_oww.tts import SynthesisRequest, Voice, list_voices, synthesize
from easy_oww.tts.accents import ACCENTS, draw_accent, letters, skeleton, with_accents
from easy_oww.tts.synth import cache_key


def test_skeleton_keeps_consonants_and_counts_every_r_as_one() -> None:
    assert skeleton("hˈeɪ dʒˈɑːɹvɪs") == "hdʒrvs"
    assert skeleton("hˈeː dʒˈaːrvɪs") == "hdʒrvs"  # Scottish trill: still an r
    assert skeleton("hˈeɪ dʒˈɑːvɪs") == "hdʒvs"  # non-rhotic: the r is gone
    assert skeleton("kəmpjˈuːɾɚ") == skeleton("kəmpjˈuːtɹ") == "kmpjtr"
    assert letters("Hey, Jarvis!") == letters("hey jarvis") == "heyjarvis"


def test_draw_is_seeded_and_takes_the_share() -> None:
    voice = Voice("piper", "x")
    reqs = [SynthesisRequest(f"text {i}", voice, seed=i) for i in range(2000)]
    drawn = [draw_accent(r, 0.2, ["a", "b", "c"]) for r in reqs]
    assert drawn == [draw_accent(r, 0.2, ["a", "b", "c"]) for r in reqs]
    share = sum(d is not None for d in drawn) / len(drawn)
    assert 0.17 < share < 0.23
    assert {d for d in drawn if d is not None} == {"a", "b", "c"}
    assert all(draw_accent(r, 0.0, ["a"]) is None for r in reqs[:50])
    assert all(draw_accent(r, 1.0, []) is None for r in reqs[:50])


def test_an_accent_is_in_the_cache_key_only_when_set() -> None:
    voice = Voice("piper", "en_US-joe-medium")
    plain = SynthesisRequest("hey jarvis", voice, seed=3)
    assert "accent" not in plain.params()
    accented = SynthesisRequest("hey jarvis", voice, seed=3, accent="en-029")
    assert cache_key(accented) != cache_key(plain)


def test_the_share_is_a_checked_config_field() -> None:
    assert ProjectConfig(name="p", wake_word="hey jarvis").tts.piper_accent_share == 0.2
    with pytest.raises(ValueError, match="piper_accent_share"):
        ProjectConfig.model_validate({"name": "p", "wake_word": "x", "tts": {"piper_accent_share": 1.5}})


piper = pytest.importorskip("piper", reason="Piper extra not installed")


def _joe() -> Voice:
    (voice,) = [v for v in list_voices(backends=("piper",)) if v.name == "en_US-joe-medium"]
    return voice


def test_the_phrase_only_gets_accents_that_keep_its_consonants() -> None:
    from easy_oww.tts.accents import keeping_accents
    assert keeping_accents("hey jarvis", "en-us") == ["en-gb-scotland"]  # the rest drop the r
    assert keeping_accents("alexa", "en-us") == [a for a in ACCENTS if a != "en-us"]
    assert "en-gb-x-gbcwmd" not in keeping_accents("hey mycroft", "en-us")  # drops the h


def test_with_accents_reads_a_share_of_piper_requests_in_other_accents() -> None:
    joe, espeak = _joe(), Voice("espeak", "en-us")
    texts = ["hey jarvis", "Hey, Jarvis?", "hey jervis", "the weather is fine"]
    reqs = [SynthesisRequest(texts[i % 4], joe if i // 4 % 2 else espeak, seed=i)
            for i in range(400)]
    assert with_accents(reqs, 0.0, "hey jarvis") == reqs
    out = with_accents(reqs, 1.0, "hey jarvis")
    assert out == with_accents(reqs, 1.0, "hey jarvis")
    assert all(o == r for o, r in zip(out, reqs, strict=True) if r.voice.backend == "espeak")
    by_text: dict[str, set[str | None]] = {}
    for o in out:
        if o.voice.backend == "piper":
            by_text.setdefault(o.text, set()).add(o.accent)
    assert by_text["hey jarvis"] == by_text["Hey, Jarvis?"] == {"en-gb-scotland"}
    assert by_text["hey jervis"] == set(ACCENTS) - {"en-us"}  # a near miss: any accent
    some = with_accents(reqs, 0.2, "hey jarvis")
    n = sum(o.accent is not None for o in some)
    assert 0.1 * 200 < n < 0.3 * 200


@pytest.mark.slow
def test_piper_reads_the_requested_accent_reproducibly() -> None:
    joe = _joe()
    own = synthesize(SynthesisRequest("hey jarvis", joe, seed=4))
    rp = SynthesisRequest("hey jarvis", joe, seed=4, accent="en-gb-x-rp")
    first = synthesize(rp)
    assert not (len(first) == len(own) and np.array_equal(first, own))
    synthesize(SynthesisRequest("something else", joe, seed=5))
    assert np.array_equal(synthesize(rp), first)
    assert np.array_equal(synthesize(SynthesisRequest("hey jarvis", joe, seed=4)), own)


def test_make_clips_reads_the_configured_share_in_accents(workspace, monkeypatch) -> None:
    """The clips phase plans accents into its requests (so into their cache keys)."""
    from easy_oww import tts
    from easy_oww.pipeline.clips import make_clips
    from easy_oww.project import create_project

    project = create_project(workspace, "acc", "hey jarvis")
    config = project.config.model_copy(update={"tts": project.config.tts.model_copy(
        update={"piper_accent_share": 0.5})})
    seen: list[SynthesisRequest] = []

    def fake_synthesize_many(requests, cache_dir, **kw):
        seen.extend(requests)
        return [cache_dir / f"{i}.wav" for i in range(len(requests))]

    monkeypatch.setattr(tts, "synthesize_many", fake_synthesize_many)
    make_clips(config, workspace, project.paths, workers=1)
    piper_reqs = [r for r in seen if r.voice.backend == "piper"]
    accented = [r for r in piper_reqs if r.accent is not None]
    assert 0.3 < len(accented) / len(piper_reqs) < 0.7
    assert {r.accent for r in accented if letters("hey jarvis") in letters(r.text)} == {
        "en-gb-scotland"}
    assert all(r.accent is None for r in seen if r.voice.backend == "espeak")
