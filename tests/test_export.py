"""ONNX export: Contract 1 checked with ONNX Runtime and with openWakeWord itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from easy_oww.training.export import ExportError, export_onnx, verify_onnx
from easy_oww.training.heads import HEADS, EnsembleHead, ScoreModel, build_head

MODELS = (*HEADS, "ensemble")


def _model(head: str) -> ScoreModel:
    torch.manual_seed(3)
    if head == "ensemble":  # what the trainer ships with training.ensemble > 1
        model = ScoreModel(EnsembleHead([build_head("dnn", 32) for _ in range(3)])).eval()
    else:
        model = ScoreModel(build_head(head, 32)).eval()
    # Make the output non-trivial (not ~0.5 everywhere): scale the last bias.
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.5)
    return model


@pytest.mark.parametrize("head", MODELS)
def test_export_shapes_range_and_parity(tmp_path: Path, head: str) -> None:
    model = _model(head)
    path = export_onnx(model, tmp_path / f"{head}.onnx")
    assert path.exists() and not list(tmp_path.glob(".*.tmp"))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape[1:] == [16, 96]
    rng = np.random.default_rng(1)
    for batch in (1, 7):
        x = rng.normal(0, 2, (batch, 16, 96)).astype(np.float32)
        got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        assert got.shape == (batch, 1) and got.dtype == np.float32
        assert np.all((got >= 0) & (got <= 1))
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        assert np.max(np.abs(got - want)) < 1e-5
        assert np.ptp(got) > 0 or batch == 1  # scores depend on the input


def test_verify_rejects_a_model_without_sigmoid(tmp_path: Path) -> None:
    raw = build_head("dnn", 16).eval()  # logits, not probabilities
    with torch.no_grad():
        raw.last_layer.bias.fill_(5.0)  # logits far above 1
    with pytest.raises(ExportError):
        export_onnx(raw, tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()


def test_verify_detects_parity_mismatch(tmp_path: Path) -> None:
    a, b = _model("dnn"), ScoreModel(build_head("dnn", 32)).eval()
    export_onnx(a, tmp_path / "a.onnx")
    with pytest.raises(ExportError):
        verify_onnx((tmp_path / "a.onnx").read_bytes(), b)


@pytest.mark.parametrize("head", MODELS)
def test_openwakeword_loads_and_scores(tmp_path: Path, head: str) -> None:
    oww = pytest.importorskip("openwakeword.model")
    path = export_onnx(_model(head), tmp_path / "my_word.onnx")
    detector = oww.Model(wakeword_model_paths=[str(path)])
    scores = []
    rng = np.random.default_rng(0)
    for i in range(30):
        frame = np.zeros(1280, np.int16) if i % 2 else rng.integers(
            -3000, 3000, 1280).astype(np.int16)
        out = detector.predict(frame)
        assert set(out) == {"my_word"}
        scores.append(out["my_word"])
    assert all(0.0 <= s <= 1.0 for s in scores)
    # After openWakeWord's 5 warm-up frames the model's own scores come through.
    assert any(s > 0.0 for s in scores[6:])


def test_export_is_byte_identical_for_the_same_weights(tmp_path: Path) -> None:
    a = export_onnx(_model("temporal_attention"), tmp_path / "a.onnx").read_bytes()
    b = export_onnx(_model("temporal_attention"), tmp_path / "b.onnx").read_bytes()
    assert a == b
