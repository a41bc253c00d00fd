"""TFLite export (Contract 1): the direct writer, its checks, `train`'s export phase and
`easy-oww export` with `--home-assistant`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("tflite")
litert = pytest.importorskip("ai_edge_litert.interpreter")

from easy_oww.pipeline import exporting
from easy_oww.pipeline.learn import MODEL_FILE
from easy_oww.project import create_project
from easy_oww.training import tflite
from easy_oww.training import tflite_graph as tg
from easy_oww.training.export import ExportError, onnx_bytes
from easy_oww.training.heads import EnsembleHead, ScoreModel, build_head
from easy_oww.workspace import Workspace


def _model(kind: str = "dnn", seed: int = 3) -> ScoreModel:
    torch.manual_seed(seed)
    if kind == "ensemble":  # what `train` ships by default: three dnn heads
        model = ScoreModel(EnsembleHead([build_head("dnn", 32) for _ in range(3)]))
    elif kind == "ensemble_window_norm":
        model = ScoreModel(EnsembleHead([build_head("dnn", 32, window_norm=True)
                                         for _ in range(3)]))
    elif kind == "dnn_window_norm":
        model = ScoreModel(build_head("dnn", 32, window_norm=True))
    elif kind == "dnn_deep":
        model = ScoreModel(build_head("dnn", 24, n_blocks=2))
    elif kind == "dnn_shallow":
        model = ScoreModel(build_head("dnn", 16, n_blocks=0))
    else:
        model = ScoreModel(build_head(kind, 32))
    with torch.no_grad():  # scores spread over 0..1, not ~0.5 everywhere
        for p in model.parameters():
            p.mul_(1.5)
    return model.eval()


def _windows(n: int = 200, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 2, (n, 16, 96)).astype(np.float32)


def _litert_scores(path: Path, windows: np.ndarray) -> np.ndarray:
    interp = litert.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    got = []
    for w in windows:
        interp.set_tensor(inp["index"], w[None])
        interp.invoke()
        got.append(interp.get_tensor(out["index"])[0, 0])
    return np.array(got)


@pytest.mark.parametrize("kind", ["dnn", "dnn_window_norm", "ensemble",
                                  "ensemble_window_norm", "dnn_deep", "dnn_shallow"])
def test_tflite_matches_onnx_and_torch(tmp_path: Path, kind: str) -> None:
    model = _model(kind)
    windows = _windows()
    result = tflite.export_tflite(model, tmp_path / "m.tflite", onnx_bytes(model), windows)
    data = result.path.read_bytes()
    assert data[4:8] == b"TFL3" and result.max_abs_diff <= 1e-5
    interp = litert.Interpreter(model_path=str(result.path))
    inp, out = interp.get_input_details(), interp.get_output_details()
    assert [list(d["shape"]) for d in inp] == [[1, 16, 96]]
    assert [list(d["shape"]) for d in out] == [[1, 1]]
    assert inp[0]["dtype"] == out[0]["dtype"] == np.float32
    got = _litert_scores(result.path, windows)
    with torch.no_grad():
        want = model(torch.from_numpy(windows)).numpy()[:, 0]
    assert np.max(np.abs(got - want)) < 1e-5
    assert np.ptp(got) > 0.1  # the scores depend on the input
    assert not list(tmp_path.glob(".*.tmp"))


def test_tflite_scales_each_window_over_time_like_the_head() -> None:
    """Windows that differ by a per-dimension offset and scale score alike in the
    TFLite model of a window_norm head, and apart in one without it: the lowering
    normalises, it does not merely agree on the random windows above."""
    windows = _windows(8)
    shifted = windows * 3.0 + np.random.default_rng(5).normal(0, 4, (1, 1, 96)).astype(
        np.float32)
    for kind, alike in (("dnn_window_norm", True), ("dnn", False)):
        model = _model(kind)
        interp = tflite._interpreter(tflite.tflite_bytes(model))
        inp, out = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]
        a, b = (tflite._run(interp, inp, out, w) for w in (windows, shifted))
        assert (np.max(np.abs(a - b)) < 1e-3) == alike, kind


def test_tflite_bytes_are_deterministic() -> None:
    assert tflite.tflite_bytes(_model("ensemble")) == tflite.tflite_bytes(_model("ensemble"))


@pytest.mark.parametrize("head", ["temporal", "temporal_attention"])
def test_unsupported_head_is_named_and_writes_nothing(tmp_path: Path, head: str) -> None:
    model = _model(head)
    with pytest.raises(tflite.UnsupportedModel, match=repr(head)):
        tflite.export_tflite(model, tmp_path / "m.tflite", onnx_bytes(model))
    assert not list(tmp_path.iterdir())


def test_parity_failure_is_an_error_and_leaves_no_file(tmp_path: Path) -> None:
    other = onnx_bytes(_model("dnn", seed=4))
    with pytest.raises(ExportError, match="differs from ONNX"):
        tflite.export_tflite(_model("dnn"), tmp_path / "m.tflite", other, _windows(20))
    assert not list(tmp_path.iterdir())


def _graph_bytes(input_shape: tuple[int, ...], outputs: int = 1) -> bytes:
    """A hand-made graph (LOGISTIC of MEAN over the last axis) of any input shape."""
    import tflite as schema

    g = tg.Graph()
    x = g.tensor("input", input_shape)
    g.inputs.append(x)
    axis = g.constant("axis", np.asarray([len(input_shape) - 1], np.int32))
    m = g.op(schema.BuiltinOperator.MEAN, [x, axis], "mean", (*input_shape[:-1], 1),
             tg.reducer_options)
    for k in range(outputs):
        g.outputs.append(g.op(schema.BuiltinOperator.LOGISTIC, [m], f"out{k}", g.shape(m)))
    return tg.serialize(g, "test")


@pytest.mark.parametrize(("data", "message"), [
    (b"<!DOCTYPE html><html>Not Found</html>", "not a TFLite file"),
    (_graph_bytes((1, 96, 16)), r"input is \[1, 96, 16\]"),  # the transposed model
    (_graph_bytes((1, 16, 96), outputs=2), "2 outputs"),
])
def test_verify_rejects_what_home_assistant_users_report(data: bytes, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        tflite.verify_tflite(data, onnx_bytes(_model()), _windows(4))


@pytest.mark.parametrize(("project", "name"), [
    ("hey_jarvis", "hey_jarvis.tflite"), ("Hey-Jarvis", "hey_jarvis.tflite"),
    ("ok.computer", "ok_computer.tflite"), ("alexa_v0.1", "alexa.tflite"),
    ("robot_v2", "robot.tflite"), ("v2", "v2.tflite"),
])
def test_tflite_file_name_is_lower_snake_without_version(project: str, name: str) -> None:
    assert exporting.tflite_file_name(project) == name


# --- the export phase and `easy-oww export` ----------------------------------------------

def _trained_project(ws: Workspace, name: str = "hey_jarvis", kind: str = "ensemble") -> Any:
    paths = create_project(ws, name, "hey jarvis").paths
    paths.training.mkdir(parents=True, exist_ok=True)
    torch.save(_model(kind), paths.training / MODEL_FILE)
    rng = np.random.default_rng(0)  # the held-out test audio the evaluation scores
    paths.negative_audio.mkdir(parents=True, exist_ok=True)
    np.save(paths.negative_audio / "test_stream.npy",
            rng.normal(0, 2, (300, 96)).astype(np.float32))
    return paths


def test_export_phase_writes_tflite_beside_onnx(workspace: Workspace) -> None:
    paths = _trained_project(workspace)
    stale = paths.models / "hey_jarvis.tflite"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"an earlier model")
    summary = exporting.export_model(paths)
    assert paths.model.is_file()
    assert summary["tflite"]["path"] == str(stale) and stale.read_bytes()[4:8] == b"TFL3"
    assert summary["tflite"]["windows"] >= 285 and summary["tflite"]["max_abs_diff"] <= 1e-5


def test_export_phase_without_exporter_says_how_to_get_it(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    paths = _trained_project(workspace)
    (paths.models / "hey_jarvis.tflite").parent.mkdir(parents=True, exist_ok=True)
    (paths.models / "hey_jarvis.tflite").write_bytes(b"stale")
    monkeypatch.setattr(tflite, "available", lambda: False)
    with caplog.at_level(logging.INFO, logger="easy_oww"):
        summary = exporting.export_model(paths)
    assert summary["tflite"] is None and paths.model.is_file()
    assert not (paths.models / "hey_jarvis.tflite").exists()
    lines = [r.getMessage() for r in caplog.records if "TFLite" in r.getMessage()]
    assert len(lines) == 1 and "pip install 'easy-oww[tflite]'" in lines[0]


def test_export_phase_with_unsupported_head_warns(workspace: Workspace,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    paths = _trained_project(workspace, kind="temporal")
    with caplog.at_level(logging.WARNING, logger="easy_oww"):
        summary = exporting.export_model(paths)
    assert summary["tflite"] is None and paths.model.is_file()
    assert any("'temporal'" in r.getMessage() for r in caplog.records)


def test_cli_export_tflite_and_home_assistant(workspace: Workspace, tmp_path: Path,
                                              invoke: Callable[..., Any]) -> None:
    _trained_project(workspace)
    share = tmp_path / "share" / "openwakeword"
    share.mkdir(parents=True)
    res = invoke("export", "hey_jarvis", "--out", str(tmp_path / "dist"),
                 "--home-assistant", str(share))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "dist" / "hey_jarvis.tflite").read_bytes() == \
        (share / "hey_jarvis.tflite").read_bytes()
    assert "checked in LiteRT" in res.output and "Voice assistants" in res.output
    assert 'choose "hey_jarvis"' in res.output


def test_cli_export_onnx(workspace: Workspace, tmp_path: Path,
                         invoke: Callable[..., Any]) -> None:
    paths = _trained_project(workspace)
    res = invoke("export", "hey_jarvis", "--format", "onnx", "--out", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    exported = onnx_bytes(torch.load(paths.training / MODEL_FILE, weights_only=False))
    assert (tmp_path / "o" / "hey_jarvis.onnx").read_bytes() == exported


@pytest.mark.parametrize(("args", "message"), [
    (("--format", "onnx", "--home-assistant", "."), "needs --format tflite"),
    (("--home-assistant", "/nonexistent/openwakeword"), "does not exist"),
])
def test_cli_export_usage_errors(workspace: Workspace, invoke: Callable[..., Any],
                                 args: tuple[str, ...], message: str) -> None:
    _trained_project(workspace)
    res = invoke("export", "hey_jarvis", *args)
    assert res.exit_code == 2 and message in res.output


def test_cli_home_assistant_without_a_folder_means_share_openwakeword(
        workspace: Workspace, invoke: Callable[..., Any]) -> None:
    if Path("/share/openwakeword").is_dir():
        pytest.skip("this machine has a /share/openwakeword folder")
    _trained_project(workspace)
    res = invoke("export", "hey_jarvis", "--home-assistant")
    assert res.exit_code == 2 and "/share/openwakeword does not exist" in res.output


def test_cli_export_needs_a_trained_model(workspace: Workspace,
                                          invoke: Callable[..., Any]) -> None:
    create_project(workspace, "fresh", "hey fresh")
    res = invoke("export", "fresh")
    assert res.exit_code == 2 and "easy-oww train fresh" in res.output


def test_cli_export_unsupported_head(workspace: Workspace, tmp_path: Path,
                                     invoke: Callable[..., Any]) -> None:
    _trained_project(workspace, kind="temporal")
    res = invoke("export", "hey_jarvis", "--out", str(tmp_path / "d"))
    assert res.exit_code == 2 and "'temporal'" in res.output and "head: dnn" in res.output
    assert not list((tmp_path / "d").glob("*.tflite"))
