"""A fake audio backend and generated test signals (no audio hardware needed).

`FakeBackend` hands out a scripted sequence of takes: arrays are returned as recorded
audio (or, through `read`, as one continuous input), exceptions (e.g. KeyboardInterrupt)
are raised mid-take. Used by the tests and
useful for trying the recording flow on a machine without a microphone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from easy_oww.contract import FRAME_SAMPLES, SAMPLE_RATE
from easy_oww.recording.device import DeviceInfo, InputStream, LevelFn, level_dbfs

# --------------------------------------------------------------------------- signals


def speech_like(rng: np.random.Generator, *, seconds: float = 3.0, speech_s: float = 0.8,
                start_s: float = 0.8, peak: float = 0.5, noise: float = 0.002,
                sr: int = SAMPLE_RATE) -> np.ndarray:
    """Syllable-like tone bursts (harmonics, 4 Hz envelope) in faint noise, int16."""
    n = round(seconds * sr)
    t = np.arange(n) / sr
    out = rng.normal(0.0, noise, n)
    a, b = int(start_s * sr), min(n, int((start_s + speech_s) * sr))
    if b > a:
        tt = t[a:b] - t[a]
        f0 = 110.0 + 40.0 * rng.random()
        voice = sum(np.sin(2 * np.pi * f0 * k * tt + rng.random() * 6.28) / k
                    for k in range(1, 6))
        envelope = np.abs(np.sin(np.pi * 4.0 * tt / 1.0)) ** 0.7 * np.hanning(b - a) ** 0.2
        burst = voice * envelope
        out[a:b] += burst / max(np.max(np.abs(burst)), 1e-9) * peak
    return np.clip(np.rint(out * 32767), -32768, 32767).astype(np.int16)


def silence(seconds: float = 3.0, sr: int = SAMPLE_RATE) -> np.ndarray:
    return np.zeros(round(seconds * sr), dtype=np.int16)


def noise(rng: np.random.Generator, seconds: float = 3.0, level: float = 0.1,
          sr: int = SAMPLE_RATE) -> np.ndarray:
    """Steady white noise: loud enough to hear, no speech in it."""
    x = rng.normal(0.0, level, round(seconds * sr))
    return np.clip(np.rint(x * 32767), -32768, 32767).astype(np.int16)


def clipped(rng: np.random.Generator, seconds: float = 3.0, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Speech-like bursts driven far past full scale."""
    x = speech_like(rng, seconds=seconds, peak=1.0, sr=sr).astype(np.float64) * 4.0
    return np.clip(x, -32768, 32767).astype(np.int16)


# --------------------------------------------------------------------------- backend


@dataclass
class FakeStream:
    """Plays back scripted takes; records what it was asked to play."""

    script: list[np.ndarray | BaseException]
    samplerate: int = SAMPLE_RATE
    played: list[np.ndarray] = field(default_factory=list)
    recorded: int = 0
    closed: bool = False
    _tape: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))

    def record(self, seconds: float, on_level: LevelFn | None = None) -> np.ndarray:
        if not self.script:
            raise AssertionError("FakeStream: no more scripted takes")
        item = self.script.pop(0)
        self.recorded += 1
        if isinstance(item, BaseException):
            if on_level is not None:
                on_level(-60.0)  # the take had started when it was interrupted
            raise item
        audio = np.asarray(item, dtype=np.int16)
        if on_level is not None:
            for i in range(0, len(audio), FRAME_SAMPLES):
                on_level(level_dbfs(audio[i:i + FRAME_SAMPLES]))
        return audio

    def read(self, frames: int) -> np.ndarray:
        """The scripted takes as one continuous input: an exception is raised once the
        audio before it has been read; empty once the script has ended."""
        while self._tape.size < frames and self.script:
            item = self.script[0]
            if isinstance(item, BaseException):
                if self._tape.size:
                    break  # hand out the audio before it first
                self.script.pop(0)
                raise item
            self.script.pop(0)
            self._tape = np.concatenate([self._tape, np.asarray(item, np.int16).reshape(-1)])
        out, self._tape = self._tape[:frames], self._tape[frames:]
        return out

    def play(self, audio: np.ndarray) -> None:
        self.played.append(np.asarray(audio))

    def close(self) -> None:
        self.closed = True


class FakeBackend:
    """Two fake microphones; every opened stream shares one script of takes."""

    def __init__(self, takes: Iterable[np.ndarray | BaseException] = (),
                 devices: list[DeviceInfo] | None = None) -> None:
        self.devices = devices if devices is not None else [
            DeviceInfo(0, "Built-in Microphone", 1, 48000.0, is_default=True),
            DeviceInfo(3, "USB Headset Mic", 1, 16000.0),
        ]
        self.stream = FakeStream(list(takes))
        self.opened: list[int | None] = []

    def list_devices(self) -> list[DeviceInfo]:
        return list(self.devices)

    def open_input(self, device: int | None, samplerate: int = SAMPLE_RATE) -> InputStream:
        self.opened.append(device)
        self.stream.samplerate = samplerate
        return self.stream
