"""The sounddevice backend against a stand-in `sounddevice` module (no PortAudio needed)."""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np
import pytest

from easy_oww.contract import FRAME_SAMPLES, SAMPLE_RATE
from easy_oww.errors import DeviceError
from easy_oww.recording import device as device_mod


class PortAudioError(Exception):
    pass


def fake_sounddevice(native_rate: int, refuse_16k: bool) -> types.ModuleType:
    sd: Any = types.ModuleType("sounddevice")
    sd.PortAudioError = PortAudioError
    sd.played = []
    sd.opened = []
    sd.stopped = 0
    devices = [
        {"name": "Speakers", "max_input_channels": 0, "default_samplerate": 48000.0},
        {"name": "Mic Array", "max_input_channels": 2, "default_samplerate": float(native_rate)},
        {"name": "USB Mic", "max_input_channels": 1, "default_samplerate": 16000.0},
    ]
    sd.default = types.SimpleNamespace(device=(1, 0))

    def query_devices(device: int | None = None, kind: str | None = None) -> Any:
        if device is None and kind is None:
            return devices
        return devices[1 if device is None else device]

    def check_input_settings(**kw: Any) -> None:
        if refuse_16k and kw["samplerate"] == SAMPLE_RATE:
            raise PortAudioError("Invalid sample rate")

    class InputStream:
        def __init__(self, samplerate: int, channels: int, dtype: str, device: Any,
                     blocksize: int) -> None:
            assert channels == 1 and dtype == "int16"
            self.rate = samplerate
            self.t = 0

        def __enter__(self) -> Any:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def start(self) -> None:
            sd.opened.append(self.rate)

        def stop(self) -> None:
            sd.stopped += 1

        def close(self) -> None:
            return None

        def read(self, frames: int) -> tuple[np.ndarray, bool]:
            t = (self.t + np.arange(frames)) / self.rate
            self.t += frames
            x = (0.25 * np.sin(2 * np.pi * 300 * t) * 32767).astype(np.int16)
            return x.reshape(-1, 1), False

    sd.query_devices = query_devices
    sd.check_input_settings = check_input_settings
    sd.InputStream = InputStream
    sd.play = lambda audio, rate: sd.played.append((audio, rate))
    sd.wait = lambda: None
    sd.stop = lambda: None
    return sd


def test_lists_input_devices_only_and_marks_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(48000, False))
    devices = device_mod.list_devices()
    assert [(d.index, d.name, d.is_default) for d in devices] == [
        (1, "Mic Array", True), (2, "USB Mic", False)]


@pytest.mark.parametrize("refuse_16k", [False, True])
def test_records_16k_int16_with_levels_resampling_when_needed(
        monkeypatch: pytest.MonkeyPatch, refuse_16k: bool) -> None:
    sd = fake_sounddevice(48000, refuse_16k)
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    stream = device_mod.open_input(1)
    levels: list[float] = []
    audio = stream.record(1.0, levels.append)
    assert audio.dtype == np.int16
    assert abs(len(audio) - SAMPLE_RATE) <= 2
    # one level per 80 ms block; a 0.25 full-scale sine is about -15 dBFS
    assert len(levels) == pytest.approx(SAMPLE_RATE / FRAME_SAMPLES, abs=1)
    assert all(-16.0 < lv < -14.0 for lv in levels)
    spectrum = np.abs(np.fft.rfft(audio.astype(np.float64)))
    assert np.argmax(spectrum) == pytest.approx(300, abs=2)  # 1 Hz bins for 1 s
    stream.play(audio)
    assert sd.played[0][1] == SAMPLE_RATE


def test_recording_failure_is_a_device_error(monkeypatch: pytest.MonkeyPatch) -> None:
    sd = fake_sounddevice(16000, False)

    class Broken(sd.InputStream):  # type: ignore[name-defined,misc]
        def read(self, frames: int) -> tuple[np.ndarray, bool]:
            raise PortAudioError("Device unavailable")

    sd.InputStream = Broken
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    with pytest.raises(DeviceError, match="Device unavailable"):
        device_mod.open_input(2).record(0.5)


@pytest.mark.parametrize("refuse_16k", [False, True])
def test_read_is_one_continuous_capture_at_16k(monkeypatch: pytest.MonkeyPatch,
                                               refuse_16k: bool) -> None:
    """The live test's input: one stream opened once, 80 ms blocks at 16 kHz."""
    sd = fake_sounddevice(48000, refuse_16k)
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    stream = device_mod.open_input(1)
    blocks = [stream.read(FRAME_SAMPLES) for _ in range(10)]
    stream.close()
    assert sd.opened == [48000 if refuse_16k else SAMPLE_RATE] and sd.stopped == 1
    assert all(b.dtype == np.int16 and b.shape == (FRAME_SAMPLES,) for b in blocks)
    audio = np.concatenate(blocks).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(audio[FRAME_SAMPLES:]))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / (audio.size - FRAME_SAMPLES)
    assert abs(peak_hz - 300) < 10  # the 300 Hz tone comes through (resampled when needed)
