"""Recording library: validation thresholds on generated signals, trimming, numbering,
sessions with a fake device, suggestions and the missing-device error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from easy_oww.audio.io import load_audio, save_wav
from easy_oww.contract import SAMPLE_RATE
from easy_oww.errors import DeviceError, EasyOWWError
from easy_oww.recording import device as device_mod
from easy_oww.recording.device import DeviceInfo, resolve_device
from easy_oww.recording.fake import FakeBackend, clipped, noise, silence, speech_like
from easy_oww.recording.session import RecordingSession, highest_number, next_free_path
from easy_oww.recording.suggest import negative_suggestions
from easy_oww.recording.validate import check_clip, content_hash, speech_span, trim_silence


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ validation thresholds


def test_good_take_passes_and_is_trimmed_around_the_speech() -> None:
    audio = speech_like(rng(), seconds=3.0, start_s=1.0, speech_s=0.8)
    check = check_clip(audio)
    assert check.ok and check.report.findings == ()
    assert check.speech_s == pytest.approx(0.8, abs=0.06)
    # 0.8 s of speech + 0.25 s padding each side, cut out of the 3 s take
    assert len(check.trimmed) / SAMPLE_RATE == pytest.approx(1.3, abs=0.06)
    start = int(np.flatnonzero(np.abs(check.trimmed) > 3000)[0]) / SAMPLE_RATE
    assert start == pytest.approx(0.25, abs=0.05)


@pytest.mark.parametrize(("make", "code", "words"), [
    (lambda: silence(3.0), "silent", "no sound"),
    (lambda: speech_like(rng(), peak=0.005), "too_quiet", "too quiet"),
    (lambda: clipped(rng()), "clipped", "clipped"),
    (lambda: noise(rng()), "low_snr", "background noise"),
    (lambda: speech_like(rng(), speech_s=0.12), "too_short", "too short"),
    (lambda: speech_like(rng(), seconds=0.15, start_s=0.0, speech_s=0.15), "too_short",
     "too short"),
    (lambda: speech_like(rng(), seconds=13.0, start_s=0.2, speech_s=12.5), "too_long",
     "too long"),
])
def test_bad_takes_are_refused_with_a_plain_reason(make, code: str, words: str) -> None:  # type: ignore[no-untyped-def]
    check = check_clip(make())
    assert not check.ok
    assert check.first_error is not None and check.first_error.code == code
    assert words in check.report.summary()


def test_too_loud_is_refused() -> None:
    # a dense full-scale signal (RMS above -3 dBFS) without hard clipping
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    square_ish = np.tanh(8 * np.sin(2 * np.pi * 150 * t)) * 0.99
    audio = np.rint(square_ish * 32767).astype(np.int16)
    audio[: SAMPLE_RATE // 2] = 0
    check = check_clip(audio)
    assert "too_loud" in check.report.codes and not check.ok


def test_noisy_but_clear_speech_is_kept_with_a_warning() -> None:
    check = check_clip(speech_like(rng(), noise=0.1, peak=0.7))
    assert check.ok
    assert [w.code for w in check.warnings] == ["low_snr"]


def test_speech_threshold_boundary_is_min_duration() -> None:
    shorter = check_clip(speech_like(rng(1), speech_s=0.2))
    longer = check_clip(speech_like(rng(1), speech_s=0.45))
    assert "too_short" in shorter.report.codes
    assert longer.ok


def test_trim_keeps_audio_without_any_sound_unchanged() -> None:
    quiet = silence(1.0)
    assert speech_span(quiet) is None
    assert len(trim_silence(quiet)) == len(quiet)


def test_content_hash_depends_on_samples_only() -> None:
    a = speech_like(rng(3))
    assert content_hash(a) == content_hash(a.copy())
    b = a.copy()
    b[100] ^= 1
    assert content_hash(a) != content_hash(b)


# ------------------------------------------------------------------ numbering


def test_numbering_continues_after_the_highest_existing(tmp_path: Path) -> None:
    assert next_free_path(tmp_path / "missing").name == "0001.wav"
    for name in ("0001.wav", "0007.wav", "notes.wav", "12.wav"):
        (tmp_path / name).write_bytes(b"x")
    assert highest_number(tmp_path) == 7
    assert next_free_path(tmp_path).name == "0008.wav"


# ------------------------------------------------------------------ sessions


def test_session_saves_only_accepted_takes_in_order(tmp_path: Path) -> None:
    good1, good2 = speech_like(rng(1)), speech_like(rng(2))
    backend = FakeBackend([good1, silence(), good2])
    folder = tmp_path / "recordings"
    save_wav(folder / "0004.wav", speech_like(rng(9)))  # from an earlier session
    session = RecordingSession(folder, backend.open_input(None), duration_s=3.0)
    levels: list[float] = []

    t1 = session.capture(1, levels.append)
    assert t1.ok and levels and max(levels) > -20
    assert session.accept(t1).name == "0005.wav"
    t2 = session.capture(2)
    assert not t2.ok
    with pytest.raises(EasyOWWError, match="quality check"):
        session.accept(t2)
    session.rerecord()
    t3 = session.capture(2)
    session.skip()
    summary = session.close()
    assert summary.accepted == 1 and summary.skipped == 1 and summary.rerecorded == 1
    assert summary.failed_checks == 1
    assert sorted(p.name for p in folder.iterdir()) == ["0004.wav", "0005.wav"]
    saved = load_audio(folder / "0005.wav")
    assert np.array_equal(saved, t1.to_save)  # the trimmed take, bit-exact
    assert t3.ok and backend.stream.closed


def test_interrupted_take_writes_nothing(tmp_path: Path) -> None:
    backend = FakeBackend([speech_like(rng(1)), KeyboardInterrupt()])
    folder = tmp_path / "rec"
    session = RecordingSession(folder, backend.open_input(0))
    session.accept(session.capture(1))
    with pytest.raises(KeyboardInterrupt):
        session.capture(2)
    assert [p.name for p in folder.iterdir()] == ["0001.wav"]  # no temp, no partial


def test_session_rejects_an_unreasonable_duration(tmp_path: Path) -> None:
    with pytest.raises(EasyOWWError, match="duration"):
        RecordingSession(tmp_path, FakeBackend().open_input(None), duration_s=60.0)


# ------------------------------------------------------------------ devices


DEVICES = [DeviceInfo(0, "Built-in Microphone", 1, 48000.0, is_default=True),
           DeviceInfo(3, "USB Headset Mic", 1, 16000.0),
           DeviceInfo(5, "USB Camera Mic", 2, 44100.0)]


def test_resolve_device_by_number_name_and_default() -> None:
    assert resolve_device(DEVICES, None) is DEVICES[0]
    assert resolve_device(DEVICES, "3") is DEVICES[1]
    assert resolve_device(DEVICES, 5) is DEVICES[2]
    assert resolve_device(DEVICES, "headset") is DEVICES[1]
    with pytest.raises(DeviceError, match="several"):
        resolve_device(DEVICES, "usb")
    with pytest.raises(DeviceError, match="available: 0: Built-in"):
        resolve_device(DEVICES, "9")
    with pytest.raises(DeviceError, match="no microphone"):
        resolve_device([], None)


def test_missing_sounddevice_is_a_one_line_device_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_module(name: str) -> None:
        raise ImportError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(device_mod.importlib, "import_module", no_module)
    with pytest.raises(DeviceError) as err:
        device_mod.get_backend()
    assert "sounddevice" in err.value.message and "\n" not in err.value.message
    assert "easy-oww import" in (err.value.hint or "")


def test_missing_portaudio_is_a_device_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_portaudio(name: str) -> None:
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(device_mod.importlib, "import_module", no_portaudio)
    with pytest.raises(DeviceError, match="PortAudio") as err:
        device_mod.list_devices()
    assert "easy-oww import" in (err.value.hint or "")


# ------------------------------------------------------------------ suggestions


def test_negative_suggestions_are_deterministic_and_not_the_wake_word() -> None:
    a = negative_suggestions("hey jarvis", 12, seed=7)
    b = negative_suggestions("hey jarvis", 12, seed=7)
    assert a == b and len(a) == 12
    assert all(p.strip() and p.lower() != "hey jarvis" for p in a)


def test_negative_suggestions_come_from_the_text_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    calls: list[tuple[str, int, int]] = []
    fake_text = types.ModuleType("easy_oww.text")

    def adversarial_phrases(wake_word: str, n: int, seed: int) -> list[str]:
        calls.append((wake_word, n, seed))
        return ["hey jar", "jarvis"]

    fake_text.adversarial_phrases = adversarial_phrases  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "easy_oww.text", fake_text)
    assert negative_suggestions("hey jarvis", 5, seed=3) == [
        "hey jar", "jarvis", "hey jar", "jarvis", "hey jar"]
    assert calls == [("hey jarvis", 5, 3)]


def test_negative_suggestions_fall_back_without_the_text_package(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "easy_oww.text", None)
    monkeypatch.setitem(sys.modules, "easy_oww.text.adversarial", None)
    phrases = negative_suggestions("hey jarvis", 4, seed=1)
    assert phrases[:3] == ["hey", "jarvis", "hello there"]
