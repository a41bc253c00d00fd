"""augment-preview, save_examples and downloaded sources, in a temporary workspace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from easy_oww.audio.io import load_audio, save_wav
from easy_oww.augment import Augmenter, _find_downloaded, build_sources, save_examples
from easy_oww.cli.main import cli
from easy_oww.config import AugmentConfig
from easy_oww.contract import SAMPLE_RATE
from easy_oww.workspace import init_workspace


def _tone(seconds: float, f: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (level * 32767 * np.sin(2 * np.pi * f * t) * np.hanning(len(t))).astype(np.int16)


def _project(tmp_path: Path, *recordings: np.ndarray) -> Path:
    ws = tmp_path / "ws"
    runner = CliRunner()
    assert runner.invoke(cli, ["--workspace", str(ws), "init"]).exit_code == 0
    res = runner.invoke(cli, ["--workspace", str(ws), "create", "demo", "--wake-word",
                              "hey demo", "--preset", "quick"])
    assert res.exit_code == 0, res.output
    for i, audio in enumerate(recordings):
        save_wav(ws / "projects" / "demo" / "recordings" / f"take_{i}.wav", audio)
    return ws


def test_augment_preview_writes_examples_and_a_spectrogram(tmp_path: Path) -> None:
    ws = _project(tmp_path, _tone(0.9, 300), _tone(1.1, 200))
    out = tmp_path / "preview"
    res = CliRunner().invoke(cli, ["--workspace", str(ws), "augment-preview", "demo",
                                   "--count", "5", "--out", str(out)])
    assert res.exit_code == 0, res.output
    wavs = sorted(out.glob("example_*.wav"))
    assert len(wavs) == 5
    lengths = {len(load_audio(p)) for p in wavs}
    assert lengths == {len(load_audio(out / "dry.wav"))}  # one training window for all
    assert min(lengths) >= 2 * SAMPLE_RATE - 1000
    png = out / "spectrograms.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "recordings" in res.output and "example_000.wav" in res.output
    again = CliRunner().invoke(cli, ["--workspace", str(ws), "augment-preview", "demo",
                                     "--count", "5", "--out", str(tmp_path / "p2"), "--no-plot"])
    assert again.exit_code == 0
    assert not (tmp_path / "p2" / "spectrograms.png").exists()
    for a, b in zip(wavs, sorted((tmp_path / "p2").glob("example_*.wav"))):
        assert a.read_bytes() == b.read_bytes()  # same seed, same examples


def test_augment_preview_of_a_missing_project_is_a_usage_error(tmp_path: Path) -> None:
    ws = _project(tmp_path)
    res = CliRunner().invoke(cli, ["--workspace", str(ws), "augment-preview", "nope"])
    assert res.exit_code == 2
    assert "error:" in res.output


def test_preview_without_recordings_falls_back_to_generated_audio(tmp_path: Path,
                                                                  monkeypatch) -> None:
    from easy_oww.augment import preview

    monkeypatch.setattr(preview, "_tts_clips", lambda text, ws: [])
    ws = _project(tmp_path)
    res = CliRunner().invoke(cli, ["--workspace", str(ws), "augment-preview", "demo",
                                   "--count", "2", "--no-plot"])
    assert res.exit_code == 0, res.output
    assert "tones" in res.output
    assert len(list((ws / "projects" / "demo" / "augment_preview").glob("example_*.wav"))) == 2


def test_save_examples_round_robin_and_deterministic(tmp_path: Path) -> None:
    clip_file = save_wav(tmp_path / "clip.wav", _tone(0.7, 400))
    aug = Augmenter(AugmentConfig(), build_sources(seed=0, simulated=4), 24000)
    a = save_examples(aug, [_tone(0.8, 250), clip_file], tmp_path / "a", 5, seed=1)
    b = save_examples(aug, [_tone(0.8, 250), clip_file], tmp_path / "b", 5, seed=1)
    assert [p.name for p in a] == [f"example_{i:03d}.wav" for i in range(5)]
    assert all(len(load_audio(p)) == 24000 for p in a)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert len((tmp_path / "a" / "examples.txt").read_text().splitlines()) == 5


def test_downloaded_rirs_and_noises_are_used_when_present(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    assert _find_downloaded(ws) == ([], [])
    rir = np.zeros(8000)
    rir[100] = 1.0
    rir[101:] = 0.2 * np.exp(-np.arange(7899) / 1000) * np.random.default_rng(0).standard_normal(7899)
    (ws.datasets / "mit_rirs" / "Audio").mkdir(parents=True)
    sf.write(ws.datasets / "mit_rirs" / "Audio" / "h001.wav", rir, 32000, subtype="FLOAT")
    (ws.datasets / "fsd50k" / "eval").mkdir(parents=True)
    noise = (np.random.default_rng(1).standard_normal(3 * 44100) * 0.1)
    sf.write(ws.datasets / "fsd50k" / "eval" / "123.wav", noise, 44100)
    (ws.datasets / "fsd50k" / "eval" / "broken.wav").write_bytes(b"RIFF....WAVE")
    rirs, noises = _find_downloaded(ws)
    assert [p.name for p in rirs] == ["h001.wav"]
    assert sorted(p.name for p in noises) == ["123.wav", "broken.wav"]

    base = build_sources(seed=0, simulated=2)
    full = build_sources(ws, seed=0, simulated=2)
    assert "Audio/h001.wav" in [n.replace("mit_rirs/", "") for n in full.rir_names]
    assert any(n.endswith("eval/123.wav") for n in full.noise_names)
    assert len(full.noises) == len(base.noises) + 1  # the broken file is skipped
    assert build_sources(ws, seed=0, simulated=2, include_downloaded=False).fingerprint() \
        == base.fingerprint()
    assert full.fingerprint() != base.fingerprint()
    assert build_sources(ws, seed=0, simulated=2).fingerprint() == full.fingerprint()
    h = full.rirs[full.rir_names.index("mit_rirs/Audio/h001.wav")]
    assert int(np.argmax(np.abs(h))) < 40  # leading silence trimmed, resampled to 16 kHz


@pytest.mark.parametrize("limit", [0, 1])
def test_downloaded_sets_are_capped(tmp_path: Path, limit: int) -> None:
    ws = init_workspace(tmp_path / "ws")
    (ws.datasets / "fsd50k").mkdir(parents=True)
    for i in range(3):
        save_wav(ws.datasets / "fsd50k" / f"{i}.wav", _tone(1.0, 200 + 100 * i))
    src = build_sources(ws, seed=0, simulated=1, max_downloaded_noises=limit)
    assert sum(n.startswith("fsd50k/") for n in src.noise_names) == limit
