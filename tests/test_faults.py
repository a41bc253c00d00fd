"""Faults a user meets: a full disk, a file where a folder belongs, a model that breaks the
model contract. Each ends with `error: ...` (one line, plus a hint) and exit code 2, never
an internal error, and leaves no partial file behind.

The full-disk cases run on a real 20 MB tmpfs mounted in a private mount namespace
(`unshare -m` as root, `unshare -rm` elsewhere); they are skipped where that is not allowed.
The others inject ENOSPC into the writer.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from easy_oww import fsutil
from easy_oww.audio.io import save_wav
from easy_oww.errors import DiskFullError, PathKindError
from easy_oww.project import create_project
from easy_oww.workspace import Workspace

from .conftest import speechlike

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def _one_error(result: Any) -> str:
    """The `error:` line of a failed command (asserting it is a user error, exit 2)."""
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return str(lines[0])


# -- ENOSPC, injected ---------------------------------------------------------------------
def test_atomic_write_on_a_full_disk_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with pytest.raises(OSError) as info, fsutil.atomic_open(target) as fh:
        fh.write(b"x" * 10)
        raise ENOSPC
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


def test_disk_space_names_the_folder_and_the_need(tmp_path: Path) -> None:
    with pytest.raises(DiskFullError, match=r"recordings: import needs about 3\.0 MB"), \
            fsutil.disk_space(tmp_path, 3_000_000, "import"):
        fsutil.atomic_write_bytes(tmp_path / "recordings" / "a.wav", b"")  # fine
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "recordings"
                                                                    / "b.wav"))
    with pytest.raises(DiskFullError, match="not enough free disk space"):
        fsutil.require_free_space(tmp_path, 1 << 62, "train")


def test_full_disk_during_create_is_a_user_error(invoke: Any, monkeypatch: pytest.MonkeyPatch,
                                                 workspace: Workspace) -> None:
    def full(*_: Any, **__: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(workspace.projects / "p"))

    monkeypatch.setattr("easy_oww.project.save_config", full)
    line = _one_error(invoke("create", "p", "--wake-word", "hey jarvis"))
    assert "no space left on the disk of" in line and "create needs about" in line


def test_full_disk_in_a_worker_result_is_a_user_error(invoke: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC raised anywhere (here: the import's writer) without a guard around it."""
    invoke("create", "p", "--wake-word", "hey jarvis")

    def full(*_: Any, **__: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")  # no file name, like write()

    monkeypatch.setattr("easy_oww.recording.importer.import_audio", full)
    monkeypatch.setattr("easy_oww.cli.record_cmds.import_audio", full)
    line = _one_error(invoke("import", "p", "missing.wav"))
    assert "no space left on the disk" in line


def test_tts_clip_on_a_full_disk_leaves_no_temp_file(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from easy_oww.tts import synth

    def full(self: Path, data: bytes) -> int:
        Path.write_text(self, "partial")
        raise ENOSPC

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError):
        synth.write_clip(tmp_path / "a.wav", np.zeros(160, np.int16))
    assert list(tmp_path.iterdir()) == []


def test_stale_temps_of_dead_writers_only(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (tmp_path / f".a.npy.{dead}.x1y2.tmp").write_bytes(b"")
    (tmp_path / f".b.npy.{os.getpid()}.x1y2.tmp").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / f".c.wav.{dead}.tmp").write_bytes(b"")
    assert fsutil.remove_stale_temps(tmp_path, recursive=True, dead_only=True) == 2
    assert [p.name for p in tmp_path.rglob("*.tmp")] == [f".b.npy.{os.getpid()}.x1y2.tmp"]


# -- ENOSPC on a real 20 MB tmpfs ---------------------------------------------------------
TMPFS_SCRIPT = r'''
import json, os, subprocess, sys
from pathlib import Path
root, wav = Path(sys.argv[1]), sys.argv[2]
ws = root / "ws"
env = {**os.environ, "EASY_OWW_WORKSPACE": str(ws)}
def cli(*args, patch=False):
    code = ("import sys, easy_oww.fsutil as f\n"
            + ("f.require_free_space = lambda *a, **k: None\n" if patch else "")
            + "from easy_oww.cli.main import main\nmain(sys.argv[1:])\n")
    p = subprocess.run([sys.executable, "-c", code, "-q", *args], env=env,
                       capture_output=True, text=True)
    return {"rc": p.returncode, "err": p.stderr}
def fill(leave):
    free = os.statvfs(root).f_bavail * os.statvfs(root).f_frsize
    with open(root / f"filler{leave}", "wb") as fh:
        try:
            fh.write(b"\0" * max(0, free - leave))
            fh.flush()
        except OSError:
            pass
out = {"init": cli("init"), "create": cli("create", "p", "--wake-word", "hey jarvis")}
fill(1_000_000)
out["import"] = cli("import", "p", wav)
out["import_unchecked"] = cli("import", "p", wav, patch=True)
fill(0)
out["create_full"] = cli("create", "q", "--wake-word", "hey jarvis")
out["preview_full"] = cli("augment-preview", "p", "--no-plot", "--count", "2")
out["preview_unchecked"] = cli("augment-preview", "p", "--no-plot", "--count", "2", patch=True)
import soundfile as sf
rec = sorted((ws / "projects" / "p" / "recordings").iterdir())
out["recordings"] = [[p.name, sf.info(str(p)).frames] for p in rec]  # whole files only
out["temps"] = [str(p) for p in ws.rglob("*.tmp")]
print(json.dumps(out))
'''


def _namespace() -> list[str] | None:
    """An `unshare` command line that may mount a tmpfs here, or None."""
    if shutil.which("unshare") is None or not sys.platform.startswith("linux"):
        return None
    base = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    probe = subprocess.run([*base, "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                           check=False, capture_output=True)
    return base if probe.returncode == 0 else None


@pytest.mark.slow
def test_full_tmpfs_import_create_and_preview(tmp_path: Path) -> None:
    ns = _namespace()
    if ns is None:
        pytest.skip("cannot mount a tmpfs in a private mount namespace here")
    mnt, wav = tmp_path / "mnt", tmp_path / "takes"
    mnt.mkdir()
    for i in range(12):  # 12 takes of 5 s: 1.9 MB at 16 kHz, 1 MB free on the disk
        save_wav(wav / f"take_{i}.wav", (speechlike(5.0, seed=i) * 32767).astype(np.int16))
    (tmp_path / "run.py").write_text(TMPFS_SCRIPT)
    shell = (f"mount -t tmpfs -o size=20m tmpfs {mnt} && "
             f"exec {sys.executable} {tmp_path / 'run.py'} {mnt} {wav}")
    done = subprocess.run([*ns, "sh", "-c", shell], check=False, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                          timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["init"]["rc"] == 0 and out["create"]["rc"] == 0, out
    for case in ("import", "import_unchecked", "create_full", "preview_full",
                 "preview_unchecked"):
        err = out[case]["err"]
        assert out[case]["rc"] == 2, (case, err)
        assert err.startswith("error: ") and "Traceback" not in err, (case, err)
        assert str(mnt) in err and "MB" in err, (case, err)
    assert "import needs about 1.9 MB" in out["import"]["err"]
    assert "no space left on the disk of" in out["import_unchecked"]["err"]
    # the takes that fitted are whole files; no partial file or temporary file anywhere
    assert 0 < len(out["recordings"]) < 12
    assert all(frames > 0 for _, frames in out["recordings"]) and out["temps"] == []


# -- a path of the wrong kind ---------------------------------------------------------------
def test_file_named_recordings_is_a_user_error(invoke: Any, workspace: Workspace,
                                               tmp_path: Path) -> None:
    invoke("create", "p", "--wake-word", "hey jarvis")
    rec = workspace.project("p").recordings
    shutil.rmtree(rec)
    rec.write_text("not a folder")
    wav = tmp_path / "take.wav"
    save_wav(wav, (speechlike() * 32767).astype(np.int16))
    line = _one_error(invoke("import", "p", str(wav)))
    assert f"{rec} is a file" in line


@pytest.mark.parametrize("folder", ["features", "negative_audio", "models"])
def test_file_for_a_project_folder_stops_train(invoke: Any, workspace: Workspace,
                                               folder: str) -> None:
    invoke("create", "p", "--wake-word", "hey jarvis")
    path = workspace.project("p").root / folder
    if path.is_dir():
        shutil.rmtree(path)
    path.write_text("")
    assert f"{path} is a file" in _one_error(invoke("train", "p"))


def test_file_for_the_workspace_cache(invoke: Any, workspace: Workspace) -> None:
    shutil.rmtree(workspace.cache)
    workspace.cache.write_text("")
    assert f"{workspace.cache} is a file" in _one_error(invoke("list"))
    assert f"{workspace.cache} is a file" in _one_error(invoke("init"))


def test_config_yaml_that_is_a_folder_is_not_a_missing_project(invoke: Any,
                                                              workspace: Workspace) -> None:
    invoke("create", "p", "--wake-word", "hey jarvis")
    config = workspace.project("p").config
    config.unlink()
    config.mkdir()
    line = _one_error(invoke("train", "p"))
    assert "not found" not in line and f"{config} is a folder" in line


def test_deep_wrong_kind_from_any_os_error(tmp_path: Path) -> None:
    (tmp_path / "features").write_text("")
    deep = tmp_path / "features" / "positive" / "shard_00000.npy"
    error = fsutil.from_os_error(NotADirectoryError(errno.ENOTDIR, "Not a directory", str(deep)))
    assert isinstance(error, PathKindError) and str(tmp_path / "features") in error.message
    error = fsutil.from_os_error(FileExistsError(errno.EEXIST, "File exists",
                                                 str(tmp_path / "features")))
    assert isinstance(error, PathKindError)
    assert fsutil.from_os_error(FileExistsError(errno.EEXIST, "File exists",
                                                str(tmp_path))) is None  # a real bug


# -- models that break Contract 1 -----------------------------------------------------------
def _model(path: Path, *, outputs: int = 1, dtype: str = "float") -> Path:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    elem = TensorProto.FLOAT if dtype == "float" else TensorProto.FLOAT16
    x = helper.make_tensor_value_info("x", elem, ["batch", 16, 96])
    nodes = [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
             helper.make_node("Flatten", ["xf"], ["flat"]),
             helper.make_node("ReduceMean", ["flat"], ["mean"], axes=[1], keepdims=1),
             helper.make_node("Sigmoid", ["mean"], ["y0"])]
    outs = [helper.make_tensor_value_info("y0", TensorProto.FLOAT, ["batch", 1])]
    for k in range(1, outputs):
        nodes.append(helper.make_node("Identity", ["y0"], [f"y{k}"]))
        outs.append(helper.make_tensor_value_info(f"y{k}", TensorProto.FLOAT, ["batch", 1]))
    graph = helper.make_graph(nodes, "m", [x], outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("command", ["eval", "test"])
def test_model_with_two_outputs_is_refused(invoke: Any, tmp_path: Path, command: str) -> None:
    invoke("create", "p", "--wake-word", "hey jarvis")
    two = _model(tmp_path / "two.onnx", outputs=2)
    line = _one_error(invoke(command, "p", "--model", str(two)))
    assert "2 output(s) (float32 [batch, 1], float32 [batch, 1])" in line
    assert "expected exactly one float32 output [batch, 1]" in line


def test_float16_input_is_refused_and_a_good_model_passes(tmp_path: Path) -> None:
    from easy_oww.errors import ModelContractError
    from easy_oww.evaluate.detector import WakeWordModel

    with pytest.raises(ModelContractError, match=r"float16 \[batch, 16, 96\]"):
        WakeWordModel(_model(tmp_path / "half.onnx", dtype="half"))
    assert WakeWordModel(_model(tmp_path / "good.onnx")).n_frames == 16


def test_project_with_everything_in_place_still_opens(workspace: Workspace) -> None:
    create_project(workspace, "ok", "hey jarvis")
    assert workspace.require_project("ok").root.is_dir()
