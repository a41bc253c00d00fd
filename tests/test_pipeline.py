"""The train pipeline end to end on a tiny project (real espeak-ng speech, real front end)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from easy_oww.config import load_config
from easy_oww.errors import LockedError
from easy_oww.pipeline import run_train
from easy_oww.pipeline.phases import project_lock
from easy_oww.project import create_project
from easy_oww.workspace import Workspace, init_workspace

TINY = {
    "clips": {"n_positive": 40, "n_adversarial": 40, "n_negative_speech": 40,
              "negative_audio_hours": 0.05, "n_eval_positive": 12, "n_eval_adversarial": 12},
    "tts": {"backends": ["espeak"]},
    "augment": {"rounds": 1},
    "features": {"workers": 1, "shard_size": 32},
    "training": {"steps": 120, "validate_every": 40, "batch_size": 32, "threads": 1,
                 "ensemble": 2},
    # a loose target keeps the validation audio short (0.25 h instead of 6 h)
    "evaluation": {"negative_hours": 0.05, "target_fp_per_hour": 20.0},
}


def tiny_project(ws: Workspace, name: str = "tiny") -> Path:
    project = create_project(ws, name, "hey jarvis")
    data = yaml.safe_load(project.paths.config.read_text())
    for section, values in TINY.items():
        data[section].update(values)
    project.paths.config.write_text(yaml.safe_dump(data))
    load_config(project.paths.config)  # still valid
    return project.paths.root


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    ws = init_workspace(tmp_path_factory.mktemp("pipe") / "ws")
    from easy_oww.datasets import dataset_path, get_dataset

    fake = dataset_path(ws, get_dataset("acav100m_features"))
    fake.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    np.save(fake, rng.standard_normal((200, 16, 96)).astype(np.float16))
    tiny_project(ws)
    # one real recording, imported as a user would: train must pick it up
    from easy_oww.audio.io import save_wav
    from easy_oww.recording.importer import import_audio
    from easy_oww.tts import SynthesisRequest, list_voices, synthesize

    voice = next(v for v in list_voices(ws, backends=("espeak",)) if "en-us" in v.name)
    take = tmp_path_factory.mktemp("rec") / "my_take.wav"
    save_wav(take, synthesize(SynthesisRequest("hey jarvis", voice)))
    imported = import_audio(ws.project("tiny"), [take])
    assert len(imported.taken) == 1, imported.refused
    report = run_train(ws, "tiny")
    return ws, report


@pytest.mark.slow
def test_train_end_to_end(trained) -> None:
    ws, report = trained
    assert [p.name for p in report.phases] == ["clips", "features", "negative audio",
                                               "training", "export", "evaluation"]
    assert not any(p.skipped for p in report.phases)
    assert report.model_path.is_file() and report.card_path.is_file()
    m = report.metrics
    assert 0.0 <= m["recall"] <= 1.0 and m["fp_per_hour"] >= 0.0
    assert m["positives"] == 12 and m["near_miss_clips"] == 12
    clips = report.phases[0].summary["counts"]
    assert clips["train_real_positive"] == 1  # the imported recording
    # held-out clips are mixed with crowds of held-out voices, not of training voices
    assert clips["eval_speech"] == 96
    assert report.phases[1].summary["sources"]["held_out_babble"] is True
    weight = 5  # clips.real_positive_weight default, one augmentation round each
    assert report.phases[1].summary["counts"]["positive"] == 40 + weight
    assert 0 < m["threshold"] < 1
    # the downloaded (here: fake) precomputed negatives were used, and the report says so
    assert m["data"]["precomputed_negatives"] == 200
    paths = ws.project("tiny")
    from easy_oww.features.store import open_features

    # held-out clips keep 26 frames: every alignment a streaming detector would score
    assert open_features(paths.features / "eval_positive").frames == 26
    assert open_features(paths.features / "positive").frames == 16
    assert (paths.negative_audio / "train_stream.npy").is_file()
    # two heads from two seeds, each with its own resumable checkpoints, shipped as one
    training = report.phases[3].summary
    assert training["ensemble"] == 2 and len({m["seed"] for m in training["members"]}) == 2
    assert all((paths.training / "checkpoints" / f"member_{k}" / "state.pt").is_file()
               for k in range(2))
    # validation and test audio are made from different sentences
    import json

    neg = json.loads((paths.negative_audio / "phase.json").read_text())["summary"]
    assert neg["val_hours"] > 0 and neg["test_hours"] > 0
    assert paths.test_results.is_file() and paths.model_card_md.is_file()
    assert "recommended threshold" in paths.model_card_md.read_text()


@pytest.mark.slow
def test_train_writes_the_tflite_model_beside_the_onnx_model(trained) -> None:
    pytest.importorskip("ai_edge_litert")
    ws, report = trained
    assert report.tflite_path == ws.project("tiny").models / "tiny.tflite"
    assert report.tflite_path.read_bytes()[4:8] == b"TFL3"
    tfl = report.phases[4].summary["tflite"]
    # checked against the ONNX model on the evaluation's own windows (clips + test audio)
    assert tfl["windows"] > 12 * 11 and tfl["max_abs_diff"] <= 1e-5


@pytest.mark.slow
def test_exported_model_loads_in_openwakeword(trained) -> None:
    from openwakeword.model import Model

    _, report = trained
    model = Model(wakeword_model_paths=[str(report.model_path)])
    for _ in range(8):
        scores = model.predict(np.zeros(1280, dtype=np.int16))
    (score,) = scores.values()
    assert 0.0 <= float(score) <= 1.0


@pytest.mark.slow
def test_rerun_skips_every_phase_and_keeps_the_model(trained) -> None:
    ws, report = trained
    before = report.model_path.read_bytes()
    again = run_train(ws, "tiny")
    assert all(p.skipped for p in again.phases)
    assert again.model_path.read_bytes() == before
    assert again.metrics["recall"] == report.metrics["recall"]


@pytest.mark.slow
def test_config_change_redoes_only_later_phases(trained) -> None:
    ws, report = trained
    paths = ws.project("tiny")
    data = yaml.safe_load(paths.config.read_text())
    data["training"]["steps"] = 80
    paths.config.write_text(yaml.safe_dump(data))
    try:
        again = run_train(ws, "tiny")
        skipped = {p.name: p.skipped for p in again.phases}
        assert skipped == {"clips": True, "features": True, "negative audio": True,
                           "training": False, "export": False, "evaluation": False}
    finally:
        data["training"]["steps"] = TINY["training"]["steps"]
        paths.config.write_text(yaml.safe_dump(data))
    restored = run_train(ws, "tiny")
    assert restored.model_path.read_bytes() == report.model_path.read_bytes()


def test_lock_keeps_two_runs_apart(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    tiny_project(ws)
    with project_lock(ws.project("tiny").lock), \
            pytest.raises(LockedError, match="another easy-oww run"):
        run_train(ws, "tiny")


def _train_cli(ws: Workspace, name: str) -> subprocess.Popen:
    env = {**os.environ, "EASY_OWW_WORKSPACE": str(ws.root)}
    return subprocess.Popen([sys.executable, "-m", "easy_oww", "-q", "train", name], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(path_glob: tuple[Path, str], proc: subprocess.Popen, timeout: float = 240) -> None:
    folder, pattern = path_glob
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if list(folder.rglob(pattern)):
            return
        if proc.poll() is not None:
            raise AssertionError(f"train ended early: {proc.stderr.read().decode()}")
        time.sleep(0.05)
    raise AssertionError(f"nothing matched {pattern} in {folder}")


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["features", "training"])
def test_kill_9_then_rerun_gives_the_same_model(trained, phase: str) -> None:
    ws, report = trained
    name = f"killed_{phase}"
    tiny_project(ws, name)
    paths = ws.project(name)
    for take in ws.project("tiny").recordings.glob("*.wav"):  # same inputs as "tiny"
        shutil.copy2(take, paths.recordings / take.name)
    proc = _train_cli(ws, name)
    if phase == "features":
        _wait_for((paths.features, "shard_*.npy"), proc)
    else:
        _wait_for((paths.training, "state.pt"), proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = run_train(ws, name)
    assert resumed.model_path.read_bytes() == report.model_path.read_bytes()


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    if status.exists():  # a zombie (nobody reaped it yet) is not running
        return "\nState:\tZ" not in status.read_text()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_member_workers_exit_when_their_run_is_killed(tmp_path: Path) -> None:
    """Ensemble members train in worker processes that write their own checkpoints: when
    the run is killed they must stop, not keep writing next to the rerun."""
    script = tmp_path / "run.py"
    script.write_text(
        "import multiprocessing, os, time\n"
        "from easy_oww.pipeline.learn import _init_member_worker\n"
        "def busy(path):\n"
        "    open(path, 'w').write(str(os.getpid()))\n"
        "    time.sleep(60)\n"
        "if __name__ == '__main__':\n"
        "    ctx = multiprocessing.get_context('spawn')\n"
        "    pool = ctx.Pool(1, initializer=_init_member_worker, initargs=(None, os.getpid()))\n"
        "    pool.apply_async(busy, (os.environ['PID_FILE'],))\n"
        "    pid = os.environ['PID_FILE']\n"
        "    while not (os.path.exists(pid) and os.path.getsize(pid)):\n"  # however slow
        "        time.sleep(0.05)\n"
        "    os.kill(os.getpid(), 9)\n")
    pid_file = tmp_path / "worker.pid"
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PID_FILE": str(pid_file)})
    assert proc.wait(timeout=120) == -signal.SIGKILL
    worker = int(pid_file.read_text())
    end = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < end:
        time.sleep(0.1)
    assert not _alive(worker)
