"""`import_audio` and `easy-oww import`: formats, conversion, trimming, duplicates and
every bad-input case with a clear reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from easy_oww.audio.io import load_audio, save_wav
from easy_oww.contract import SAMPLE_RATE
from easy_oww.project import create_project
from easy_oww.recording.fake import clipped, silence, speech_like
from easy_oww.recording.importer import import_audio
from easy_oww.workspace import ProjectPaths, Workspace


def speech(seed: int, **kw: float) -> np.ndarray:
    return speech_like(np.random.default_rng(seed), **kw)


@pytest.fixture
def project(workspace: Workspace) -> ProjectPaths:
    return create_project(workspace, "jarvis", "hey jarvis").paths


def write(path: Path, audio: np.ndarray, sr: int = SAMPLE_RATE, channels: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = audio.astype(np.float32) / 32768.0
    if sr != SAMPLE_RATE:
        import soxr

        x = soxr.resample(x, SAMPLE_RATE, sr)
    if channels == 2:
        x = np.stack([x, x], axis=1)
    sf.write(str(path), x, sr)
    return path


def wav_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_formats_are_converted_trimmed_and_numbered(tmp_path: Path, project: ProjectPaths) -> None:
    src = tmp_path / "src"
    write(src / "a.wav", speech(1), sr=44100, channels=2)
    write(src / "sub" / "b.flac", speech(2), sr=48000)
    write(src / "sub" / "deeper" / "c.ogg", speech(3))
    write(src / "sub" / "d.mp3", speech(4), sr=22050)
    (src / ".hidden.wav").write_bytes(b"ignored")
    result = import_audio(project, [src])
    assert [t.source.name for t in result.taken] == ["a.wav", "b.flac", "d.mp3", "c.ogg"]
    assert result.refused == ()
    assert wav_names(project.recordings) == ["0001.wav", "0002.wav", "0003.wav", "0004.wav"]
    for taken in result.taken:
        info = sf.info(str(taken.saved))
        assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16")
        assert 1.1 < info.duration < 1.5  # 3 s with 0.8 s speech -> trimmed to ~1.3 s
        assert "s of silence" in taken.note
        assert taken.note.startswith(("trimmed 1.7", "trimmed 1.6", "trimmed 1.8"))


def test_negative_import_goes_to_recordings_negative(tmp_path: Path,
                                                     project: ProjectPaths) -> None:
    result = import_audio(project, [write(tmp_path / "n.wav", speech(4))], negative=True)
    assert result.folder == project.negative_recordings
    assert wav_names(project.negative_recordings) == ["0001.wav"]
    assert wav_names(project.recordings) == []


def test_every_bad_input_is_refused_with_a_reason(tmp_path: Path, project: ProjectPaths) -> None:
    rng = np.random.default_rng(0)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.wav").write_bytes(b"")
    (bad / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" * 4)
    (bad / "notes.txt").write_text("not audio\n")
    write(bad / "short.wav", speech(5, seconds=0.15, start_s=0.0, speech_s=0.15))
    write(bad / "silent.wav", silence(2.0))
    write(bad / "clipped.wav", clipped(rng))
    write(bad / "quiet.wav", speech(6, peak=0.004, noise=0.0005))
    empty_dir = tmp_path / "nothing_here"
    empty_dir.mkdir()
    result = import_audio(project, [bad, tmp_path / "missing.wav", empty_dir])
    reasons = {r.source.name: (r.code, r.reason) for r in result.refused}
    assert result.taken == ()
    assert reasons["empty.wav"][0] == "empty" and "0 bytes" in reasons["empty.wav"][1]
    assert reasons["corrupt.wav"][0] == "unreadable" and "corrupt" in reasons["corrupt.wav"][1]
    assert reasons["notes.txt"][0] == "unsupported" and ".txt" in reasons["notes.txt"][1]
    assert reasons["short.wav"][0] == "too_short"
    assert reasons["silent.wav"][0] == "silent"
    assert reasons["clipped.wav"][0] == "clipped"
    assert reasons["quiet.wav"][0] == "too_quiet"
    assert reasons["missing.wav"] == ("not_found", "not found (check the path)")
    assert reasons["nothing_here"][0] == "empty_folder"
    assert wav_names(project.recordings) == []  # nothing written, no temp files


def test_duplicates_are_skipped_within_a_run_across_runs_and_against_the_project(
        tmp_path: Path, project: ProjectPaths) -> None:
    a = write(tmp_path / "a.wav", speech(7))
    copy = write(tmp_path / "copy_of_a.flac", speech(7))  # same sound, other format
    first = import_audio(project, [a, copy])
    assert [t.source.name for t in first.taken] == ["a.wav"]
    assert [(r.source.name, r.code) for r in first.refused] == [("copy_of_a.flac", "duplicate")]
    assert "0001.wav" in first.refused[0].reason

    again = import_audio(project, [a])  # same source, a later run
    assert again.taken == () and again.refused[0].code == "duplicate"

    own = import_audio(project, [project.recordings / "0001.wav"])  # a project file itself
    assert own.taken == () and own.refused[0].code == "duplicate"

    recorded = speech(8)
    save_wav(project.recordings / "0002.wav", recorded)  # as `record` saves a take
    dup = import_audio(project, [write(tmp_path / "take.wav", recorded)])
    assert dup.refused[0].code == "duplicate"
    assert wav_names(project.recordings) == ["0001.wav", "0002.wav"]


def test_saved_samples_equal_the_trimmed_conversion(tmp_path: Path, project: ProjectPaths) -> None:
    from easy_oww.recording.validate import trim_silence

    src = write(tmp_path / "x.wav", speech(9))
    result = import_audio(project, [src], progress=lambda *a: None)
    assert np.array_equal(load_audio(result.taken[0].saved), trim_silence(load_audio(src)))


# ------------------------------------------------------------------ CLI


def test_cli_import_table_and_exit_codes(invoke, tmp_path: Path, project: ProjectPaths) -> None:  # type: ignore[no-untyped-def]
    good = write(tmp_path / "good.wav", speech(10))
    (tmp_path / "empty.wav").write_bytes(b"")
    result = invoke("import", "jarvis", str(good), str(tmp_path / "empty.wav"),
                    str(tmp_path / "nope.flac"))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "taken → 0001.wav" in out and "refused (empty)" in out
    assert "refused (not_found)" in out
    assert "Imported 1 file(s)" in out and "refused 2" in out

    again = invoke("import", "jarvis", str(good))
    assert again.exit_code == 2
    assert "refused (duplicate)" in again.stdout
    assert again.stderr.startswith("error: no file was imported")

    neg = invoke("import", "jarvis", "--negative", str(write(tmp_path / "n.wav", speech(11))))
    assert neg.exit_code == 0 and "recordings_negative" in neg.stdout

    listed = invoke("list", "--json")
    assert '"recordings": 1' in listed.stdout and '"negative_recordings": 1' in listed.stdout


def test_cli_import_needs_a_path(invoke, project: ProjectPaths) -> None:  # type: ignore[no-untyped-def]
    result = invoke("import", "jarvis")
    assert result.exit_code == 2 and "PATH" in result.output


def test_unreadable_file_is_refused(tmp_path: Path, project: ProjectPaths,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    locked = write(tmp_path / "locked.wav", speech(12))
    real_open = builtins.open

    def deny(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(file) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", deny)  # chmod 0 does not stop root
    result = import_audio(project, [locked])
    assert result.refused[0].code == "unreadable"
    assert result.refused[0].reason == "cannot be read: Permission denied"
