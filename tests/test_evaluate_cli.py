"""`easy-oww eval` end to end on openWakeWord's pretrained hey_jarvis model."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from easy_oww.audio.io import save_wav
from easy_oww.cli.main import cli
from easy_oww.project import create_project
from easy_oww.workspace import init_workspace

openwakeword = pytest.importorskip("openwakeword")
JARVIS = Path(os.path.dirname(openwakeword.__file__)) / "resources" / "models" / \
    "hey_jarvis_v0.1.onnx"


def _say(text: str, voice: str) -> np.ndarray:
    from easy_oww.tts import SynthesisRequest, Voice, synthesize

    return synthesize(SynthesisRequest(text, Voice("espeak", voice)))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    pos = root / "pos"
    pos.mkdir()
    for i, v in enumerate(["en", "en+Alex", "en+Andy", "en+Denis", "en-us", "en+Gene"]):
        save_wav(pos / f"{i}.wav", _say("hey jarvis", v))
    talk = np.concatenate([_say(t, "en+Diogo") for t in
                           ("good evening", "shall we go for a walk", "the soup is ready")])
    save_wav(root / "talk.wav", talk)
    return {"pos": pos, "talk": root / "talk.wav"}


@pytest.fixture
def ws(tmp_path):
    workspace = init_workspace(tmp_path / "ws")
    create_project(workspace, "hey_jarvis", "hey jarvis")
    return workspace


def _run(ws, *args):
    return CliRunner().invoke(cli, ["--workspace", str(ws.root), *args])


def test_eval_pretrained_model_json(ws, files):
    res = _run(ws, "eval", "hey_jarvis", "--model", str(JARVIS), "--positives",
               str(files["pos"]), "--audio", str(files["talk"]), "--threshold", "0.5", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["recall"] >= 0.8 and out["fp_per_hour"] == 0.0 and out["threshold"] == 0.5
    paths = ws.project("hey_jarvis")
    # its own report, named after the model and the data; the project's results untouched
    (saved_path,) = paths.evaluation.glob("eval-hey_jarvis_v0.1-pos-*.json")
    saved = json.loads(saved_path.read_text())
    for key in ("recall", "fp_per_hour", "threshold", "date"):
        assert saved[key] == out[key]
    assert saved_path.with_suffix(".png").is_file()
    assert not paths.test_results.exists()
    assert not paths.model_card_json.exists()  # an external model: the card is not touched


def test_eval_project_model_table_and_card(ws, files):
    paths = ws.project("hey_jarvis")
    shutil.copy(JARVIS, paths.model)
    res = _run(ws, "eval", "hey_jarvis", "--positives", str(files["pos"]),
               "--audio", str(files["talk"]))
    assert res.exit_code == 0, res.output
    assert "recall" in res.stdout and "false positives per hour" in res.stdout
    assert "of 6 positive clips" in res.stdout
    # eval never writes the model card or the project's results: those are train's
    assert not paths.model_card_json.exists() and not paths.test_results.exists()
    assert "threshold for 0.5 FP/h" in res.stdout and "too little" in res.stdout


@pytest.mark.slow
def test_eval_with_builtin_negative_audio(ws, files):
    cfg = ws.project("hey_jarvis").config
    text = re.sub(r"negative_hours: [0-9.]+", "negative_hours: 0.05", cfg.read_text())
    assert "negative_hours: 0.05" in text
    cfg.write_text(text)
    res = _run(ws, "eval", "hey_jarvis", "--model", str(JARVIS), "--positives",
               str(files["pos"]), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["negative_hours"] == pytest.approx(0.05, abs=0.002)
    assert "generated negative audio" in out["data"]["negative_audio"]
    assert out["fp_per_hour"] is not None and out["false_positives"] <= 2
    assert any(p.is_dir() for p in (ws.cache / "negative_audio").iterdir())


def test_eval_errors_are_one_line_with_hint(ws, files, tmp_path):
    res = _run(ws, "eval", "hey_jarvis", "--no-builtin-audio")
    assert res.exit_code == 2
    assert "no trained model" in res.stderr and "hint:" in res.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    res = _run(ws, "eval", "hey_jarvis", "--model", str(JARVIS), "--positives", str(empty))
    assert res.exit_code == 2 and "no audio files" in res.stderr
    res = _run(ws, "eval", "hey_jarvis", "--model", str(JARVIS), "--no-builtin-audio")
    assert res.exit_code == 2 and "nothing to evaluate" in res.stderr
    res = _run(ws, "eval", "nope", "--model", str(JARVIS))
    assert res.exit_code == 2


def test_eval_defaults_to_the_training_runs_held_out_clips(ws, files):
    """Without --positives, `eval` uses the clips phase's eval_positive split."""
    paths = ws.project("hey_jarvis")
    clips = sorted(files["pos"].glob("*.wav"))[:3]
    held = ws.cache / "tts"
    held.mkdir(parents=True)
    rel = []
    for c in clips:
        shutil.copy(c, held / c.name)
        rel.append(f"cache/tts/{c.name}")
    (paths.clips / "phase.json").write_text(json.dumps(
        {"complete": True, "summary": {"plan": {"splits": {"eval_positive": rel}}}}))
    res = _run(ws, "eval", "hey_jarvis", "--model", str(JARVIS), "--audio",
               str(files["talk"]), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["n_positive"] == 3 and out["n_near_miss"] == 0
