"""Newcomer frictions (issue 18), each through the CLI: wake words the voices can say,
eval's own report (never the card), one set of numbers per model, remembered presets,
file modes, readable Unicode, the PortAudio hint, a fast --help, import verdicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from easy_oww.audio.io import save_wav
from easy_oww.config import Preset, load_config, with_preset
from easy_oww.errors import EasyOWWError

# -- wake words the voices can say -----------------------------------------------------------


@pytest.mark.parametrize("phrase", ["привет дом", "你好"])
def test_create_refuses_a_phrase_the_voices_cannot_say(invoke, workspace, phrase):
    res = invoke("create", "w", "--wake-word", phrase)
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: the voices cannot say")
    assert "English" in lines[0] and lines[1].startswith("hint: ") and "Latin" in lines[1]
    assert not workspace.project("w").config.exists()


def test_train_refuses_an_edited_wake_word_the_voices_cannot_say(invoke, workspace):
    assert invoke("create", "w", "--wake-word", "hey jarvis").exit_code == 0
    cfg = workspace.project("w").config
    cfg.write_text(cfg.read_text().replace("wake_word: hey jarvis", "wake_word: привет"),
                   encoding="utf-8")
    res = invoke("train", "w")
    assert res.exit_code == 2 and "the voices cannot say 'привет'" in res.stderr


def test_latin_phrases_pass_and_yaml_keeps_them_readable(invoke, workspace):
    res = invoke("create", "w", "--wake-word", "hé café")
    assert res.exit_code == 0, res.output
    text = workspace.project("w").config.read_text(encoding="utf-8")
    assert "wake_word: hé café" in text and "\\x" not in text and "\\u" not in text
    assert load_config(workspace.project("w").config).wake_word == "hé café"


# -- files follow the umask -----------------------------------------------------------------


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_output_files_follow_the_umask(invoke, workspace, umask, mode):
    old = os.umask(umask)
    try:
        assert invoke("create", "w", "--wake-word", "hey jarvis").exit_code == 0
    finally:
        os.umask(old)
    assert workspace.project("w").config.stat().st_mode & 0o777 == mode


# -- train --preset is remembered ------------------------------------------------------------


class _Stop(EasyOWWError):
    pass


def test_train_preset_is_recorded_and_a_plain_train_keeps_it(invoke, workspace, monkeypatch):
    """Both runs reach the phases with the same config, hence the same phase keys."""
    import easy_oww.pipeline.run as run_mod

    seen = []

    def stop(run):  # stands in for the phases: record the config they would get
        seen.append(run.config)
        raise _Stop("stopped before the clips phase", "test")

    monkeypatch.setattr(run_mod, "_clips_phase", stop)
    assert invoke("create", "w", "--wake-word", "hey jarvis").exit_code == 0
    cfg_path = workspace.project("w").config
    first = invoke("train", "w", "--preset", "quick")
    assert first.exit_code == 2 and "stopped before" in first.stderr
    assert "preset quick recorded in" in first.stderr
    saved = load_config(cfg_path)
    assert saved.preset is Preset.quick and with_preset(saved, Preset.quick) == saved
    second = invoke("train", "w")
    assert second.exit_code == 2 and "recorded" not in second.stderr
    assert seen[0] == seen[1] == saved


# -- the PortAudio hint ----------------------------------------------------------------------


def test_missing_portaudio_hint_names_the_system_package(invoke, monkeypatch):
    class NoPortAudio:
        def find_spec(self, name, path=None, target=None):
            if name == "sounddevice":
                raise OSError("PortAudio library not found")

    assert invoke("create", "w", "--wake-word", "hey jarvis").exit_code == 0
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [NoPortAudio(), *sys.meta_path])
    res = invoke("record", "w")
    assert res.exit_code == 2, res.output
    assert "libportaudio2" in res.stderr and "brew install portaudio" in res.stderr
    assert "easy-oww[mic]" not in res.stderr  # it is installed; PortAudio is what is missing


# -- a fast --help ---------------------------------------------------------------------------


def test_help_lists_every_command_without_importing_them():
    code = ("import sys\nfrom easy_oww.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print([m for m in sys.modules if m.endswith('_cmds') or m.split('.')[0] in "
            "('rich', 'numpy', 'pydantic', 'yaml')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip().endswith("[]"), out
    for name in ("train", "eval", "record-negative", "voices"):
        assert f"  {name} " in out


def test_static_short_help_matches_each_command():
    import importlib

    from easy_oww.cli.main import COMMANDS

    for name, (target, short) in COMMANDS.items():
        module, _, attr = target.partition(":")
        cmd = getattr(importlib.import_module(module), attr)
        assert cmd.name == name and cmd.get_short_help_str(limit=300) == short


# -- import verdicts -------------------------------------------------------------------------


def _verdicts(stdout: str) -> str:
    return " ".join(stdout.split())


def test_import_names_the_real_cause(invoke, tmp_path, monkeypatch):
    from tests.conftest import speechlike

    monkeypatch.setenv("COLUMNS", "400")  # one table row per file

    assert invoke("create", "w", "--wake-word", "hey jarvis").exit_code == 0
    sr = 16000
    beep = (0.5 * np.sin(2 * np.pi * 440 * np.arange(16) / sr)).astype(np.float32)
    save_wav(tmp_path / "beep.wav", beep)
    voice = speechlike(1.5)
    sf.write(tmp_path / "antiphase.wav", np.stack([voice, -voice], axis=1), sr)
    save_wav(tmp_path / "whole.wav", voice)
    data = (tmp_path / "whole.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:len(data) // 2])
    os.symlink(tmp_path / "loop.wav", tmp_path / "loop.wav")
    res = invoke("import", "w", *(str(tmp_path / n) for n in
                                  ("beep.wav", "antiphase.wav", "cut.wav", "loop.wav")))
    text = _verdicts(res.stdout)
    assert "refused (too_short)" in text and "too short (1 ms of sound" in text
    assert "refused (channels_cancel)" in text and "cancel out" in text
    assert "refused (truncated)" in text and "promises 1.50 s" in text
    assert "refused (symlink_loop)" in text and "loop" in text
    assert "low_snr" not in text and "silent" not in text and "not_found" not in text


# -- eval: its own report, train's numbers ---------------------------------------------------

openwakeword = pytest.importorskip("openwakeword")
JARVIS = Path(os.path.dirname(openwakeword.__file__)) / "resources" / "models" / \
    "hey_jarvis_v0.1.onnx"


def _store(directory: Path, feats: np.ndarray) -> None:
    """A feature store as the features phase leaves it (one shard)."""
    from easy_oww.features.store import INDEX, MANIFEST

    directory.mkdir(parents=True)
    np.save(directory / "shard_00000.npy", feats.astype(np.float32))
    n = len(feats)
    (directory / INDEX).write_text(json.dumps({"keys": [str(i) for i in range(n)],
                                               "rounds": [0] * n, "labels": [1] * n,
                                               "kinds": ["x"] * n}))
    (directory / MANIFEST).write_text(json.dumps({"shards": 1, "frames": feats.shape[1],
                                                  "count": n}))


def _phase(directory: Path, summary: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "phase.json").write_text(json.dumps({"key": "k", "complete": True,
                                                      "summary": summary}))


@pytest.fixture
def trained_like(workspace):
    """A project as train leaves it, with openWakeWord's hey_jarvis as its model and
    held-out features (random embeddings) whose scores spread around the threshold."""
    from easy_oww.evaluate.detector import WakeWordModel
    from easy_oww.evaluate.windows import clip_peaks
    from easy_oww.pipeline.clips import ClipPlan
    from easy_oww.pipeline.report import evaluate_model
    from easy_oww.pipeline.results import FeaturesResult, TrainedModel
    from easy_oww.project import create_project

    project = create_project(workspace, "j", "hey jarvis")
    paths = project.paths
    paths.model.write_bytes(JARVIS.read_bytes())
    rng = np.random.default_rng(0)
    pos = rng.standard_normal((40, 20, 96)).astype(np.float32)
    _store(paths.features / "eval_positive", pos)
    _store(paths.features / "eval_adversarial", rng.standard_normal((10, 20, 96)))
    paths.negative_audio.mkdir(parents=True, exist_ok=True)
    np.save(paths.negative_audio / "test_stream.npy",
            rng.standard_normal((3000, 96)).astype(np.float32))
    threshold = float(np.median(clip_peaks(WakeWordModel(JARVIS), pos)))
    plan = ClipPlan({"eval_positive": []}, ["espeak:en-us"], ["espeak:en-gb"])
    trained = {"threshold": threshold}
    _phase(paths.clips, {"plan": plan.to_json(workspace.root)})
    _phase(paths.features, {"counts": {"positive": 1}})
    _phase(paths.negative_audio, {"test_hours": 3000 * 0.08 / 3600, "source": "test"})
    _phase(paths.training, trained)
    result = evaluate_model(workspace, paths, project.config, TrainedModel.from_json(trained),
                            plan, FeaturesResult.from_json({"counts": {"positive": 1}})
                            ).to_json()
    assert 0.0 < result["recall"] < 1.0  # the comparison below is not trivial
    return paths, result


def _snapshot(paths) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (paths.model_card_json, paths.model_card_md,
                                              paths.test_results, paths.evaluation / "report.json")}


def test_eval_rescores_trains_held_out_data_and_leaves_the_card_alone(invoke, trained_like):
    paths, train_result = trained_like
    before = _snapshot(paths)
    res = invoke("eval", "j")
    assert res.exit_code == 0, res.output
    for line in train_result["quality"]:  # the very sentences train printed
        assert line in res.stdout
    assert _snapshot(paths) == before
    report = json.loads((paths.evaluation / "eval-j-heldout.json").read_text())
    assert report["recall"] == train_result["recall"]
    assert report["fp_per_hour"] == train_result["fp_per_hour"]
    assert report["threshold"] == train_result["threshold"]


def test_eval_flags_write_only_their_own_reports(invoke, trained_like, tmp_path):
    paths, train_result = trained_like
    before = _snapshot(paths)
    other = tmp_path / "other.onnx"
    other.write_bytes(JARVIS.read_bytes())
    assert invoke("eval", "j", "--threshold", "1.0").exit_code == 0
    assert invoke("eval", "j", "--model", str(other)).exit_code == 0
    assert _snapshot(paths) == before
    assert (paths.evaluation / "eval-other-heldout.json").is_file()
    listed = json.loads(invoke("list", "--json").stdout)
    assert listed[0]["last_result"]["recall"] == train_result["recall"]


# -- the real thing: train, train again, eval ------------------------------------------------


@pytest.mark.slow
def test_train_preset_then_train_then_eval_agree(invoke, workspace, monkeypatch):
    """train --preset P (P sized like the tiny test project), a plain train that redoes
    nothing, and eval printing train's recall and FP/h with the card's bytes unchanged."""
    from easy_oww.config import PRESETS
    from tests.test_pipeline import TINY, tiny_project

    monkeypatch.setitem(PRESETS, Preset.quick, TINY)
    tiny_project(workspace, "t")
    first = invoke("train", "t", "--preset", "quick")
    assert first.exit_code == 0, first.output
    assert yaml.safe_load(workspace.project("t").config.read_text())["preset"] == "quick"
    paths = workspace.project("t")
    card = paths.model_card_json.read_bytes(), paths.model_card_md.read_bytes()
    again = invoke("train", "t")
    assert again.exit_code == 0, again.output
    assert again.stdout.count("cached") == 6
    res = invoke("eval", "t")
    assert res.exit_code == 0, res.output
    in_family = next(line for line in first.stdout.splitlines() if line.startswith("In-family"))
    assert in_family in res.stdout
    assert (paths.model_card_json.read_bytes(), paths.model_card_md.read_bytes()) == card
