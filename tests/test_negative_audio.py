"""Built-in long negative audio (easy_oww.negative_audio): generated once, cached with its
embedding stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from easy_oww import negative_audio as na
from easy_oww.audio.io import load_audio, save_wav
from easy_oww.contract import FRAME_SAMPLES, SAMPLE_RATE
from easy_oww.negative_audio import chunks, generate
from easy_oww.tts.types import Voice
from easy_oww.workspace import init_workspace


class FakeSynth:
    """Writes a speech-like harmonic tone per request (length from the text); counts calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.texts: list[str] = []

    def __call__(self, requests, cache_dir: Path):
        self.calls += 1
        cache_dir.mkdir(parents=True, exist_ok=True)
        out = []
        for i, r in enumerate(requests):
            self.texts.append(r.text)
            n = int(SAMPLE_RATE * (0.5 + 0.04 * len(r.text)))
            t = np.arange(n) / SAMPLE_RATE
            f0 = 100 + 10 * (i % 7)
            env = 0.5 * (1 + np.sin(2 * np.pi * 4 * t))
            x = env * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6)) * 0.3
            p = cache_dir / f"fake_{i:04d}.wav"
            save_wav(p, x.astype(np.float32))
            out.append(p)
        return out


VOICES = [Voice("espeak", "en"), Voice("espeak", "en+Alex")]


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(generate, "CHUNK_SECONDS", 40.0)
    monkeypatch.setattr(generate, "MIN_SENTENCES", 12)


def test_generates_chunks_features_and_manifest_once(tmp_path, small_chunks):
    ws = init_workspace(tmp_path / "ws")
    synth = FakeSynth()
    seen: list[tuple[str, int, int]] = []
    audio = na.ensure_negative_audio(ws, hours=0.025, seed=3, exclude="hey jarvis",
                                     voices=VOICES, synth=synth,
                                     progress=lambda t, d, n: seen.append((t, d, n)))
    assert synth.calls == 1
    assert audio.root.parent == ws.cache / "negative_audio"
    assert (audio.root / na.MANIFEST).is_file()
    assert [p.kind for p in audio.parts] == ["generated"] * 3  # 90 s in 40 s chunks
    assert audio.hours == pytest.approx(0.025, abs=0.001)
    assert seen[-1] == ("negative audio", 3, 3)
    first = audio.parts[0]
    pcm = load_audio(first.audio)
    assert len(pcm) == 40 * SAMPLE_RATE
    assert np.abs(pcm.astype(np.int32)).max() > 1000  # speech is in there
    feats = first.load_features()
    assert feats.shape == (len(pcm) // FRAME_SAMPLES, 96)
    from easy_oww.features.streaming import stream_embeddings

    assert np.abs(stream_embeddings(pcm) - feats).max() < 1e-4
    assert audio.embeddings().shape == (sum(p.load_features().shape[0] for p in audio.parts), 96)
    assert "generated negative audio" in audio.describe()

    again = na.ensure_negative_audio(ws, hours=0.025, seed=3, exclude="hey jarvis",
                                     voices=VOICES, synth=synth)
    assert synth.calls == 1  # cached: no synthesis, no generation
    assert again.parts == audio.parts


def test_deterministic_and_resumes_after_a_lost_chunk(tmp_path, small_chunks):
    kw = {"hours": 0.012, "seed": 5, "exclude": "hey jarvis", "voices": VOICES}
    a = na.ensure_negative_audio(init_workspace(tmp_path / "a"), synth=FakeSynth(), **kw)
    b = na.ensure_negative_audio(init_workspace(tmp_path / "b"), synth=FakeSynth(), **kw)
    assert [p.audio.read_bytes() for p in a.parts] == [p.audio.read_bytes() for p in b.parts]
    original = a.parts[1].audio.read_bytes()
    a.parts[1].audio.unlink()  # as if the run was killed while writing it
    again = na.ensure_negative_audio(init_workspace(tmp_path / "a"), synth=FakeSynth(), **kw)
    assert again.parts[1].audio.read_bytes() == original
    other_seed = na.ensure_negative_audio(init_workspace(tmp_path / "a"), synth=FakeSynth(),
                                          **{**kw, "seed": 6})
    assert other_seed.root != a.root


def test_a_new_backend_cache_version_makes_new_audio(tmp_path, small_chunks, monkeypatch):
    """Bug: the cache key held the requests but not their backend's cache_version, so a
    backend that now says the same request otherwise kept the old audio (found when a
    session-18 try changed how Piper reads its requests)."""
    from easy_oww.tts import espeak, registry

    kw = {"hours": 0.012, "seed": 5, "exclude": "hey jarvis", "voices": VOICES}
    ws = init_workspace(tmp_path / "ws")
    old = na.ensure_negative_audio(ws, synth=FakeSynth(), **kw)
    assert na.ensure_negative_audio(ws, synth=FakeSynth(), **kw).root == old.root
    monkeypatch.setattr(registry, "EspeakBackend", lambda: espeak.EspeakBackend(cache_version=2))
    assert na.ensure_negative_audio(ws, synth=FakeSynth(), **kw).root != old.root


def test_sentences_exclude_the_wake_words():
    texts = na.negative_texts(50, 1, "hey kitchen lights")
    assert len(texts) >= 10
    for t in texts:
        words = set(t.lower().replace(",", " ").replace(".", " ").split())
        assert not {"kitchen", "lights"} & words, t


def test_held_out_voices_are_a_deterministic_subset():
    voices = [Voice("espeak", f"en+v{i}") for i in range(20)]
    held = na.held_out_voices(voices, 0.2, 1)
    assert 1 <= len(held) <= 10 and set(held) <= set(voices)
    assert held == na.held_out_voices(voices, 0.2, 1)


def test_dipco_is_added_when_present(tmp_path, small_chunks, monkeypatch):
    from easy_oww import datasets

    ws = init_workspace(tmp_path / "ws")
    rec = tmp_path / "S01_U01.CH1.wav"
    rng = np.random.default_rng(0)
    save_wav(rec, (rng.standard_normal(SAMPLE_RATE * 5) * 0.05).astype(np.float32))
    same_dinner = tmp_path / "S01_U02.CH1.wav"  # another device at the same dinner
    save_wav(same_dinner, np.zeros(SAMPLE_RATE, np.float32))
    monkeypatch.setattr(datasets, "dipco_audio", lambda workspace: [same_dinner, rec])
    kw = {"hours": 0.01, "seed": 1, "exclude": "hey jarvis", "voices": VOICES}
    plain = na.ensure_negative_audio(ws, synth=FakeSynth(), **kw)
    assert [p.kind for p in plain.parts] == ["generated"]  # DiPCo only when asked
    audio = na.ensure_negative_audio(ws, synth=FakeSynth(), include_dipco=True, **kw)
    kinds = [p.kind for p in audio.parts]
    assert kinds.count("dipco") == 1
    dip = audio.parts[kinds.index("dipco")]
    assert dip.audio == rec and dip.load_features().shape == (62, 96)
    assert audio.embeddings().shape[0] == sum(p.load_features().shape[0] for p in audio.parts
                                              if p.kind == "generated")
    assert audio.embeddings(include_dipco=True).shape[0] == \
        sum(p.load_features().shape[0] for p in audio.parts)
    assert "DiPCo" in audio.describe()


def test_place_past_the_end_of_a_chunk_is_a_no_op() -> None:
    """Bug: babble shifted past a chunk's end broke chunk generation (broadcast error)."""
    from easy_oww.negative_audio.chunks import _place, make_chunk

    out = np.zeros(100, np.float32)
    assert _place(out, np.ones(50, np.float32), 120, 1.0) == 120
    assert not out.any()
    assert _place(out, np.ones(50, np.float32), 80, 1.0) == 100
    assert out[80:].sum() == 20
    pool = [np.ones(16000 * 3, np.float32) * 0.1 for _ in range(4)]
    for seed in range(30):  # enough chunks that babble lands past the end
        chunk = make_chunk(pool, 4.0, np.random.default_rng(seed))
        assert chunk.shape == (64000,) and np.isfinite(chunk).all()


def test_embeddings_only_audio_is_reused_and_same_with_two_workers(tmp_path, small_chunks):
    """Bug: a cached set made with keep_audio=False (training audio) crashed on reuse."""
    kw = {"hours": 0.025, "seed": 9, "exclude": "hey jarvis", "voices": VOICES,
          "keep_audio": False}
    ws = init_workspace(tmp_path / "one")
    synth = FakeSynth()
    one = na.ensure_negative_audio(ws, synth=synth, workers=1, **kw)
    assert all(p.audio is None for p in one.parts)
    assert not list(one.root.glob("*.wav"))
    again = na.ensure_negative_audio(ws, synth=synth, workers=1, **kw)
    assert synth.calls == 1 and again.parts == one.parts
    two = na.ensure_negative_audio(init_workspace(tmp_path / "two"), synth=FakeSynth(),
                                   workers=2, **kw)
    assert np.array_equal(one.embeddings(), two.embeddings())


def test_validation_and_test_audio_come_from_different_sentences(monkeypatch, tmp_path):
    """A threshold fitted on validation audio must be tested on other sentences."""
    from easy_oww.config import new_config
    from easy_oww.pipeline import negatives

    seen: list[dict] = []

    def fake(ws, *, hours, seed, **kw):
        seen.append({"hours": hours, "seed": seed, **kw})
        frames = round(hours * negatives.FRAMES_PER_HOUR)
        stream = np.full((frames, 96), float(seed % 1000), np.float32)
        return type("Audio", (), {"embeddings": lambda self: stream,
                                  "describe": lambda self: f"seed {seed}"})()

    monkeypatch.setattr(na, "ensure_negative_audio", fake)
    monkeypatch.setattr("easy_oww.pipeline.clips.voice_split",
                        lambda config, ws: (VOICES[:1], VOICES[1:]))
    config = new_config("p", "hey jarvis", **{"clips.negative_audio_hours": 0.0,
                                              "evaluation.negative_hours": 0.1})
    out = negatives.negative_streams(init_workspace(tmp_path / "ws"), config, tmp_path)
    assert len(seen) == 2 and seen[0]["seed"] != seen[1]["seed"]
    # neither speaks the sentences of the negative-speech training clips (project seed)
    assert config.seed not in {s["seed"] for s in seen}
    assert all(s["voices"] == VOICES[1:] for s in seen)  # both from held-out voices
    # spoken in the positives' rooms as often as the positives are
    from easy_oww.augment import build_sources
    from easy_oww.augment.effects import VoiceShift
    rooms = build_sources(None, seed=config.seed).rirs
    for s in seen:
        assert s["room_probability"] == config.augment.rir_probability > 0
        assert len(s["rooms"]) == len(rooms)
        assert all(np.array_equal(a, b) for a, b in zip(s["rooms"], rooms, strict=True))
        assert s["voice"] == VoiceShift.of(config.augment) and s["voice"].probability > 0
    val, test = np.load(tmp_path / "val_stream.npy"), np.load(tmp_path / "test_stream.npy")
    assert val[0, 0] != test[0, 0]
    # long enough to allow three activations at 0.5/h with 80 % confidence
    assert out["val_hours"] == pytest.approx(11.25) and out["test_hours"] == pytest.approx(0.1)
    from easy_oww.evaluate.metrics import validation_allowance
    assert validation_allowance(0.5, 11.25) * 11.25 == pytest.approx(3)
    assert validation_allowance(0.5, 11.0) * 11.0 == pytest.approx(2)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4801, 16000 * 7 + 13])
def test_coloured_noise_any_length(n: int) -> None:
    """Background segments have arbitrary lengths: each comes back at that length, finite,
    at unit level (a lone sample at a chunk's end is silence, not a huge spike)."""
    for seed in range(4):
        x = chunks._coloured(n, np.random.default_rng(seed))
        assert x.shape == (n,) and x.dtype == np.float32 and np.isfinite(x).all()
        if n >= 4801:
            assert np.std(x) == pytest.approx(1.0, rel=1e-3)
        if n < 2:
            assert not x.any()


# -- the backgrounds come from augment/noise.py, with the samples of the former copy --------

def _old_coloured(n: int, rng: np.random.Generator) -> np.ndarray:
    """The negative audio's own coloured noise before it reused augment/noise.py."""
    exponent = float(rng.choice([0.0, -1.0, -2.0, 1.0]))
    if n < 2:
        return np.zeros(n, dtype=np.float32)
    m = 1 << (n - 1).bit_length()
    spec = np.fft.rfft(rng.standard_normal(m))
    f = np.fft.rfftfreq(m, 1.0 / SAMPLE_RATE)
    f[0] = f[1]
    x = np.fft.irfft(spec * f ** (exponent / 2.0), m)[:n]
    return np.asarray(x / (np.std(x) + 1e-12), dtype=np.float32)


def _old_hum(n: int, rng: np.random.Generator) -> np.ndarray:
    """The negative audio's own hum before it reused augment/noise.py."""
    t = np.arange(n) / SAMPLE_RATE
    base = float(rng.choice([50.0, 60.0]))
    x = np.zeros(n)
    for k in range(1, 6):
        x += rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6.3))
    return np.asarray(x / (np.std(x) + 1e-12), dtype=np.float32)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4801, 16000 * 7 + 13])
def test_background_noise_and_hum_are_the_former_samples(n: int) -> None:
    """Same rng draws, same samples and same rng state after: the generated audio (and so
    the models trained on it) keeps its bytes."""
    for seed in range(6):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        assert np.array_equal(chunks._coloured(n, a), _old_coloured(n, b))
        if n:  # a background segment is never empty
            assert np.array_equal(chunks._hum(n, a), _old_hum(n, b))
        assert a.random() == b.random()


def test_a_chunk_is_the_same_with_any_number_of_workers(tmp_path) -> None:
    """The chunk pool (`ordered_map`) yields the chunks in order with the same bytes in
    this process and in two workers."""
    clips = []
    for i in range(3):
        p = tmp_path / f"s{i}.wav"
        t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
        save_wav(p, (0.2 * np.sin(2 * np.pi * (150 + 40 * i) * t)).astype(np.float32))
        clips.append(str(p))
    tasks = [(0, 3.0), (2, 2.0), (5, 3.0)]
    one = list(chunks.chunk_results(tasks, clips, None, 4, True, None, 1))
    two = list(chunks.chunk_results(tasks, clips, None, 4, True, None, 2))
    assert [r[0] for r in one] == [r[0] for r in two] == [0, 2, 5]
    for (_, f1, a1), (_, f2, a2) in zip(one, two, strict=True):
        assert np.array_equal(f1, f2) and a1 is not None and np.array_equal(a1, a2)
    assert list(chunks.chunk_results([], clips, None, 4, True, None, 2)) == []


def _decaying_room(seconds: float = 0.4) -> np.ndarray:
    n = int(seconds * SAMPLE_RATE)
    rng = np.random.default_rng(3)
    h = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.08 * SAMPLE_RATE)) * 0.3
    h[0] = 1.0
    return h.astype(np.float32)


def test_a_clip_in_a_room_keeps_its_tail_and_energy() -> None:
    clip = np.zeros(SAMPLE_RATE // 2, np.float32)
    clip[-800:] = 0.5 * np.sin(np.arange(800) / 3.0)  # a sound that ends with the clip
    room = _decaying_room()
    out = chunks._in_room(clip, room)
    assert len(out) == len(clip) + len(room)
    assert np.isclose(np.sum(out ** 2), np.sum(clip ** 2), rtol=1e-3)
    tail = np.sum(out[len(clip):] ** 2) / np.sum(out ** 2)
    assert tail > 0.1  # the reverberant tail past the clip's end is kept, not cut


@pytest.mark.parametrize("probability", [0.0, 0.5, 1.0])
def test_utterances_and_their_babble_are_spoken_in_rooms(monkeypatch, probability) -> None:
    """Reverb only on positives is a label the model learns (it then fires on reverberant
    speech of real people): utterances of the long negative audio are reverberant with the
    positives' probability, every talker of a babble in the same room."""
    calls: list[int] = []

    def spy(clip: np.ndarray, room: np.ndarray) -> np.ndarray:
        calls.append(id(room))
        return clip

    placed: list[int] = []
    real_place = chunks._place

    def count_place(out, clip, at, gain):
        placed.append(at)
        return real_place(out, clip, at, gain)

    monkeypatch.setattr(chunks, "_in_room", spy)
    monkeypatch.setattr(chunks, "_place", count_place)
    pool = [np.ones(SAMPLE_RATE // 2, np.float32) * 0.1 for _ in range(4)]
    rooms = [_decaying_room(0.1), _decaying_room(0.2)]
    chunks.make_chunk(pool, 600.0, np.random.default_rng(1), rooms=rooms,
                      room_probability=probability)
    share = len(calls) / len(placed)
    assert abs(share - probability) < 0.1
    assert set(calls) <= {id(r) for r in rooms}
    calls.clear()
    placed.clear()
    chunks.make_chunk(pool, 60.0, np.random.default_rng(1))  # no rooms: never reverberant
    assert placed and not calls


@pytest.mark.parametrize("probability", [0.0, 0.5, 1.0])
def test_utterances_are_spoken_in_other_voices_as_often_as_clips(monkeypatch,
                                                                  probability) -> None:
    """Another voice only on clips would be a label too: utterances of the long negative
    audio get it with the same probability and ranges."""
    from easy_oww.augment import effects

    shifts: list[tuple[float, float]] = []

    def spy(clip: np.ndarray, semitones: float, formant: float) -> np.ndarray:
        shifts.append((semitones, formant))
        return clip

    spoken: list[int] = []  # one _speed call per utterance (babble talkers: none)
    real_speed = chunks._speed

    def count_speed(audio, factor):
        spoken.append(len(audio))
        return real_speed(audio, factor)

    monkeypatch.setattr(effects, "new_voice", spy)
    monkeypatch.setattr(chunks, "_speed", count_speed)
    pool = [np.ones(SAMPLE_RATE // 2, np.float32) * 0.1 for _ in range(4)]
    voice = effects.VoiceShift(probability, (-4.0, 8.0), (0.86, 1.2))
    chunks.make_chunk(pool, 600.0, np.random.default_rng(1), voice=voice)
    assert spoken and abs(len(shifts) / len(spoken) - probability) < 0.1
    assert all(-4 <= st <= 8 and 0.86 <= f <= 1.2 for st, f in shifts)
    shifts.clear()
    plain = chunks.make_chunk(pool, 60.0, np.random.default_rng(1))
    same = chunks.make_chunk(pool, 60.0, np.random.default_rng(1),
                             voice=effects.VoiceShift(0.0))
    assert not shifts and np.array_equal(plain, same)  # off: the same draws as before


def test_timbre_reaches_the_utterances_and_leaves_every_other_draw(monkeypatch) -> None:
    from easy_oww.augment import effects

    gains: list[tuple[float, ...]] = []
    real_timbre = effects.timbre

    def spy(clip: np.ndarray, g) -> np.ndarray:
        gains.append(tuple(g))
        return real_timbre(clip, g)

    monkeypatch.setattr(effects, "timbre", spy)
    rng = np.random.default_rng(5)
    pool = [rng.standard_normal(SAMPLE_RATE // 2).astype(np.float32) * 0.1 for _ in range(4)]

    def chunk(voice: effects.VoiceShift) -> np.ndarray:
        return chunks.make_chunk(pool, 120.0, np.random.default_rng(1), voice=voice)

    plain = chunk(effects.VoiceShift(0.5))
    assert not gains
    flat = chunk(effects.VoiceShift(0.5, timbre_probability=1.0, timbre_db=0.0))
    assert gains and all(g == (0.0,) * len(effects.TIMBRE_HZ) for g in gains)
    np.testing.assert_allclose(flat, plain, atol=1e-4)  # a child stream: the rest is unchanged
    gains.clear()
    shaped = chunk(effects.VoiceShift(0.5, timbre_probability=0.5, timbre_db=6.0))
    n_half = len(gains)
    assert shaped.shape == plain.shape and not np.allclose(shaped, plain, atol=1e-3)
    assert all(len(g) == len(effects.TIMBRE_HZ) and max(map(abs, g)) <= 6.0 for g in gains)
    gains.clear()
    chunk(effects.VoiceShift(0.5, timbre_probability=1.0, timbre_db=6.0))
    assert 0.3 < n_half / len(gains) < 0.7  # about half of the utterances


def test_voice_shift_changes_the_cached_audio(tmp_path, small_chunks) -> None:
    from easy_oww.augment.effects import VoiceShift

    kw = {"hours": 0.012, "seed": 9, "exclude": "hey jarvis", "voices": VOICES}
    ws = init_workspace(tmp_path / "ws")
    plain = na.ensure_negative_audio(ws, synth=FakeSynth(), workers=1, **kw)
    off = na.ensure_negative_audio(ws, synth=FakeSynth(), workers=1, voice=VoiceShift(0.0), **kw)
    assert off.root == plain.root  # never applied: the same audio, the same cache
    shifted = na.ensure_negative_audio(ws, synth=FakeSynth(), workers=1,
                                       voice=VoiceShift(1.0), **kw)
    assert shifted.root != plain.root
    assert not np.array_equal(shifted.embeddings(), plain.embeddings())
    timbred = na.ensure_negative_audio(ws, synth=FakeSynth(), workers=1,
                                       voice=VoiceShift(0.0, timbre_probability=1.0), **kw)
    assert timbred.root not in (plain.root, shifted.root)
    two = na.ensure_negative_audio(init_workspace(tmp_path / "two"), synth=FakeSynth(),
                                   workers=2, voice=VoiceShift(1.0), **kw)
    assert two.root.name == shifted.root.name  # reaches the worker processes alike
    assert np.array_equal(two.embeddings(), shifted.embeddings())


def test_rooms_change_the_cached_audio_and_reach_the_workers(tmp_path, small_chunks) -> None:
    kw = {"hours": 0.012, "seed": 9, "exclude": "hey jarvis", "voices": VOICES}
    ws = init_workspace(tmp_path / "ws")
    dry = na.ensure_negative_audio(ws, synth=FakeSynth(), workers=1, **kw)
    rooms = (_decaying_room(),)
    wet1 = na.ensure_negative_audio(ws, synth=FakeSynth(), workers=1, rooms=rooms,
                                    room_probability=1.0, **kw)
    assert wet1.root != dry.root
    assert not np.array_equal(wet1.embeddings(), dry.embeddings())
    ws2 = init_workspace(tmp_path / "ws2")
    wet2 = na.ensure_negative_audio(ws2, synth=FakeSynth(), workers=2, rooms=rooms,
                                    room_probability=1.0, **kw)
    assert wet2.root.name == wet1.root.name
    assert np.array_equal(wet2.embeddings(), wet1.embeddings())
    again = na.ensure_negative_audio(ws, synth=FakeSynth(), workers=1, rooms=rooms,
                                     room_probability=1.0, **kw)
    assert again.root == wet1.root  # cached
