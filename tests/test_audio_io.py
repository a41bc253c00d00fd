from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from easy_oww.audio.io import load_audio, save_wav, to_int16
from easy_oww.audio.quality import check_quality
from easy_oww.contract import SAMPLE_RATE
from easy_oww.errors import AudioError

from .conftest import speechlike, tone

FORMATS = [("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_24"), ("ogg", "OGG", "VORBIS"),
           ("mp3", "MP3", "MPEG_LAYER_III")]


@pytest.mark.parametrize(("ext", "fmt", "subtype"), FORMATS)
@pytest.mark.parametrize("sr", [8000, 16000, 44100, 48000])
def test_each_format_loads_to_16k_mono_int16(tmp_path: Path, ext: str, fmt: str, subtype: str,
                                             sr: int) -> None:
    x = tone(1.0, 440.0, 0.5, sr)
    stereo = np.stack([x, x], axis=1)
    path = tmp_path / f"a.{ext}"
    sf.write(path, stereo, sr, format=fmt, subtype=subtype)
    audio = load_audio(path)
    assert audio.dtype == np.int16
    assert audio.ndim == 1
    assert abs(len(audio) - SAMPLE_RATE) < 0.06 * SAMPLE_RATE  # mp3 adds encoder delay
    # 440 Hz survives resampling: the spectrum peaks there.
    spec = np.abs(np.fft.rfft(audio.astype(np.float64)))
    peak_hz = np.argmax(spec) * SAMPLE_RATE / len(audio)
    assert abs(peak_hz - 440.0) < 5.0
    assert 0.35 < np.max(np.abs(audio)) / 32768 < 0.65


def test_save_is_atomic_and_round_trips(tmp_path: Path) -> None:
    x = to_int16(speechlike())
    path = save_wav(tmp_path / "sub" / "x.wav", x)
    assert np.array_equal(load_audio(path), x)
    assert not list(path.parent.glob(".*.tmp"))
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")


def test_to_int16_clips_without_wrapping() -> None:
    y = to_int16(np.array([2.0, -2.0, 0.5, 1.0], dtype=np.float32))
    assert y.tolist() == [32767, -32768, 16384, 32767]
    assert to_int16(np.array([1 << 30], dtype=np.int32)).tolist() == [16384]


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt", "unsupported", "zero_length",
                                  "directory", "nan"])
def test_bad_inputs_name_the_file(tmp_path: Path, case: str) -> None:
    path = tmp_path / f"bad_{case}.wav"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "corrupt":
        path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 4)
    elif case == "unsupported":
        path = tmp_path / "notes.xyz"
        path.write_bytes(b"hello world, not audio" * 10)
    elif case == "zero_length":
        sf.write(path, np.zeros((0,), dtype=np.float32), 16000)
    elif case == "directory":
        path.mkdir()
    elif case == "nan":
        sf.write(path, np.array([0.1, np.nan, 0.2] * 100, dtype=np.float32), 16000,
                 subtype="FLOAT")
    with pytest.raises(AudioError) as info:
        load_audio(path)
    assert str(path.name) in info.value.message
    assert info.value.hint
    if case == "unsupported":
        assert "unsupported audio format '.xyz'" in info.value.message


def test_quality_findings() -> None:
    good = check_quality(to_int16(speechlike(1.5)))
    assert good.ok and not good.findings, good.summary()
    assert check_quality(to_int16(speechlike(0.2))).codes >= {"too_short"}
    assert "too_quiet" in check_quality(to_int16(speechlike(1.5, level=0.005))).codes
    assert "silent" in check_quality(np.zeros(24000, np.int16)).codes
    loud = np.clip(speechlike(1.5, level=1.0) * 8, -1, 1)
    codes = check_quality(to_int16(loud)).codes
    assert "clipped" in codes
    noisy = speechlike(1.5) + 0.08 * np.random.default_rng(1).standard_normal(24000)
    report = check_quality(to_int16(noisy.astype(np.float32)))
    assert "low_snr" in report.codes and report.ok  # a warning, not a refusal
    pure_noise = 0.1 * np.random.default_rng(2).standard_normal(24000)
    bad = check_quality(to_int16(pure_noise.astype(np.float32)))
    assert "low_snr" in bad.codes and not bad.ok
    long_tone = check_quality(to_int16(tone(12.0, level=0.3)))
    assert "too_long" in long_tone.codes
    with pytest.raises(TypeError):
        check_quality(np.zeros(10, np.float32))
