"""Audio devices behind a small Protocol: list microphones, record a take, play it back.

The real backend uses ``sounddevice`` (extra ``mic``), imported only when a device is
needed. A missing package or PortAudio library is a one-line DeviceError that points to
``easy-oww import`` for users without a microphone on this machine. Tests use
:mod:`easy_oww.recording.fake`, which returns generated signals.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from easy_oww.contract import FRAME_SAMPLES, SAMPLE_RATE
from easy_oww.errors import DeviceError

log = logging.getLogger(__name__)

LevelFn = Callable[[float], None]
"""Receives the input level of each 80 ms block, in dBFS (-100 for digital silence)."""

IMPORT_INSTEAD = "record elsewhere and use: easy-oww import NAME FILES..."
NO_MIC_HINT = ("install the microphone extra with: pip install 'easy-oww[mic]' "
               "(Linux also needs PortAudio: apt install libportaudio2), or " + IMPORT_INSTEAD)


def portaudio_hint(instead: str = IMPORT_INSTEAD) -> str:
    """sounddevice is installed but the PortAudio system library is not: name its package."""
    return ("install the PortAudio system library (Debian/Ubuntu: sudo apt install "
            "libportaudio2; Fedora: sudo dnf install portaudio; macOS: brew install "
            "portaudio), or " + instead)


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    channels: int
    default_samplerate: float
    is_default: bool = False

    def label(self) -> str:
        return f"{self.index}: {self.name}" + (" (default)" if self.is_default else "")


class InputStream(Protocol):
    """An opened microphone (and the default speaker for playback)."""

    samplerate: int

    def record(self, seconds: float, on_level: LevelFn | None = None) -> np.ndarray:
        """Record `seconds` of mono int16 audio at `samplerate`; Ctrl-C propagates."""
        ...

    def read(self, frames: int) -> np.ndarray:
        """The next `frames` samples (int16, mono, at `samplerate`) of one continuous
        capture, started on the first call; fewer or none when the input has ended."""
        ...

    def play(self, audio: np.ndarray) -> None:
        """Play int16 `audio` and wait until it has finished."""
        ...

    def close(self) -> None: ...


class AudioBackend(Protocol):
    def list_devices(self) -> list[DeviceInfo]: ...

    def open_input(self, device: int | None, samplerate: int = SAMPLE_RATE) -> InputStream: ...


def level_dbfs(block: np.ndarray) -> float:
    """RMS level of an int16 block in dBFS, floored at -100."""
    if len(block) == 0:
        return -100.0
    rms = float(np.sqrt(np.mean((block.astype(np.float64) / 32768.0) ** 2)))
    return max(-100.0, 20.0 * float(np.log10(max(rms, 1e-10))))


def resolve_device(devices: list[DeviceInfo], wanted: str | int | None) -> DeviceInfo | None:
    """The device matching an index or (case-insensitive) part of a name; None = default.

    Raises DeviceError naming the available devices when nothing matches.
    """
    if not devices:
        raise DeviceError("no microphone (audio input device) was found", NO_MIC_HINT)
    if wanted is None or (isinstance(wanted, str) and wanted.strip() == ""):
        return next((d for d in devices if d.is_default), devices[0])
    text = str(wanted).strip()
    if text.lstrip("-").isdigit():
        for d in devices:
            if d.index == int(text):
                return d
    else:
        exact = [d for d in devices if d.name.lower() == text.lower()]
        partial = [d for d in devices if text.lower() in d.name.lower()]
        matches = exact or partial
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise DeviceError(f"microphone {text!r} matches several devices: "
                              + ", ".join(d.label() for d in matches),
                              "pass the device number with --device N")
    raise DeviceError(f"no microphone {text!r}; available: "
                      + ", ".join(d.label() for d in devices),
                      "pass one of these numbers or names with --device")


# ---------------------------------------------------------------------------- sounddevice


def _import_sounddevice() -> ModuleType:
    try:
        return importlib.import_module("sounddevice")
    except ImportError:
        raise DeviceError("recording needs the Python package 'sounddevice', which is not "
                          "installed", NO_MIC_HINT) from None
    except OSError as exc:  # sounddevice raises OSError when PortAudio is missing
        raise DeviceError(f"the PortAudio audio library is not available ({exc})",
                          portaudio_hint()) from None


class SoundDeviceBackend:
    """Microphones through PortAudio (``sounddevice``)."""

    def __init__(self) -> None:
        self._sd = _import_sounddevice()

    def list_devices(self) -> list[DeviceInfo]:
        sd = self._sd
        try:
            raw = sd.query_devices()
            default_in = sd.default.device[0]
        except Exception as exc:  # noqa: BLE001 - PortAudio errors vary by platform
            raise DeviceError(f"cannot list audio devices: {exc}", NO_MIC_HINT) from None
        out: list[DeviceInfo] = []
        for i, d in enumerate(raw):
            if int(d.get("max_input_channels", 0)) > 0:
                out.append(DeviceInfo(i, str(d["name"]), int(d["max_input_channels"]),
                                      float(d.get("default_samplerate", SAMPLE_RATE)),
                                      is_default=(i == default_in)))
        return out

    def open_input(self, device: int | None, samplerate: int = SAMPLE_RATE) -> InputStream:
        return _SoundDeviceStream(self._sd, device, samplerate)


class _SoundDeviceStream:
    """Blocking reads of 80 ms blocks; resamples when the device refuses 16 kHz."""

    def __init__(self, sd: ModuleType, device: int | None, samplerate: int) -> None:
        self._sd = sd
        self.device = device
        self.samplerate = samplerate
        self._native = samplerate
        self._live: Any = None  # the continuous capture of `read`
        self._resampler: Any = None
        self._pending = np.zeros(0, dtype=np.int16)
        try:
            sd.check_input_settings(device=device, channels=1, dtype="int16",
                                    samplerate=samplerate)
        except Exception:  # noqa: BLE001 - fall back to the device's own rate
            info: Any = sd.query_devices(device, "input")
            self._native = int(info["default_samplerate"])
            log.debug("device %s refuses %d Hz; recording at %d Hz and resampling",
                      device, samplerate, self._native)

    def record(self, seconds: float, on_level: LevelFn | None = None) -> np.ndarray:
        total = round(seconds * self._native)
        block = max(1, FRAME_SAMPLES * self._native // SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        got = 0
        try:
            with self._sd.InputStream(samplerate=self._native, channels=1, dtype="int16",
                                      device=self.device, blocksize=block) as stream:
                while got < total:
                    data, _overflow = stream.read(min(block, total - got))
                    mono = np.asarray(data, dtype=np.int16).reshape(-1)
                    chunks.append(mono.copy())
                    got += len(mono)
                    if on_level is not None:
                        on_level(level_dbfs(mono))
        except self._sd.PortAudioError as exc:
            raise DeviceError(f"recording failed on device {self.device}: {exc}",
                              "check the microphone, or choose another with --device") from None
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        if self._native != self.samplerate:
            from easy_oww.audio.io import resample, to_int16

            audio = to_int16(resample(audio.astype(np.float32) / 32768.0, self._native,
                                      self.samplerate))
        return audio

    def read(self, frames: int) -> np.ndarray:
        if self._live is None:
            self._open_live()
        try:
            while self._pending.size < frames:
                data, _overflow = self._live.read(max(1, frames * self._native
                                                      // self.samplerate))
                block = np.asarray(data, dtype=np.int16).reshape(-1)
                if self._resampler is not None:
                    from easy_oww.audio.io import to_int16

                    block = to_int16(self._resampler.resample_chunk(
                        block.astype(np.float32) / 32768.0))
                self._pending = np.concatenate([self._pending, block])
        except self._sd.PortAudioError as exc:
            raise DeviceError(f"reading the microphone failed on device {self.device}: {exc}",
                              "check the microphone, or choose another with --device") from None
        out, self._pending = self._pending[:frames], self._pending[frames:]
        return out

    def _open_live(self) -> None:
        block = max(1, FRAME_SAMPLES * self._native // SAMPLE_RATE)
        try:
            self._live = self._sd.InputStream(samplerate=self._native, channels=1,
                                              dtype="int16", device=self.device,
                                              blocksize=block)
            self._live.start()
        except (self._sd.PortAudioError, ValueError) as exc:
            what = (f"microphone {self.device}" if self.device is not None
                    else "the default microphone")
            raise DeviceError(f"cannot open {what}: {exc}",
                              "check the microphone, or choose another with --device") from None
        if self._native != self.samplerate:
            import soxr

            self._resampler = soxr.ResampleStream(self._native, self.samplerate, 1,
                                                  dtype="float32", quality="HQ")

    def play(self, audio: np.ndarray) -> None:
        try:
            self._sd.play(np.asarray(audio, dtype=np.int16), self.samplerate)
            self._sd.wait()
        except self._sd.PortAudioError as exc:
            log.warning("playback failed: %s", exc)

    def close(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            try:
                live.stop()
                live.close()
            except Exception as exc:  # noqa: BLE001 - closing must not mask the real error
                log.debug("closing the microphone stream failed: %s", exc)
        try:
            self._sd.stop()
        except Exception as exc:  # noqa: BLE001 - closing must not mask the real error
            log.debug("stopping PortAudio failed: %s", exc)


def get_backend() -> AudioBackend:
    """The real microphone backend (tests replace this function with a fake)."""
    return SoundDeviceBackend()


def list_devices(backend: AudioBackend | None = None) -> list[DeviceInfo]:
    return (backend or get_backend()).list_devices()


def open_input(device: int | None = None, samplerate: int = SAMPLE_RATE,
               backend: AudioBackend | None = None) -> InputStream:
    return (backend or get_backend()).open_input(device, samplerate)
