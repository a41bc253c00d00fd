"""Kokoro-82M: English phonemes for a multilingual model, blended speakers, determinism,
and speech that openWakeWord's own models recognise."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from easy_oww.errors import EasyOWWError
from easy_oww.tts import SynthesisRequest, Voice, synthesize
from easy_oww.tts import kokoro_backend as kk

needs_kokoro = pytest.mark.skipif(not kk.available(), reason="extra `kokoro` not installed")


def test_espeak_ipa_maps_onto_kokoro_symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    vocab = {c: i for i, c in enumerate("hAʤɑːɹvɪsˈɡI O.,?!")}
    monkeypatch.setattr(kk, "vocabulary", lambda: vocab)
    assert kk.to_kokoro("hˈeɪ dʒˈɑːɹvɪs") == "hˈA ʤˈɑːɹvɪs"
    assert kk.to_kokoro("ɡoʊ gaɪ") == "ɡO ɡI"
    assert kk.to_kokoro("hˈeɪ θ") == "hˈA "  # a symbol it lacks is dropped


@needs_kokoro
def test_phonemes_keep_the_clause_punctuation() -> None:
    assert kk.phonemes("hey jarvis", "en-us") == "hˈA ʤˈɑːɹvɪs"
    assert kk.phonemes("Um, hey... Jarvis?", "en-us") == "ˈʌm, hˈA. ʤˈɑːɹvɪs?"
    assert kk.phonemes("hey jarvis", "en-gb-x-rp") == "hˈA ʤˈɑːvɪs"  # no rhotic r
    assert kk.phonemes("...", "en-us") == ""


def test_speakers_are_the_packs_then_fixed_blends() -> None:
    for k in range(len(kk.PACKS)):
        assert np.array_equal(kk.mixture(k), np.eye(len(kk.PACKS))[k])
    blends = [kk.mixture(k) for k in range(len(kk.PACKS), len(kk.PACKS) + kk.BLENDS)]
    for w in blends:
        assert w.shape == (5,) and np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    assert np.array_equal(kk.mixture(17), kk.mixture(17))
    assert len({tuple(np.round(w, 6)) for w in blends}) == kk.BLENDS


@needs_kokoro
def test_voices_are_one_family_with_two_accents() -> None:
    voices = kk.voices()
    assert len(voices) == len(kk.PACKS) + kk.BLENDS
    assert {v.family for v in voices} == {"kokoro"}
    assert len({v.id for v in voices}) == len(voices)
    assert {v.language for v in voices} == set(kk.ACCENTS)
    style = kk.style(7, 12)
    assert style.shape == (1, 256) and style.dtype == np.float32
    assert not np.array_equal(style, kk.style(7, 12, variation=1.0, seed=3))
    assert np.array_equal(kk.style(7, 12, 1.0, 3), kk.style(7, 12, 1.0, 3))


def test_unavailable_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    backend = kk.KokoroBackend()
    assert not backend.availability()
    assert "easy-oww[kokoro]" in backend.availability().hint
    assert backend.list_voices() == []


@needs_kokoro
def test_corrupt_model_parts_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = kk._data
    monkeypatch.setattr(kk, "_data", lambda name: b"0" * 64 if name == "model.sha256"
                        else real(name))
    with pytest.raises(EasyOWWError, match="corrupt"):
        kk.model_bytes()


@needs_kokoro
def test_synthesis_is_deterministic_and_follows_speed_and_pitch() -> None:
    voice = Voice("kokoro", kk.MODEL, 9, "en-gb-x-rp")
    req = SynthesisRequest("hey jarvis", voice, speed=1.0, pitch=1.0, variation=0.5, seed=3)
    audio, sr = kk.synthesize(req)
    assert sr == kk.SAMPLE_RATE and audio.dtype == np.float32 and 0.5 < len(audio) / sr < 3
    again, _ = kk.synthesize(req)
    assert np.array_equal(audio, again)
    fast, _ = kk.synthesize(SynthesisRequest("hey jarvis", voice, speed=1.5, seed=3))
    assert len(fast) < 0.8 * len(audio)
    high, sr_high = kk.synthesize(SynthesisRequest("hey jarvis", voice, pitch=1.2, seed=3))
    assert sr_high == round(kk.SAMPLE_RATE * 1.2)
    assert len(high) / sr_high == pytest.approx(len(audio) / sr, rel=0.15)  # duration kept


@needs_kokoro
@pytest.mark.slow
def test_openwakeword_recognises_kokoro_speech() -> None:
    """The official models (trained on none of these voices) fire on Kokoro's wake words:
    the phonemes reach the model as English."""
    import openwakeword
    from openwakeword.model import Model

    models = Path(openwakeword.__file__).parent / "resources" / "models"
    model = Model(wakeword_model_paths=[str(models / "hey_jarvis_v0.1.onnx")])
    peaks = []
    for speaker in (0, 4, 11):  # a pack, the male pack, a blend
        voice = Voice("kokoro", kk.MODEL, speaker, kk.ACCENTS[speaker % 2])
        clip = synthesize(SynthesisRequest("hey jarvis", voice, seed=speaker))  # 16 kHz int16
        pad = np.zeros(16000, dtype=np.int16)
        stream = np.concatenate([pad, clip, pad])
        model.reset()
        scores = [model.predict(stream[i:i + 1280])["hey_jarvis_v0.1"]
                  for i in range(0, len(stream) - 1279, 1280)]
        peaks.append(max(scores))
    assert min(peaks) > 0.5, peaks
