"""Real speech from clips.negative_audio_dirs behind clips: talker tracks cut by part."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from easy_oww.audio.io import load_audio
from easy_oww.config import ProjectConfig
from easy_oww.contract import SAMPLE_RATE
from easy_oww.errors import EasyOWWError
from easy_oww.pipeline.real_speech import folder_key, talker_tracks

PART_HZ = (300.0, 1200.0, 3000.0)  # the training, validation and test part of a recording


def _recording(path: Path, seconds: float, sr: int = SAMPLE_RATE) -> Path:
    """A recording whose training, validation and test parts (70/15/15 % by time) are
    tones of PART_HZ, so a track tells which part it was cut from."""
    t = np.arange(int(seconds * sr)) / sr
    hz = np.select([t < 0.70 * seconds, t < 0.85 * seconds], PART_HZ[:2], PART_HZ[2])
    sf.write(path, 0.3 * np.sin(2 * np.pi * np.cumsum(hz) / sr), sr)
    return path


def _config(*folders: Path) -> ProjectConfig:
    return ProjectConfig.model_validate({"name": "t", "wake_word": "hey there", "clips": {
        "negative_audio_dirs": [str(f) for f in folders]}})


def _tones(x: np.ndarray) -> set[float]:
    """The PART_HZ tones present in `x` (spectral power above 1 % of the strongest)."""
    power = np.abs(np.fft.rfft(x)) ** 2
    hz = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    return {f for f in PART_HZ if power[np.abs(hz - f) < 20].max() > 0.01 * power.max()}


def test_excerpts_load_from_an_offset(tmp_path: Path) -> None:
    path = _recording(tmp_path / "r.wav", 10.0, sr=22050)
    whole = load_audio(path)
    part = load_audio(path, start_s=2.0, seconds=1.5)
    assert len(part) == pytest.approx(1.5 * SAMPLE_RATE, abs=2)
    at = 2 * SAMPLE_RATE + 100  # resampling edges aside, the samples are the file's
    assert np.abs(part[100:1000].astype(int) - whole[at:at + 900]).max() <= 2
    assert len(load_audio(path, start_s=9.5)) == pytest.approx(0.5 * SAMPLE_RATE, abs=2)


def test_tracks_come_from_their_own_part_only(tmp_path: Path) -> None:
    folder = tmp_path / "speech"
    (folder / "sub").mkdir(parents=True)
    _recording(folder / "a.wav", 60.0)
    _recording(folder / "sub" / "b.flac", 40.0, sr=48000)
    config = _config(folder)
    train = talker_tracks(config, "train", tracks=3, seconds=25.0, seed=5)
    val = talker_tracks(config, "val", tracks=2, seconds=12.0, seed=5)
    assert [len(x) for x in train] == [25 * SAMPLE_RATE] * 3
    assert [len(x) for x in val] == [12 * SAMPLE_RATE] * 2
    for x in train:
        assert x.dtype == np.float32 and _tones(x) == {PART_HZ[0]}
    for x in val:
        assert _tones(x) == {PART_HZ[1]}
    # each stretch is scaled to one level; tracks are distinct and repeatable
    assert np.sqrt(np.mean(train[0] ** 2)) == pytest.approx(0.1, rel=0.05)
    assert not np.array_equal(train[0], train[1])
    again = talker_tracks(config, "train", tracks=3, seconds=25.0, seed=5)
    assert all(np.array_equal(x, y) for x, y in zip(train, again))
    assert not np.array_equal(train[0], talker_tracks(config, "train", tracks=1,
                                                      seconds=25.0, seed=6)[0])


def test_short_recordings_give_no_held_out_tracks_and_no_folder_gives_none(
        tmp_path: Path) -> None:
    _recording(tmp_path / "short.wav", 10.0)  # 15 % is 1.5 s: less than a second inside
    config = _config(tmp_path)
    assert len(talker_tracks(config, "train", tracks=1, seconds=3.0, seed=0)) == 1
    assert talker_tracks(config, "val", tracks=1, seconds=3.0, seed=0) == []
    assert talker_tracks(_config(), "train", tracks=2, seconds=3.0, seed=0) == []


def test_folder_key_follows_the_files_and_bad_files_say_what_to_do(tmp_path: Path) -> None:
    path = _recording(tmp_path / "a.wav", 5.0)
    config = _config(tmp_path)
    key = folder_key(config)
    assert key[0][0] == str(path)
    _recording(path, 6.0)
    assert folder_key(config) != key
    (tmp_path / "broken.wav").write_bytes(b"RIFF not really audio")
    with pytest.raises(EasyOWWError, match="broken.wav") as err:
        talker_tracks(config, "train", tracks=1, seconds=1.0, seed=0)
    assert "negative_audio_dirs" in str(err.value.hint)
