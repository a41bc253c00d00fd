"""`easy-oww record` / `record-negative` end to end: fake device, scripted key presses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from easy_oww.audio.io import load_audio, save_wav
from easy_oww.config import load_config
from easy_oww.project import create_project
from easy_oww.recording import device as device_mod
from easy_oww.recording.fake import FakeBackend, clipped, silence, speech_like
from easy_oww.workspace import ProjectPaths, Workspace

FAST = ["--countdown", "0", "--duration", "3"]


def good(seed: int) -> np.ndarray:
    return speech_like(np.random.default_rng(seed))


@pytest.fixture
def project(workspace: Workspace) -> ProjectPaths:
    return create_project(workspace, "jarvis", "hey jarvis").paths


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeBackend]:
    def install(*takes: np.ndarray | BaseException) -> FakeBackend:
        backend = FakeBackend(takes)
        monkeypatch.setattr(device_mod, "get_backend", lambda: backend)
        return backend

    return install


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_accept_rerecord_skip_with_typed_answers(invoke, project, fake) -> None:  # type: ignore[no-untyped-def]
    backend = fake(good(1), good(2), good(3), good(4))
    result = invoke("record", "jarvis", "--count", "3", *FAST, input="a\nr\na\ns\n")
    assert result.exit_code == 0, result.output
    # take 1 accepted; take 2 re-recorded then accepted; take 3 skipped
    assert names(project.recordings) == ["0001.wav", "0002.wav"]
    assert backend.stream.recorded == 4
    assert len(backend.stream.played) == 4  # automatic playback of every take
    assert np.array_equal(load_audio(project.recordings / "0002.wav"), backend.stream.played[2])
    assert "2 takes saved" in result.stdout and "1 re-recorded, 1 skipped" in result.stdout
    assert 'say "hey jarvis"' in result.stderr
    assert "Take 3/3" in result.stderr


def test_failed_take_explains_and_cannot_be_accepted(invoke, project, fake) -> None:  # type: ignore[no-untyped-def]
    fake(clipped(np.random.default_rng(0)), silence(), good(5))
    # "a" is refused for the clipped take (re-asked), then re-record; silent -> re-record
    result = invoke("record", "jarvis", "--count", "1", *FAST, input="a\nr\nr\na\n")
    assert result.exit_code == 0, result.output
    assert "clipped" in result.stderr and "lower the input gain" in result.stderr
    assert "no sound was captured" in result.stderr
    assert "please answer one of: r, s, q" in result.stderr
    assert names(project.recordings) == ["0001.wav"]
    assert "2 failed the quality check" in result.stdout


def test_numbering_continues_after_earlier_sessions(invoke, project, fake) -> None:  # type: ignore[no-untyped-def]
    save_wav(project.recordings / "0001.wav", good(10))
    save_wav(project.recordings / "0002.wav", good(11))
    fake(good(1), good(2))
    result = invoke("record", "jarvis", "--count", "2", *FAST, input="a\na\n")
    assert result.exit_code == 0, result.output
    assert names(project.recordings) == ["0001.wav", "0002.wav", "0003.wav", "0004.wav"]
    assert "4 recording(s)" in result.stdout


def test_ctrl_c_mid_take_keeps_accepted_takes_and_exits_130(invoke, project, fake) -> None:  # type: ignore[no-untyped-def]
    fake(good(1), good(2), KeyboardInterrupt())
    result = invoke("record", "jarvis", "--count", "5", *FAST, input="a\na\n")
    assert result.exit_code == 130, result.output
    assert names(project.recordings) == ["0001.wav", "0002.wav"]  # no partial, no temp
    assert "2 takes saved" in result.stdout and "interrupted" in result.stdout


def test_ctrl_c_at_the_single_key_choice(invoke, project, fake, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import click

    import easy_oww.cli.record_cmds as rc

    fake(good(1), good(2), good(3), good(4))
    keys = iter(["x", "a", "\r", "r", "\x03"])

    def getchar(echo: bool = False) -> str:
        ch = next(keys)
        if ch == "\x03":
            raise KeyboardInterrupt
        return ch

    monkeypatch.setattr(rc, "is_interactive", lambda: True)
    monkeypatch.setattr(click, "getchar", getchar)
    monkeypatch.setattr(rc.click, "prompt", lambda *a, **k: "0")  # device choice
    result = invoke("record", "jarvis", "--count", "4", *FAST)
    assert result.exit_code == 130, result.output
    # "x" ignored, "a" accepts take 1, Enter accepts take 2, "r" re-records, Ctrl-C
    assert names(project.recordings) == ["0001.wav", "0002.wav"]
    assert "1 re-recorded" in result.stdout
    # choosing the microphone interactively remembers it
    assert load_config(project.config).audio_device == "Built-in Microphone"


def test_end_of_input_ends_the_session_cleanly(invoke, project, fake) -> None:  # type: ignore[no-untyped-def]
    fake(good(1), good(2))
    result = invoke("record", "jarvis", "--count", "5", *FAST, input="a\n")
    assert result.exit_code == 0, result.output
    assert names(project.recordings) == ["0001.wav"]
    assert "1 take saved" in result.stdout


def test_device_option_is_remembered_and_reused(invoke, project, fake) -> None:  # type: ignore[no-untyped-def]
    backend = fake(good(1), good(2))
    result = invoke("record", "jarvis", "--count", "1", *FAST, "--device", "headset",
                    input="a\n")
    assert result.exit_code == 0, result.output
    assert load_config(project.config).audio_device == "USB Headset Mic"
    assert backend.opened == [3]
    result = invoke("record", "jarvis", "--count", "1", *FAST, input="a\n")
    assert result.exit_code == 0, result.output
    assert backend.opened == [3, 3]


def test_list_devices_and_unknown_device(invoke, project, fake) -> None:  # type: ignore[no-untyped-def]
    fake()
    result = invoke("record", "jarvis", "--list-devices")
    assert result.exit_code == 0
    assert "Built-in Microphone" in result.stdout and "USB Headset Mic" in result.stdout
    result = invoke("record", "jarvis", "--device", "nope", *FAST)
    assert result.exit_code == 2
    assert "no microphone 'nope'" in result.stderr and "--device" in result.stderr


def test_missing_audio_backend_is_exit_2_with_import_hint(invoke, project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import importlib

    real = importlib.import_module

    def broken(name: str, package: str | None = None):  # type: ignore[no-untyped-def]
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", broken)
    result = invoke("record", "jarvis", *FAST)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: the PortAudio audio library is not available")
    assert "easy-oww import" in result.stderr
    assert "Traceback" not in result.output


def test_record_negative_suggests_phrases_and_saves_to_negatives(invoke, project, fake,  # type: ignore[no-untyped-def]
                                                                 monkeypatch) -> None:
    import easy_oww.cli.record_cmds as rc

    calls: list[tuple[str, int, int]] = []

    def suggestions(wake: str, n: int, seed: int) -> list[str]:
        calls.append((wake, n, seed))
        return [f"near miss {i}" for i in range(n)]

    monkeypatch.setattr(rc, "negative_suggestions", suggestions)
    fake(good(1), good(2))
    result = invoke("record-negative", "jarvis", "--count", "2", *FAST, input="a\na\n")
    assert result.exit_code == 0, result.output
    assert calls == [("hey jarvis", 2, 1234)]
    assert 'say something like "near miss 0"' in result.stderr
    assert 'say something like "near miss 1"' in result.stderr
    assert names(project.negative_recordings) == ["0001.wav", "0002.wav"]
    assert names(project.recordings) == []


def test_unknown_project_is_exit_2(invoke, fake) -> None:  # type: ignore[no-untyped-def]
    fake()
    result = invoke("record", "nobody", *FAST)
    assert result.exit_code == 2 and "not found" in result.stderr


def test_level_bar_scales_with_level() -> None:
    from easy_oww.cli.record_cmds import level_bar

    assert level_bar(-60.0).plain.count("█") == 0
    assert level_bar(-30.0).plain.count("█") == 20
    assert level_bar(0.0).plain.count("█") == 40
