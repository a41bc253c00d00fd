"""`easy-oww test`: live detection against a fake input stream, Ctrl-C, missing devices."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from easy_oww.cli.main import cli
from easy_oww.contract import SAMPLE_RATE
from easy_oww.errors import DeviceError
from easy_oww.evaluate import live
from easy_oww.evaluate.detector import Detector
from easy_oww.project import create_project
from easy_oww.recording import device as device_mod
from easy_oww.recording.fake import FakeBackend
from easy_oww.workspace import init_workspace

openwakeword = pytest.importorskip("openwakeword")
JARVIS = Path(os.path.dirname(openwakeword.__file__)) / "resources" / "models" / \
    "hey_jarvis_v0.1.onnx"


class FakeSource:
    """Plays `audio` in the requested block sizes; then Ctrl-C, or end of stream."""

    def __init__(self, audio: np.ndarray, *, then: str = "interrupt") -> None:
        self.audio, self.pos, self.then = audio, 0, then
        self.closed = False
        self.reads = 0

    def read(self, frames: int) -> np.ndarray:
        self.reads += 1
        if self.pos >= len(self.audio):
            if self.then == "interrupt":
                raise KeyboardInterrupt
            return np.zeros(0, dtype=np.int16)
        out = self.audio[self.pos:self.pos + frames]
        self.pos += frames
        return out

    def close(self) -> None:
        self.closed = True


@pytest.fixture(scope="module")
def session_audio() -> np.ndarray:
    from easy_oww.tts import SynthesisRequest, Voice, synthesize

    sil = np.zeros(SAMPLE_RATE, dtype=np.int16)
    wake = synthesize(SynthesisRequest("hey jarvis", Voice("espeak", "en")))
    other = synthesize(SynthesisRequest("what a lovely day", Voice("espeak", "en+Alex")))
    return np.concatenate([sil, wake, sil, other, sil, wake, sil])


def test_run_live_detects_and_summarises(session_audio):
    det = Detector(JARVIS, threshold=0.5, debounce_s=1.0)
    src = FakeSource(session_audio, then="end")
    frames: list[live.LiveFrame] = []
    summary = live.run_live(det, src, duration_s=None, on_frame=frames.append)
    assert src.closed and not summary.interrupted
    assert summary.frames == len(session_audio) // 1280 == len(frames)
    assert len(summary.detections) == 2
    assert [f.detection for f in frames if f.detection] == summary.detections
    assert summary.max_score > 0.9 and summary.seconds == pytest.approx(summary.frames * 0.08)
    first = summary.detections[0].time_s
    assert 1.0 < first < 3.0  # the first "hey jarvis" ends about 2 s in


def test_run_live_stops_at_duration_and_on_ctrl_c(session_audio):
    det = Detector(JARVIS)
    src = FakeSource(session_audio)
    summary = live.run_live(det, src, duration_s=1.0)
    assert summary.frames == 12 and not summary.interrupted and src.closed  # 1.0 s / 80 ms
    src = FakeSource(session_audio[:SAMPLE_RATE])
    summary = live.run_live(det, src, duration_s=60)
    assert summary.interrupted and src.closed and summary.frames == SAMPLE_RATE // 1280


@pytest.fixture
def ws(tmp_path):
    workspace = init_workspace(tmp_path / "ws")
    create_project(workspace, "hey_jarvis", "hey jarvis")
    return workspace


@pytest.fixture
def mic(monkeypatch):
    """Install recording.fake's backend (two fake microphones) playing these takes."""
    def install(*takes):
        backend = FakeBackend(takes)
        monkeypatch.setattr(device_mod, "get_backend", lambda: backend)
        return backend

    return install


def test_cli_test_with_fake_stream_and_ctrl_c(ws, session_audio, mic):
    backend = mic(session_audio, KeyboardInterrupt())
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "test", "hey_jarvis",
                                   "--model", str(JARVIS), "--device", "3",
                                   "--threshold", "0.5"])
    assert res.exit_code == 0, res.output
    assert backend.opened == [3] and backend.stream.closed
    assert res.stdout.count("detected at") == 2
    assert "stopped with Ctrl-C: 2 detection(s)" in res.stdout
    assert "listening for 'hey jarvis'" in res.stderr


def test_cli_test_picks_the_microphone_by_name_like_record(ws, mic):
    backend = mic(np.zeros(SAMPLE_RATE, np.int16))
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "test", "hey_jarvis",
                                   "--model", str(JARVIS), "--device", "usb"])
    assert res.exit_code == 0, res.output
    assert backend.opened == [3]  # "USB Headset Mic", as `record --device usb` finds it
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "test", "hey_jarvis",
                                   "--model", str(JARVIS), "--device", "nope"])
    assert res.exit_code == 2 and "no microphone 'nope'" in res.stderr


def test_cli_test_duration_and_no_detection(ws, mic):
    mic(np.zeros(SAMPLE_RATE * 3, np.int16))
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "test", "hey_jarvis",
                                   "--model", str(JARVIS), "--duration", "2"])
    assert res.exit_code == 0, res.output
    assert "done: 0 detection(s) in 2.0 s" in res.stdout
    assert "no detection" in res.stdout


def test_cli_test_without_microphone_suggests_eval(ws, monkeypatch):
    monkeypatch.setattr(device_mod, "get_backend", lambda: FakeBackend(devices=[]))
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "test", "hey_jarvis",
                                   "--model", str(JARVIS)])
    assert res.exit_code == 2
    assert "error: no microphone" in res.stderr
    assert "easy-oww eval hey_jarvis --audio" in res.stderr and "Traceback" not in res.output


def test_fake_stream_reads_its_takes_as_one_input():
    stream = FakeBackend([np.arange(3, dtype=np.int16), np.arange(3, 5, dtype=np.int16),
                          KeyboardInterrupt()]).open_input(None)
    assert stream.read(4).tolist() == [0, 1, 2, 3]
    assert stream.read(4).tolist() == [4]  # the audio before the interruption first
    with pytest.raises(KeyboardInterrupt):
        stream.read(4)
    assert stream.read(4).size == 0  # then the input has ended


def test_missing_sounddevice_or_portaudio_is_a_device_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails
    with pytest.raises(DeviceError) as err:
        live.open_audio_source(None)
    assert "sounddevice" in err.value.message and "easy-oww eval" in (err.value.hint or "")


def test_missing_portaudio_library_is_a_device_error(monkeypatch):
    class NoPortAudio:
        def find_spec(self, name, path=None, target=None):
            if name == "sounddevice":
                raise OSError("PortAudio library not found")

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [NoPortAudio(), *sys.meta_path])
    with pytest.raises(DeviceError) as err:
        live.open_audio_source(None)
    assert "PortAudio" in err.value.message and "easy-oww eval" in (err.value.hint or "")
