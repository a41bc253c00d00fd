"""The exported `.tflite` model where Home Assistant runs it, end to end.

1. wyoming-openwakeword 1.8.2 (Home Assistant's openWakeWord add-on) serves the model from
   a custom-model folder on 127.0.0.1; a Wyoming client (the `wyoming` package) streams a
   clip that must fire (Detection) and one that must not (NotDetected).
2. openWakeWord 0.6.0's TFLite path (`inference_framework="tflite"`) scores the same clips.

Both need numpy<2 (tflite-runtime 2.14.0), so they run in subprocesses with a side folder
on PYTHONPATH, never in this process. `.ci/run` installs numpy 1.26, tflite-runtime,
wyoming and wyoming-openwakeword into `.venv/wyoming` (EASY_OWW_WYOMING) and openWakeWord
0.6.0 into `.venv/oww060` (EASY_OWW_OWW060); each test is skipped when its folder is absent.

The model's output is known by construction (see `_known_model`): a dnn head whose score is
above 0.5 exactly where a window's features lie past a plane between the firing clip's
best windows and every window of the quiet clips, written by the real exporter.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tflite")
pytest.importorskip("ai_edge_litert")

from easy_oww.contract import SAMPLE_RATE
from easy_oww.datasets import feature_windows
from easy_oww.features.frontend import FrontEnd
from easy_oww.training import tflite
from easy_oww.training.export import onnx_bytes
from easy_oww.training.heads import DNNHead, ScoreModel

ROOT = Path(__file__).resolve().parents[1]
MODEL_NAME = "hey_tone"


def _side_folder(env: str, default: str, marker: str) -> Path | None:
    root = Path(os.environ.get(env, ROOT / ".venv" / default))
    return root if (root / marker).exists() else None


def _wyoming() -> Path | None:
    return _side_folder("EASY_OWW_WYOMING", "wyoming", "wyoming_openwakeword/__main__.py")


def _oww060() -> Path | None:
    return _side_folder("EASY_OWW_OWW060", "oww060", "openwakeword/__init__.py")


# --- clips and the model with a known output ----------------------------------------------

def _noise(seconds: float, seed: int, level: float = 300.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, level, int(seconds * SAMPLE_RATE))


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    sweep = np.sin(2 * np.pi * (600 + 400 * t) * t) + 0.5 * np.sin(2 * np.pi * 1800 * t)
    return 9000.0 * sweep * np.hanning(t.size) ** 0.25


def _int16(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.clip(x, -32768, 32767).astype(np.int16)
    return out


def clip_that_fires() -> np.ndarray:
    return _int16(np.concatenate([_noise(2.5, 1), _tone(1.5) + _noise(1.5, 2), _noise(2.5, 3)]))


def clip_that_does_not() -> np.ndarray:
    return _int16(_noise(6.5, 4))


def _windows(front: FrontEnd, audio: np.ndarray) -> np.ndarray:
    windows: np.ndarray = np.asarray(feature_windows(front.embed_clip(audio)))
    flat: np.ndarray = windows.reshape(-1, 16 * 96)
    return flat


def _known_model() -> tuple[ScoreModel, np.ndarray]:
    """A dnn head scoring ~1 past a plane, ~0 before it, and the windows it was built on.

    The plane lies halfway between the firing clip's best window and the highest of every
    window openWakeWord or wyoming-openwakeword can see for a quiet clip (with the zeros
    and the random noise their buffers start with)."""
    front = FrontEnd()
    rng = np.random.default_rng(5)
    pos = _windows(front, clip_that_fires())
    quiet = clip_that_does_not()
    neg = np.concatenate([
        _windows(front, quiet), _windows(front, _int16(np.r_[np.zeros(32000), quiet])),
        _windows(front, rng.integers(-1000, 1000, 4 * SAMPLE_RATE).astype(np.int16))])
    w = pos.mean(0) - neg.mean(0)
    w /= np.linalg.norm(w)
    top_neg, top_pos = float((neg @ w).max()), float((pos @ w).max())
    margin = (top_pos - top_neg) / 2
    assert margin > 0.5, f"the clips do not separate ({top_neg:.2f} vs {top_pos:.2f})"
    head = DNNHead(layer_size=2, n_blocks=0)
    with torch.no_grad():
        scale = 10.0 / margin  # layer-1 units are +-10 at the two extremes
        head.layer1.weight.copy_(torch.from_numpy(np.stack([w, -w]) * scale))
        head.layer1.bias.copy_(torch.tensor([-1.0, 1.0]) * scale * (top_neg + margin))
        head.layernorm1.eps = 1.0  # a smooth sign(): [a, -a] -> ~[+-1, -+1] for |a| >> 1
        head.layernorm1.weight.fill_(1.0)
        head.layernorm1.bias.zero_()
        head.last_layer.weight.copy_(torch.tensor([[10.0, -10.0]]))
        head.last_layer.bias.zero_()
    model = ScoreModel(head).eval()
    return model, np.concatenate([pos, neg]).reshape(-1, 16, 96).astype(np.float32)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The custom-model folder: hey_tone.tflite written by the exporter, plus the clips."""
    directory = tmp_path_factory.mktemp("custom")
    model, windows = _known_model()
    with torch.no_grad():
        scores = model(torch.from_numpy(windows)).numpy()[:, 0]
    n_pos = len(_windows(FrontEnd(), clip_that_fires()))
    assert scores[:n_pos].max() > 0.99 and scores[n_pos:].max() < 0.01
    tflite.export_tflite(model, directory / f"{MODEL_NAME}.tflite", onnx_bytes(model), windows)
    np.save(directory / "fires.npy", clip_that_fires())
    np.save(directory / "quiet.npy", clip_that_does_not())
    return directory


def _side_env(*folders: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join(str(f) for f in folders)
    env["PYTHONNOUSERSITE"] = "1"
    return env


# --- wyoming-openwakeword -----------------------------------------------------------------

CLIENT_SCRIPT = r"""
import asyncio, json, sys
import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info
from wyoming.wake import Detect, Detection, NotDetected

async def read_answers(client, answers):
    while True:
        event = await client.read_event()
        if event is None:
            return
        if Detection.is_type(event.type):
            answers.append({"type": "detection", "name": Detection.from_event(event).name})
        elif NotDetected.is_type(event.type):
            answers.append({"type": "not-detected"})
            return

async def main(port, name, clip_path):
    audio = np.load(clip_path).astype("<i2").tobytes()
    answers = []
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Describe().event())
        info = Info.from_event(await asyncio.wait_for(client.read_event(), timeout=10))
        names = [m.name for w in info.wake for m in w.models]
        await client.write_event(Detect(names=[name]).event())
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        reader = asyncio.create_task(read_answers(client, answers))
        step = 2560  # 80 ms of 16-bit samples, sent at four times real time
        for i in range(0, len(audio), step):
            await client.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                                audio=audio[i:i + step]).event())
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)  # let the server score the last chunks
        await client.write_event(AudioStop().event())
        try:  # after a detection the server closes without NotDetected
            await asyncio.wait_for(reader, timeout=5)
        except asyncio.TimeoutError:
            pass
    print(json.dumps({"models": names, "answers": answers}))

asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def wyoming_server(model_dir: Path) -> Iterator[tuple[int, Path]]:
    side = _wyoming()
    if side is None:
        pytest.skip("wyoming-openwakeword not installed beside (see module docstring)")
    port = _free_port()
    log = model_dir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wyoming_openwakeword", "--uri", f"tcp://127.0.0.1:{port}",
             "--custom-model-dir", str(model_dir)],
            env=_side_env(side), stdout=out, stderr=subprocess.STDOUT, cwd=model_dir)
        try:
            _wait_for_port(port, proc, log)
            yield port, side
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"wyoming-openwakeword exited: {log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"wyoming-openwakeword did not listen: {log.read_text()[-3000:]}")


def _stream(port: int, side: Path, clip: Path) -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-c", CLIENT_SCRIPT, str(port), MODEL_NAME, str(clip)],
                         env=_side_env(side), capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"wyoming {clip.name}: {result}")
    return result


@pytest.mark.slow
def test_wyoming_openwakeword_detects_the_exported_model(
        wyoming_server: tuple[int, Path], model_dir: Path) -> None:
    port, side = wyoming_server
    fired = _stream(port, side, model_dir / "fires.npy")
    assert MODEL_NAME in fired["models"]
    answers = fired["answers"]
    assert answers and all(a == {"type": "detection", "name": MODEL_NAME} for a in answers)
    quiet = _stream(port, side, model_dir / "quiet.npy")
    assert quiet["answers"] == [{"type": "not-detected"}]


# --- openWakeWord 0.6.0's TFLite path ------------------------------------------------------

OWW060_SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
import openwakeword
from openwakeword.model import Model
assert openwakeword.__file__.startswith(sys.argv[1]), openwakeword.__file__
model_dir = sys.argv[2]
detector = Model(wakeword_models=[model_dir + "/hey_tone.tflite"], inference_framework="tflite")
peaks = {}
for clip in ("fires", "quiet"):
    detector.reset()
    audio = np.load(f"{model_dir}/{clip}.npy")
    scores = [detector.predict(audio[i:i + 1280])["hey_tone"]
              for i in range(0, len(audio) - 1279, 1280)]
    peaks[clip] = float(max(scores))
print(json.dumps(peaks))
"""


@pytest.mark.slow
def test_openwakeword_060_tflite_path_scores_the_exported_model(
        model_dir: Path, tmp_path: Path) -> None:
    source, side = _oww060(), _wyoming()
    if source is None or side is None:
        pytest.skip("openwakeword 0.6.0 or tflite-runtime not installed beside (see docstring)")
    site = tmp_path / "site"
    shutil.copytree(source / "openwakeword", site / "openwakeword")
    resources = site / "openwakeword" / "resources" / "models"
    resources.mkdir(parents=True, exist_ok=True)
    for name in ("melspectrogram.tflite", "embedding_model.tflite"):  # 0.6.0 downloads these
        shutil.copy(side / "wyoming_openwakeword" / "models" / name, resources)
    run = subprocess.run([sys.executable, "-c", OWW060_SCRIPT, str(site), str(model_dir)],
                         env=_side_env(site, side), capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    peaks = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"openwakeword 0.6.0 tflite peaks: {peaks}")
    assert peaks["fires"] > 0.5 > peaks["quiet"]
