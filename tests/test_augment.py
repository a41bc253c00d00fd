"""Augmentation on generated signals: alignment, SNR, each transform, safety, determinism."""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing as mp
import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from easy_oww.augment import (
    AcousticSources,
    Augmenter,
    active_rms,
    apply_rir,
    build_sources,
    effects,
    mix_at_snr,
    place_in_window,
)
from easy_oww.augment.ops import blend_span, to_int16_clipped
from easy_oww.config import AugmentConfig
from easy_oww.contract import SAMPLE_RATE
from easy_oww.rng import item_rng

WINDOW = 2 * SAMPLE_RATE
OFF = {"rir_probability": 0.0, "noise_probability": 0.0, "pitch_probability": 0.0,
           "tempo_probability": 0.0, "eq_probability": 0.0, "distortion_probability": 0.0,
           "gain_db": (0.0, 0.0), "end_jitter_s": (0.0, 0.0), "noise_span_probability": 0.0,
           "voice_probability": 0.0, "timbre_probability": 0.0}


@pytest.fixture(scope="module")
def sources() -> AcousticSources:
    return build_sources(seed=3, babble=[_phrase(0.8, 180.0), _phrase(1.1, 240.0)])


def _phrase(seconds: float = 1.0, f0: float = 200.0, level: float = 0.3) -> np.ndarray:
    """A speech-like int16 clip: a harmonic tone with a gliding pitch and syllable envelope."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.1 * np.sin(2 * np.pi * 1.5 * t))) / SAMPLE_RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 6))
    env = np.sin(np.pi * t / seconds) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2)
    return (level * 32767 * x / np.max(np.abs(x)) * env).astype(np.int16)


def _sine(f: float, seconds: float, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (level * 32767 * np.sin(2 * np.pi * f * t)).astype(np.int16)


def _augmenter(sources: AcousticSources, **on: object) -> Augmenter:
    return Augmenter(AugmentConfig(**{**OFF, **on}), sources, WINDOW)


def _peak_hz(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)[np.argmax(spec)])


def _band_db(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(np.asarray(x, dtype=np.float64))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    return float(10 * np.log10(spec[(f >= lo) & (f < hi)].mean() + 1e-20))


# --- RIR ------------------------------------------------------------------------------

def test_apply_rir_keeps_length_and_aligns_the_direct_path() -> None:
    rir = np.zeros(4000, dtype=np.float32)
    rir[50] = 1.0  # 50 samples of pre-delay, then a decaying tail
    rir[51:] = 0.3 * np.exp(-np.arange(3949) / 800) * np.random.default_rng(0).standard_normal(3949)
    x = np.zeros(WINDOW, dtype=np.float32)
    x[12345] = 0.5
    y = apply_rir(x, rir)
    assert len(y) == len(x)
    assert int(np.argmax(np.abs(y))) == 12345
    assert np.count_nonzero(y[12346:]) > 3000  # the reverb tail follows the impulse
    assert np.allclose(y[:12345], 0.0, atol=1e-6)  # nothing before it


def test_every_built_in_rir_keeps_alignment_and_the_cached_path_matches(sources) -> None:
    aug = _augmenter(sources)
    x = np.zeros(WINDOW, dtype=np.float32)
    x[20000] = 0.5
    assert len(sources.rirs) >= 20
    for i, rir in enumerate(sources.rirs):
        y = apply_rir(x, rir)
        a = np.abs(y)
        assert len(y) == WINDOW and np.all(np.isfinite(y))
        assert int(np.argmax(a >= 0.5 * a.max())) == 20000, sources.rir_names[i]
        np.testing.assert_allclose(aug._reverb(x, i), y, atol=2e-5)


def test_built_in_rirs_are_the_real_rooms_and_simulated_ones(sources) -> None:
    names = " ".join(sources.rir_names)
    assert "sim_room_00" in names
    from easy_oww.augment.sources import piper_impulse_dir
    if piper_impulse_dir() is not None:
        assert "piper:ir_bathroom1:0" in names and "piper:Derlon Sanctuary:1" in names
        assert "Reverse Gate" not in names and "Fat Bass" not in names


def test_simulated_room_decays_in_about_its_rt60() -> None:
    from easy_oww.augment.rooms import simulate_room

    for rt60 in (0.3, 0.8):
        h = simulate_room(np.random.default_rng(1), rt60=rt60).astype(np.float64)
        edc = 10 * np.log10(np.cumsum((h * h)[::-1])[::-1] / np.sum(h * h) + 1e-30)
        t5, t25 = np.argmax(edc < -5), np.argmax(edc < -25)  # T20 fit, x3 for 60 dB
        est = 3 * (t25 - t5) / SAMPLE_RATE
        assert 0.5 * rt60 < est < 1.6 * rt60, (rt60, est)


# --- noise and SNR -------------------------------------------------------------------

@pytest.mark.parametrize("snr", [-5.0, 0.0, 10.0, 25.0])
def test_mix_at_snr_hits_the_requested_snr(sources, snr: float) -> None:
    speech = place_in_window(_phrase(1.0), WINDOW, np.random.default_rng(0), (0.1, 0.2))
    for i, noise in enumerate(sources.noises):
        mixed = mix_at_snr(speech, noise, snr, np.random.default_rng(i))
        got = 20 * np.log10(active_rms(speech) / np.sqrt(np.mean((mixed - speech) ** 2.0)))
        assert abs(got - snr) < 0.5, (sources.noise_names[i], got)


def test_mix_at_snr_on_a_full_signal_matches_plain_rms(sources) -> None:
    x = _sine(440, 2.0).astype(np.float32) / 32768
    mixed = mix_at_snr(x, sources.noises[0], 6.0, np.random.default_rng(0))
    got = 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2))
                        / np.sqrt(np.mean((mixed - x).astype(np.float64) ** 2)))
    assert abs(got - 6.0) < 0.5


def test_noises_are_generated_normalised_and_include_babble(sources) -> None:
    names = set(sources.noise_names)
    assert {"white_0", "pink_0", "brown_0", "hum_50hz", "hum_60hz", "babble_0"} <= names
    for x in sources.noises:
        assert x.dtype == np.float32 and np.all(np.isfinite(x))
        assert abs(np.sqrt(np.mean(x.astype(np.float64) ** 2)) - 0.1) < 1e-3
    pink = sources.noises[sources.noise_names.index("pink_0")]
    assert _band_db(pink, 50, 200) - _band_db(pink, 3000, 6000) > 10  # 1/f slope
    hum = sources.noises[sources.noise_names.index("hum_60hz")]
    assert abs(_peak_hz(hum) - 60.0) < 2.0


# --- placement --------------------------------------------------------------------------

def test_place_in_window_ends_the_phrase_near_the_end() -> None:
    clip = np.full(8000, 1000, dtype=np.int16)
    for seed in range(20):
        y = place_in_window(clip, WINDOW, np.random.default_rng(seed), (0.1, 0.3))
        last = int(np.nonzero(y)[0][-1])
        assert len(y) == WINDOW and np.count_nonzero(y) == 8000
        assert WINDOW - 0.3 * SAMPLE_RATE - 1 <= last <= WINDOW - 0.1 * SAMPLE_RATE
    exact = place_in_window(clip, WINDOW, np.random.default_rng(0), (0.0, 0.0))
    assert exact[-1] != 0
    long = np.arange(WINDOW + 500, dtype=np.int16)
    kept = place_in_window(long, WINDOW, np.random.default_rng(0), (0.0, 0.0))
    np.testing.assert_array_equal(kept * 32768, long[-WINDOW:].astype(np.float32))


def test_negatives_are_cropped_from_long_audio(sources) -> None:
    long = _sine(300, 6.0)
    aug = _augmenter(sources)
    y = aug(long, item_rng(1, "neg", 0), positive=False)
    assert len(y) == WINDOW and np.count_nonzero(y) > WINDOW * 0.95


# --- each transform ---------------------------------------------------------------------

def test_gain_changes_level_by_the_drawn_amount(sources) -> None:
    clip = _phrase(1.0, level=0.2)
    y = _augmenter(sources, gain_db=(-6.0, -6.0))(clip, np.random.default_rng(0))
    ref = _augmenter(sources)(clip, np.random.default_rng(0))
    ratio = np.sqrt(np.mean(y.astype(np.float64) ** 2) / np.mean(ref.astype(np.float64) ** 2))
    assert abs(20 * np.log10(ratio) + 6.0) < 0.05


def test_positive_gain_stops_at_the_headroom_instead_of_clipping(sources) -> None:
    y = _augmenter(sources, gain_db=(20.0, 20.0))(_phrase(1.0, level=0.5),
                                                  np.random.default_rng(0))
    assert 0.9 * 32767 < np.max(np.abs(y.astype(np.int32))) <= 0.981 * 32768


def test_pitch_shift_moves_the_frequency_and_keeps_the_duration(sources) -> None:
    x = _sine(300, 1.0).astype(np.float32) / 32768
    y = effects.pitch_tempo(x, semitones=2.0)
    assert len(y) == len(x)
    assert abs(_peak_hz(y[1000:-1000]) - 300 * 2 ** (2 / 12)) < 3
    aug = _augmenter(sources, pitch_probability=1.0, pitch_semitones=(-2.0, -2.0))
    out = aug(_sine(300, 1.0, 0.3), np.random.default_rng(0))
    nz = out[np.nonzero(out)[0][0] + 800:np.nonzero(out)[0][-1] - 800]
    assert abs(_peak_hz(nz) - 300 * 2 ** (-2 / 12)) < 3


def test_tempo_changes_duration_not_pitch(sources) -> None:
    x = _sine(300, 1.0).astype(np.float32) / 32768
    for tempo in (0.8, 1.25):
        y = effects.time_stretch(x, tempo)
        assert len(y) == round(len(x) / tempo)
        assert abs(_peak_hz(y[1000:-1000]) - 300) < 3
        assert np.sqrt(np.mean(y[1000:-1000] ** 2)) == pytest.approx(
            np.sqrt(np.mean(x ** 2)), rel=0.05)  # no dips at frame joins
    aug = _augmenter(sources, tempo_probability=1.0, tempo=(1.25, 1.25))
    out = aug(_sine(300, 1.0, 0.3), np.random.default_rng(0))
    assert abs(np.count_nonzero(np.abs(out) > 100) - SAMPLE_RATE / 1.25) < 400


def test_reverb_adds_a_tail_after_the_phrase(sources) -> None:
    clip = _phrase(0.8)
    aug = _augmenter(sources, rir_probability=1.0, end_jitter_s=(0.5, 0.5))
    dry = _augmenter(sources, end_jitter_s=(0.5, 0.5))(clip, np.random.default_rng(0))
    tails = []
    for seed in range(6):
        y, plan = aug.augment(clip, np.random.default_rng(seed))
        assert plan.rir is not None
        tails.append(np.sqrt(np.mean(y[-6000:].astype(np.float64) ** 2)))
    assert np.all(dry[-8000:] == 0)
    assert min(tails) > 1 and np.mean(tails) > 50  # energy after the phrase in every room


def test_noise_step_adds_noise_at_the_planned_snr(sources) -> None:
    clip = _phrase(1.0)
    aug = _augmenter(sources, noise_probability=1.0, snr_db=(5.0, 15.0))
    for seed in range(8):
        plan = aug.plan(np.random.default_rng(seed))
        noisy = aug.apply_float(clip, plan)
        clean = aug.apply_float(clip, dataclasses.replace(plan, noise=None, snr_db=None))
        got = 20 * np.log10(active_rms(clean) / np.sqrt(np.mean((noisy - clean) ** 2.0)))
        assert abs(got - plan.snr_db) < 0.5, plan.describe()


def test_blend_span_switches_inside_the_span_with_ramps_outside_it() -> None:
    outside, inside = np.zeros(1000, np.float32), np.ones(1000, np.float32)
    y = blend_span(outside, inside, 300, 600, 20)
    assert np.all(y[300:600] == 1.0) and np.all(y[:280] == 0.0) and np.all(y[620:] == 0.0)
    assert np.all(np.diff(y[279:301]) > 0) and np.all(np.diff(y[599:621]) < 0)  # no step
    assert np.all((y[280:300] > 0) & (y[280:300] < 1))
    edge = blend_span(outside, inside, 0, 5, 20)  # the ramp is cut at the array's ends
    assert np.all(edge[:5] == 1.0) and np.all(np.diff(edge[4:26]) < 0) and edge[25] == 0.0
    np.testing.assert_array_equal(blend_span(outside, inside, 0, 1000, 20), inside)
    np.testing.assert_array_equal(blend_span(outside, inside, 500, 500, 20), outside)
    with pytest.raises(ValueError, match="equal lengths"):
        blend_span(outside, inside[:10], 0, 5, 2)


def test_noise_over_part_of_the_window_leaves_the_rest_clean(sources) -> None:
    clip = _phrase(1.0)
    aug = _augmenter(sources, noise_probability=1.0, noise_span_probability=1.0,
                     snr_db=(5.0, 5.0))
    ramp = SAMPLE_RATE // 100
    spans = []
    for seed in range(8):
        plan = aug.plan(np.random.default_rng(seed))
        assert plan.noise_span is not None and " over " in plan.describe()
        start, stop = (round(f * WINDOW) for f in plan.noise_span)
        spans.append((start, stop))
        noisy = aug.apply_float(clip, plan)
        clean = aug.apply_float(clip, dataclasses.replace(plan, noise=None, snr_db=None,
                                                          noise_span=None))
        whole = aug.apply_float(clip, dataclasses.replace(plan, noise_span=None))
        d = noisy - clean
        assert not np.any(d[:max(0, start - ramp)]) and not np.any(d[stop + ramp:])
        np.testing.assert_allclose(noisy[start:stop], whole[start:stop], atol=1e-6)  # same noise
        assert np.sqrt(np.mean(d[start:stop] ** 2)) > 0.01 * active_rms(clean)
    assert all(0 <= a <= b <= WINDOW for a, b in spans)
    assert min(a for a, _ in spans) < 0.3 * WINDOW and max(b for _, b in spans) > 0.7 * WINDOW


def test_noise_span_is_drawn_last_and_only_for_noisy_windows(sources) -> None:
    on, off = (_augmenter(sources, noise_probability=0.5, noise_span_probability=p,
                          pitch_probability=0.5, rir_probability=0.5) for p in (1.0, 0.0))
    for seed in range(12):
        a, b = (x.plan(np.random.default_rng(seed)) for x in (on, off))
        assert (a.noise_span is not None) == (a.noise is not None) and b.noise_span is None
        assert dataclasses.replace(a, noise_span=None) == b


def _vowel(f0: float | None, formant_hz: float, seconds: float = 1.0) -> np.ndarray:
    """A pulse train at `f0` (or white noise: a whisper, when None) through one resonance
    at `formant_hz` (bandwidth 120 Hz)."""
    from scipy import signal as sps

    n = int(seconds * SAMPLE_RATE)
    if f0 is None:
        pulses = np.random.default_rng(0).standard_normal(n)
    else:
        pulses = np.zeros(n)
        pulses[::max(1, round(SAMPLE_RATE / f0))] = 1.0
    r = np.exp(-np.pi * 120.0 / SAMPLE_RATE)
    a = [1.0, -2 * r * np.cos(2 * np.pi * formant_hz / SAMPLE_RATE), r * r]
    y = sps.lfilter([1.0], a, pulses)
    return (0.3 * y / np.max(np.abs(y))).astype(np.float32)


def _envelope_peak_hz(x: np.ndarray, lo: float = 300.0) -> float:
    """Peak of the cepstrally smoothed average spectrum above `lo` Hz."""
    frames = np.lib.stride_tricks.sliding_window_view(x[2000:-2000], 1024)[::256]
    logm = np.log(np.mean(np.abs(np.fft.rfft(frames * np.hanning(1024), axis=1)) ** 2, axis=0))
    cep = np.fft.irfft(logm)
    cep[30:-29] = 0
    env = np.fft.rfft(cep).real
    freqs = np.fft.rfftfreq(1024, 1 / SAMPLE_RATE)
    return float(freqs[freqs > lo][np.argmax(env[freqs > lo])])


def _harmonic_spacing_hz(x: np.ndarray) -> float:
    """f0 from the autocorrelation peak (50-500 Hz)."""
    y = x[2000:-2000].astype(np.float64)
    ac = np.correlate(y, y, "full")[len(y) - 1:]
    lags = np.arange(SAMPLE_RATE // 500, SAMPLE_RATE // 50)
    return SAMPLE_RATE / float(lags[np.argmax(ac[lags])])


@pytest.mark.parametrize("ratio", [0.85, 1.2])
def test_warp_formants_moves_the_resonance_and_keeps_the_pitch(ratio: float) -> None:
    whisper = _vowel(None, 1000.0)
    y = effects.warp_formants(whisper, ratio)
    assert y.dtype == np.float32 and len(y) == len(whisper) and np.all(np.isfinite(y))
    assert abs(np.sqrt(np.mean(y**2)) - np.sqrt(np.mean(whisper**2))) < 1e-4  # RMS kept
    assert abs(_envelope_peak_hz(whisper) - 1000) < 40
    # the smoothed envelope moves all the way; a resonance sharper than it, most of it
    moved = (_envelope_peak_hz(y) - 1000) / (1000 * ratio - 1000)
    assert 0.5 < moved < 1.2
    voiced = _vowel(125.0, 1000.0)
    assert abs(_harmonic_spacing_hz(effects.warp_formants(voiced, ratio)) - 125) < 3


def test_warp_formants_by_one_and_on_silence_changes_nothing() -> None:
    x = _vowel(125.0, 1000.0, 0.5)
    np.testing.assert_array_equal(effects.warp_formants(x, 1.0), x)
    near = effects.warp_formants(x, 1.002)  # the resynthesis itself is transparent
    assert np.max(np.abs(near[600:-600] - x[600:-600])) < 0.01
    silent = effects.warp_formants(np.zeros(8000, np.float32), 1.2)
    assert not np.any(silent)
    assert len(effects.warp_formants(np.zeros(0, np.float32), 1.2)) == 0
    assert len(effects.warp_formants(x[:100], 1.2)) == 100  # shorter than one frame


def test_new_voice_moves_pitch_and_formants_independently() -> None:
    x = _vowel(125.0, 1000.0)
    y = effects.new_voice(x, 8.0, 1.15)  # a man's voice made a woman's, roughly
    assert len(y) == len(x)  # duration kept
    f0 = _harmonic_spacing_hz(y)
    assert abs(f0 - 125.0 * 2 ** (8 / 12)) < 8
    whisper = _vowel(None, 1000.0)  # formants: x1.15, not x1.59 as resampling alone gives
    assert 1050 < _envelope_peak_hz(effects.new_voice(whisper, 8.0, 1.15)) < 1250
    assert _envelope_peak_hz(effects.pitch_tempo(whisper, 8.0)) > 1450


def test_voice_shift_draws_within_its_ranges_and_keys_only_when_used() -> None:
    shift = effects.VoiceShift(0.5, (-4.0, 8.0), (0.86, 1.2))
    rng = np.random.default_rng(0)
    draws = np.array([shift.draw(rng) for _ in range(2000)])
    assert draws[:, 0].min() >= -4 and draws[:, 0].max() <= 8
    assert draws[:, 1].min() >= 0.86 and draws[:, 1].max() <= 1.2
    assert abs(np.median(np.log(draws[:, 1])) - np.log(np.sqrt(0.86 * 1.2))) < 0.02  # log-uniform
    assert effects.VoiceShift(0.0).key() == {}
    assert shift.key() != effects.VoiceShift(0.5, (-4.0, 6.0), (0.86, 1.2)).key()
    timbre = effects.VoiceShift(0.0, timbre_probability=0.5)
    assert timbre.key() and timbre.key() != effects.VoiceShift(0.0, timbre_probability=0.5,
                                                               timbre_db=3.0).key()
    assert effects.VoiceShift(0.0, timbre_probability=0.0, timbre_db=3.0).key() == {}
    config = AugmentConfig(timbre_probability=0.3, timbre_db=4.0)
    assert effects.VoiceShift.of(config).key()["timbre_p"] == 0.3
    assert effects.VoiceShift.of(AugmentConfig(timbre_probability=0.0)).timbre_gains(
        np.random.default_rng(0)) is None


def test_another_voice_is_drawn_last_and_replaces_the_pitch_shift(sources) -> None:
    on, off = (_augmenter(sources, voice_probability=p, pitch_probability=0.5,
                          noise_probability=0.5, noise_span_probability=0.5,
                          rir_probability=0.5) for p in (1.0, 0.0))
    for seed in range(12):
        a, b = (x.plan(np.random.default_rng(seed)) for x in (on, off))
        assert b.formant == 1.0 and a.formant != 1.0 and "another voice" in a.describe()
        assert -4 <= a.semitones <= 8 and 0.86 <= a.formant <= 1.2
        assert dataclasses.replace(a, semitones=b.semitones, formant=1.0) == b
    aug = _augmenter(sources, voice_probability=1.0, voice_semitones=(5.0, 5.0),
                     voice_formant=(1.0, 1.0))
    out = aug(_vowel(125.0, 1000.0).astype(np.float32) * 32767, np.random.default_rng(0))
    voiced = out[np.nonzero(out)[0][0] + 800:np.nonzero(out)[0][-1] - 800].astype(np.float32)
    assert abs(_harmonic_spacing_hz(voiced) - 125 * 2 ** (5 / 12)) < 6


@pytest.mark.parametrize("kind", effects.EQ_KINDS)
def test_eq_shapes_the_spectrum(kind: str) -> None:
    x = np.random.default_rng(0).standard_normal(WINDOW).astype(np.float32) * 0.1
    params = {"phone": {"kind": "phone", "low": 300.0, "high": 3400.0},
              "far_field": {"kind": "far_field", "low": 100.0, "high": 3000.0},
              "cheap_mic": {"kind": "cheap_mic", "low": 300.0, "high": 6000.0,
                            "peak_hz": 3000.0, "peak_db": 8.0, "peak_q": 2.0}}[kind]
    y = effects.apply_eq(x, params)
    assert y.dtype == np.float32 and len(y) == len(x) and np.all(np.isfinite(y))
    mid = _band_db(y, 800, 1200) - _band_db(x, 800, 1200)
    high = _band_db(y, 6500, 7900) - _band_db(x, 6500, 7900)
    assert high - mid < -10  # highs are cut in every kind
    if kind == "phone":
        assert _band_db(y, 30, 120) - _band_db(x, 30, 120) - mid < -15
    if kind == "cheap_mic":
        assert _band_db(y, 2800, 3200) - _band_db(x, 2800, 3200) - mid > 4  # the resonance


def test_timbre_moves_each_band_by_its_gain_and_keeps_the_level() -> None:
    x = np.random.default_rng(1).standard_normal(WINDOW).astype(np.float32) * 0.1
    gains = (6.0, -6.0, 6.0, -6.0, 6.0, -6.0, 6.0)
    y = effects.timbre(x, gains)
    assert y.dtype == np.float32 and len(y) == len(x) and np.all(np.isfinite(y))
    assert abs(float(np.std(y)) / float(np.std(x)) - 1.0) < 1e-3
    moved = [_band_db(y, f / 1.15, f * 1.15) - _band_db(x, f / 1.15, f * 1.15)
             for f in effects.TIMBRE_HZ]
    for a, b in itertools.pairwise(moved):  # alternating gains: each against its neighbour
        assert abs(a - b) > 4
    assert all((m - np.mean(moved)) * g > 0 for m, g in zip(moved, gains))
    flat = effects.timbre(x, (0.0,) * len(effects.TIMBRE_HZ))
    np.testing.assert_allclose(flat, x, atol=1e-5)
    with pytest.raises(ValueError, match="7 gains"):
        effects.timbre(x, (3.0, 3.0))


def test_another_timbre_is_drawn_last_and_keeps_the_other_choices(sources) -> None:
    on, off = (_augmenter(sources, timbre_probability=p, timbre_db=4.0, voice_probability=0.5,
                          noise_probability=0.5, rir_probability=0.5) for p in (1.0, 0.0))
    clip = _phrase(1.0)
    for seed in range(12):
        a, b = (x.plan(np.random.default_rng(seed)) for x in (on, off))
        assert b.timbre is None and a.timbre is not None and "another timbre" in a.describe()
        assert len(a.timbre) == 7 and max(abs(g) for g in a.timbre) <= 4.0
        assert dataclasses.replace(a, timbre=None) == b
        ya, yb = on.apply(clip, a), off.apply(clip, b)
        assert not np.array_equal(ya, yb)
        assert abs(_band_db(ya, 100, 7900) - _band_db(yb, 100, 7900)) < 3  # level kept


def test_distortion_adds_harmonics(sources) -> None:
    x = _sine(500, 1.0, 0.5).astype(np.float32) / 32768
    y = effects.distort(x, 0.3)
    assert _band_db(y, 1450, 1550) - _band_db(x, 1450, 1550) > 20  # 3rd harmonic appears
    assert np.sqrt(np.mean(y ** 2)) == pytest.approx(np.sqrt(np.mean(x ** 2)), rel=0.02)


def test_every_transform_at_once_is_finite_bounded_and_windowed(sources) -> None:
    cfg = {"rir_probability": 1.0, "noise_probability": 1.0, "pitch_probability": 1.0,
               "tempo_probability": 1.0, "eq_probability": 1.0, "distortion_probability": 0.0,
               "snr_db": (-10.0, 0.0), "gain_db": (20.0, 20.0)}
    aug = Augmenter(AugmentConfig(**cfg), sources, WINDOW)
    loud = np.where(_sine(200, 1.5) >= 0, 32767, -32768).astype(np.int16)  # full-scale square
    for r in range(25):
        for clip, positive in ((loud, True), (_phrase(0.7), True), (_sine(90, 5.0), False),
                               (np.zeros(100, np.int16), True)):
            plan = aug.plan(item_rng(0, "x", r), positive=positive)
            y = aug.apply_float(clip, plan)
            assert y.shape == (WINDOW,) and np.all(np.isfinite(y)), plan.describe()
            assert np.max(np.abs(y)) <= 0.981
            out = aug.apply(clip, plan)
            assert out.dtype == np.int16 and len(out) == WINDOW
    dist = Augmenter(AugmentConfig(**{**cfg, "distortion_probability": 1.0}), sources, WINDOW)
    for r in range(10):
        y = dist.apply_float(loud, dist.plan(item_rng(0, "d", r)))
        assert np.all(np.isfinite(y))


def test_int16_conversion_clips_instead_of_wrapping() -> None:
    y = to_int16_clipped(np.array([1.5, -1.5, np.nan, np.inf, -np.inf, 0.5], np.float32))
    assert y.tolist() == [32767, -32768, 0, 32767, -32768, 16384]


# --- determinism --------------------------------------------------------------------------

def test_same_seed_clip_round_gives_identical_samples(sources) -> None:
    aug = Augmenter(AugmentConfig(pitch_probability=0.5, tempo_probability=0.5,
                                  distortion_probability=0.3), sources, WINDOW)
    clip = _phrase(1.0)
    a = [aug(clip, item_rng(7, "clip-1", r, "augment")) for r in range(6)]
    b = [aug(clip, item_rng(7, "clip-1", r, "augment")) for r in range(6)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], a[1])


def test_pickles_without_the_per_process_cache(sources) -> None:
    aug = _augmenter(sources, rir_probability=1.0)
    aug(_phrase(0.5), np.random.default_rng(0))
    assert aug._rir_cache
    clone = pickle.loads(pickle.dumps(aug))
    assert clone._rir_cache == {} and len(clone.sources.rirs) == len(sources.rirs)
    np.testing.assert_array_equal(clone(_phrase(0.5), np.random.default_rng(1)),
                                  aug(_phrase(0.5), np.random.default_rng(1)))


_WORKER_AUG: Augmenter | None = None


def _init_worker(aug: Augmenter) -> None:
    global _WORKER_AUG
    _WORKER_AUG = aug


def _work(item: tuple[int, int]) -> bytes:
    clip_id, round_ = item
    assert _WORKER_AUG is not None
    clip = _phrase(0.6 + 0.1 * clip_id, 150.0 + 20 * clip_id)
    return _WORKER_AUG(clip, item_rng(11, f"clip-{clip_id}", round_, "augment"),
                       positive=clip_id % 2 == 0).tobytes()


@pytest.mark.slow
def test_same_samples_in_any_worker_count(sources) -> None:
    aug = Augmenter(AugmentConfig(pitch_probability=0.5, tempo_probability=0.5,
                                  eq_probability=0.5, distortion_probability=0.3),
                    sources, WINDOW)
    items = [(c, r) for c in range(4) for r in range(3)]
    _init_worker(aug)
    local = [_work(i) for i in items]
    ctx = mp.get_context("spawn")
    for workers in (1, 2):
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(aug,)) as pool:
            assert list(pool.map(_work, items, chunksize=1)) == local, workers


def test_peaking_section_equals_audiomentations_peaking_filter() -> None:
    audiomentations = pytest.importorskip("audiomentations")
    from scipy.signal import sosfilt

    x = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    t = audiomentations.PeakingFilter(p=1.0)
    t.parameters = {"should_apply": True, "center_freq": 2500.0, "gain_db": 7.0,
                    "q_factor": 1.5}
    t.freeze_parameters()
    ref = t(x, SAMPLE_RATE)
    ours = sosfilt(effects.peaking_sos(2500.0, 7.0, 1.5), x)
    np.testing.assert_allclose(ours[200:], ref[200:], atol=1e-5)  # after the start transient


def test_wsola_keeps_speech_like_audio_continuous() -> None:
    x = np.random.default_rng(0).standard_normal(SAMPLE_RATE).astype(np.float32) * 0.05
    x[4000:8000] = 0.0  # silence inside is kept silent, not smeared
    y = effects.time_stretch(x, 0.8)
    assert np.all(np.isfinite(y)) and len(y) == 20000
    mid = y[int(5200 / 0.8):int(7000 / 0.8)]
    assert np.max(np.abs(mid)) < 1e-6


def test_stereo_input_is_rejected(sources) -> None:
    with pytest.raises(ValueError, match="mono"):
        _augmenter(sources)(np.zeros((2, 16000), np.int16), np.random.default_rng(0))


def test_with_babble_remakes_only_the_babble_tracks(sources: AcousticSources) -> None:
    from easy_oww.augment import with_babble

    held = with_babble(sources, [_phrase(0.9, 150.0), _phrase(1.2, 300.0)], seed=3,
                       seconds=4.0)
    assert held.noise_names == sources.noise_names and held.rirs is sources.rirs
    for name, old, new in zip(sources.noise_names, sources.noises, held.noises):
        if name.startswith("babble_"):
            assert len(new) == 4 * 16000 and not np.array_equal(old[:len(new)], new)
            assert not new.flags.writeable
        else:
            assert new is old
    assert held.fingerprint() != sources.fingerprint()
    with pytest.raises(ValueError):
        with_babble(sources, [], seed=3, seconds=4.0)


# --- speech after the phrase (the rest of a command) -----------------------------------

def test_place_in_window_puts_speech_after_the_phrase() -> None:
    clip = np.full(8000, 1000, dtype=np.int16)
    after = np.full(SAMPLE_RATE, 0.5, np.float32)
    y = place_in_window(clip, WINDOW, np.random.default_rng(0), (0.3, 0.3), after=after,
                        pause_s=0.1)
    end = WINDOW - int(0.3 * SAMPLE_RATE)
    np.testing.assert_allclose(y[end - 8000:end], 1000 / 32768)  # the phrase, untouched
    assert not np.any(y[end:end + 1600])  # the pause
    np.testing.assert_array_equal(y[end + 1600:], 0.5)  # the speech, up to the window's end
    assert not np.any(y[:end - 8000])
    late = place_in_window(clip, WINDOW, np.random.default_rng(0), (0.1, 0.1), after=after,
                           pause_s=0.2)  # the pause outlasts the window: nothing follows
    assert not np.any(late[WINDOW - 1600:])


def test_follow_up_speech_starts_at_the_voice_and_is_normalised() -> None:
    from easy_oww.augment.sources import FOLLOW_UP_SECONDS, follow_up_speech

    quiet = np.concatenate([np.zeros(4000, np.int16), _phrase(3.0, 220.0, level=0.05)])
    (y,) = follow_up_speech([quiet, np.zeros(16000, np.int16)])  # silence is left out
    assert len(y) <= FOLLOW_UP_SECONDS * SAMPLE_RATE and not y.flags.writeable
    assert np.max(np.abs(y[:320])) > 0  # the leading silence is gone
    assert abs(active_rms(y) - 0.1) < 1e-3


def _speech_sources() -> AcousticSources:
    return build_sources(seed=3, babble=[_phrase(0.8, 180.0)],
                         speech=[_phrase(1.5, 180.0), _phrase(1.5, 260.0)])


def test_speech_follows_positives_and_end_placed_negatives_alike() -> None:
    src = _speech_sources()
    on = _augmenter(src, follow_probability=1.0, follow_pause_s=(0.05, 0.05),
                    end_jitter_s=(0.3, 0.3))
    off = _augmenter(src, follow_probability=0.0, end_jitter_s=(0.3, 0.3))
    clip = _phrase(1.0)
    tail = slice(WINDOW - int(0.25 * SAMPLE_RATE) + 160, WINDOW)  # after the pause
    for seed in range(6):
        y, plan = on.augment(clip, np.random.default_rng(seed))
        assert plan.follow is not None and "speech after 0.05 s" in plan.describe()
        assert np.abs(y[tail]).mean() > 100  # speech, at about the phrase's level
        quiet = off(clip, np.random.default_rng(seed))
        assert not np.any(quiet[tail])
        # the phrase itself is the same window for window with and without the follow-up
        np.testing.assert_array_equal(y[:tail.start - 960], quiet[:tail.start - 960])
    placed_like_positives = 0
    for seed in range(20):  # short negatives are placed like positives half of the time
        y, plan = on.augment(clip, np.random.default_rng(seed), positive=False)
        assert plan.follow is not None
        placed_like_positives += bool(np.any(y[tail]))
    assert 4 <= placed_like_positives <= 16


def test_speech_after_the_phrase_keeps_the_other_choices() -> None:
    """The follow-up is drawn last: every earlier choice is that of a plan without it."""
    src = _speech_sources()
    on, off = (Augmenter(AugmentConfig(follow_probability=p, noise_span_probability=0.0,
                                       voice_probability=0.0, timbre_probability=0.0),
                         src, WINDOW)
               for p in (1.0, 0.0))
    for seed in range(10):
        a, b = (x.plan(np.random.default_rng(seed)) for x in (on, off))
        assert a.follow is not None and b.follow is None
        assert dataclasses.replace(a, follow=None, follow_pause_s=0.0, follow_db=0.0) == b


def test_sources_fingerprint_the_speech_and_held_out_voices_replace_it() -> None:
    from easy_oww.augment import with_babble

    src = _speech_sources()
    plain = build_sources(seed=3, babble=[_phrase(0.8, 180.0)])
    assert not plain.speech and len(src.speech) == 2
    assert src.fingerprint() != plain.fingerprint()
    held = with_babble(src, [_phrase(1.0, 150.0)], seed=3, seconds=2.0)
    assert len(held.speech) == 1 and held.fingerprint() != src.fingerprint()
    assert not with_babble(plain, [_phrase(1.0, 150.0)], seed=3, seconds=2.0).speech
