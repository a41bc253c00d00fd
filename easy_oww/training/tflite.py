"""TFLite export per Contract 1: what Home Assistant's wyoming-openwakeword and
openWakeWord's TFLite path load.

The file is written directly from the head's weights (see `tflite_graph.py`): float32,
static ``[1, 16, 96]`` input, one ``[1, 1]`` output, builtin operators only. It converts
the `dnn` head and ensembles of it (scaling over time, Linear, LayerNorm, ReLU, mean of
logits, sigmoid); other heads raise `UnsupportedModel`, naming the head. Before a file is
written it is checked in the LiteRT interpreter (``ai-edge-litert``): identifier, shapes,
dtypes, operators, and scores within 1e-5 of the ONNX model on the windows given; a failed
check raises `ExportError` and leaves no file.

Why not a converter: litert-torch brings about 1.2 GB of dependencies and pins
typing-extensions; onnx2tf needs TensorFlow (or Python >= 3.12); onnx-tf is unmaintained.
The direct writer needs `flatbuffers` and `tflite` (about 2.5 MB, Apache-2.0).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww.contract import EMBEDDING_DIM, MODEL_INPUT_FRAMES
from easy_oww.errors import EasyOWWError, require
from easy_oww.fsutil import atomic_write_bytes
from easy_oww.training import tflite_graph as tg
from easy_oww.training.export import PARITY_TOLERANCE, ExportError

log = logging.getLogger(__name__)

EXTRA = "tflite"
MODULES = {"flatbuffers": "flatbuffers", "tflite": "tflite", "ai_edge_litert": "ai-edge-litert"}
INPUT_SHAPE = (1, MODEL_INPUT_FRAMES, EMBEDDING_DIM)
OUTPUT_SHAPE = (1, 1)
INSTALL_HINT = f"pip install 'easy-oww[{EXTRA}]' (flatbuffers, tflite, ai-edge-litert)"
HEAD_NAMES = {"DNNHead": "dnn", "TemporalHead": "temporal",
              "TemporalAttentionHead": "temporal_attention"}


class UnsupportedModel(EasyOWWError):
    """The model uses layers the TFLite writer does not convert."""


@dataclass(frozen=True)
class TFLiteResult:
    path: Path
    bytes: int
    windows: int  # feature windows compared with the ONNX model
    max_abs_diff: float


def missing_hint() -> str:
    """How to get the exporter on this platform (one line)."""
    import sys

    if sys.platform == "win32":
        return ("the LiteRT interpreter that checks the file has no Windows wheels: export "
                "under WSL or in the Docker image")
    return INSTALL_HINT


def available() -> bool:
    """True when the exporter and the validating interpreter are installed."""
    return all(importlib.util.find_spec(m) is not None for m in MODULES)


def require_exporter() -> None:
    for module, package in MODULES.items():
        if importlib.util.find_spec(module) is None:
            require(module, EXTRA, f"TFLite export ({package})")


def head_name(model: Any) -> str:
    """The config name of the model's head ('dnn', 'ensemble of 3 dnn', ...)."""
    from easy_oww.training.heads import EnsembleHead

    head = getattr(model, "head", model)
    if isinstance(head, EnsembleHead):
        names = sorted({head_name(m) for m in head.members})
        return f"ensemble of {len(head.members)} {'/'.join(names)}"
    cls = type(head).__name__
    return HEAD_NAMES.get(cls, cls)


def tflite_bytes(model: Any) -> bytes:
    """The TFLite flatbuffer of `model` (a `ScoreModel`); UnsupportedModel if it cannot."""
    torch = require("torch", "train", "exporting the model")
    from easy_oww.training.heads import ScoreModel

    if not isinstance(model, ScoreModel):
        raise UnsupportedModel(f"cannot convert {type(model).__name__} to TFLite",
                               "export a trained easy-oww model (training/model.pt)")
    graph = tg.Graph()
    x = graph.tensor("input", INPUT_SHAPE)
    graph.inputs.append(x)
    with torch.no_grad():
        logit = _lower(graph, model.head, x, "head", model)
    tflite = _tflite()
    score = graph.op(tflite.BuiltinOperator.LOGISTIC, [logit], "score", OUTPUT_SHAPE)
    graph.outputs.append(score)
    return tg.serialize(graph, f"easy-oww {head_name(model)} head")


def _tflite() -> Any:
    return require("tflite", EXTRA, "TFLite export")


def _lower(g: tg.Graph, head: Any, x: int, prefix: str, model: Any) -> int:
    from easy_oww.training.heads import DNNHead, EnsembleHead

    if isinstance(head, DNNHead):
        return _lower_dnn(g, head, x, prefix)
    if isinstance(head, EnsembleHead):
        logits = [_lower(g, m, x, f"{prefix}/member_{k}", model)
                  for k, m in enumerate(head.members)]
        cat = g.op(_tflite().BuiltinOperator.CONCATENATION, logits, f"{prefix}/logits",
                   (1, len(logits)), tg.concatenation_options(1))
        return _linear(g, head.combine, cat, f"{prefix}/combine")
    raise UnsupportedModel(
        f"the TFLite exporter converts the dnn head and ensembles of it; this model's head "
        f"is {head_name(model)!r}",
        "train with `head: dnn` under `training:` in config.yaml, or use the ONNX model")


def _lower_dnn(g: tg.Graph, head: Any, x: int, prefix: str) -> int:
    ops = _tflite().BuiltinOperator
    flat = (1, MODEL_INPUT_FRAMES * EMBEDDING_DIM)
    if head.window_norm:
        x = _window_norm(g, x, f"{prefix}/window_norm")
    shape = g.constant(f"{prefix}/flat_shape", np.asarray(flat, np.int32))
    h = g.op(ops.RESHAPE, [x, shape], f"{prefix}/flatten", flat, tg.reshape_options(flat))
    h = _linear(g, head.layer1, h, f"{prefix}/layer1")
    h = _layer_norm(g, head.layernorm1, h, f"{prefix}/layernorm1")
    h = g.op(ops.RELU, [h], f"{prefix}/relu1", g.shape(h))
    for i, block in enumerate(head.blocks):
        p = f"{prefix}/blocks_{i}"
        h = _linear(g, block.fcn_layer, h, f"{p}/fcn_layer")
        h = _layer_norm(g, block.layer_norm, h, f"{p}/layer_norm")
        h = g.op(ops.RELU, [h], f"{p}/relu", g.shape(h))
    return _linear(g, head.last_layer, h, f"{prefix}/last_layer")


def _window_norm(g: tg.Graph, x: int, name: str) -> int:
    """`heads.normalise_window`: (x - mean) * rsqrt(var + eps) over the frames axis."""
    from easy_oww.training.heads import WINDOW_NORM_EPS

    shape = g.shape(x)
    return _normalise(g, x, 1, (shape[0], 1, shape[2]), WINDOW_NORM_EPS, name)


def _normalise(g: tg.Graph, x: int, axis: int, reduced: tuple[int, ...], eps: float,
               name: str) -> int:
    """(x - mean) * rsqrt(var + eps) along `axis` (`reduced`: the shape of its mean)."""
    ops = _tflite().BuiltinOperator
    shape = g.shape(x)
    axes = g.constant(f"{name}/axis", np.asarray([axis], np.int32))
    mean = g.op(ops.MEAN, [x, axes], f"{name}/mean", reduced, tg.reducer_options)
    centred = g.op(ops.SUB, [x, mean], f"{name}/centred", shape)
    square = g.op(ops.MUL, [centred, centred], f"{name}/square", shape)
    var = g.op(ops.MEAN, [square, axes], f"{name}/var", reduced, tg.reducer_options)
    eps_t = g.constant(f"{name}/eps", np.asarray([eps], np.float32))
    inv = g.op(ops.RSQRT, [g.op(ops.ADD, [var, eps_t], f"{name}/var_eps", reduced)],
               f"{name}/rsqrt", reduced)
    return g.op(ops.MUL, [centred, inv], f"{name}/normed", shape)


def _array(t: Any) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy(), dtype=np.float32)


def _linear(g: tg.Graph, layer: Any, x: int, name: str) -> int:
    weight = g.constant(f"{name}/weight", _array(layer.weight))  # [out, in], as TFLite's
    inputs = [x, weight]
    if layer.bias is not None:
        inputs.append(g.constant(f"{name}/bias", _array(layer.bias)))
    return g.op(_tflite().BuiltinOperator.FULLY_CONNECTED, inputs, name,
                (1, int(layer.out_features)), tg.fully_connected_options)


def _layer_norm(g: tg.Graph, norm: Any, x: int, name: str) -> int:
    """(x - mean) * rsqrt(var + eps) * weight + bias over the last axis, as PyTorch."""
    ops = _tflite().BuiltinOperator
    if tuple(norm.normalized_shape) != g.shape(x)[1:]:
        raise UnsupportedModel(f"LayerNorm over {tuple(norm.normalized_shape)} in {name}")
    shape = g.shape(x)
    y = _normalise(g, x, 1, (1, 1), float(norm.eps), name)
    if norm.weight is not None:
        y = g.op(ops.MUL, [y, g.constant(f"{name}/weight", _array(norm.weight))],
                 f"{name}/scaled", shape)
    if norm.bias is not None:
        y = g.op(ops.ADD, [y, g.constant(f"{name}/bias", _array(norm.bias))],
                 f"{name}/shifted", shape)
    return y


# --- validation ---------------------------------------------------------------------------

def synthetic_windows(n: int = 64, seed: int = 0) -> np.ndarray:
    """Windows shaped and scaled like embeddings, for a check without project features."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 2.0, (n, *INPUT_SHAPE[1:])).astype(np.float32)


def verify_tflite(data: bytes, onnx_model: bytes, windows: np.ndarray) -> float:
    """Raise ExportError unless `data` is a Contract-1 TFLite model that scores `windows`
    within 1e-5 of the ONNX model; returns the largest absolute difference."""
    if data[4:8] != tg.FILE_IDENTIFIER:
        raise ExportError(f"not a TFLite file: identifier {data[4:8]!r}, want b'TFL3'")
    interp = _interpreter(data)
    inp, out = interp.get_input_details(), interp.get_output_details()
    if len(inp) != 1 or len(out) != 1:
        raise ExportError(f"TFLite model has {len(inp)} inputs and {len(out)} outputs, want 1+1")
    _check_io("input", inp[0], INPUT_SHAPE)
    _check_io("output", out[0], OUTPUT_SHAPE)
    _check_builtin_ops(data)
    got = _run(interp, inp[0]["index"], out[0]["index"], windows)
    want = _onnx_scores(onnx_model, windows)
    if not np.all((got >= 0.0) & (got <= 1.0)):
        raise ExportError("TFLite scores outside [0, 1]")
    diff = float(np.max(np.abs(got - want))) if len(windows) else 0.0
    if diff > PARITY_TOLERANCE:
        raise ExportError(f"TFLite differs from ONNX by {diff:.2e} (tolerance "
                          f"{PARITY_TOLERANCE:.0e}) on {len(windows)} windows")
    return diff


def _interpreter(data: bytes) -> Any:
    litert = require("ai_edge_litert.interpreter", EXTRA, "checking the TFLite model")
    try:
        interp = litert.Interpreter(model_content=data, num_threads=1)
        interp.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise ExportError(f"LiteRT cannot load the TFLite model: {exc}") from exc
    return interp


def _check_io(what: str, detail: dict[str, Any], shape: tuple[int, ...]) -> None:
    got = tuple(int(s) for s in detail["shape"])
    if got != shape or np.dtype(detail["dtype"]) != np.float32:
        raise ExportError(f"TFLite {what} is {list(got)} {np.dtype(detail['dtype'])}, "
                          f"want {list(shape)} float32")


def _check_builtin_ops(data: bytes) -> None:
    tflite = _tflite()
    model = tflite.Model.GetRootAs(data, 0)
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        if code.CustomCode() is not None:
            raise ExportError(f"TFLite model uses the custom operator {code.CustomCode()!r}")


def _run(interp: Any, inp: int, out: int, windows: np.ndarray) -> np.ndarray:
    scores = np.empty(len(windows), np.float32)
    for i, w in enumerate(windows):
        interp.set_tensor(inp, np.ascontiguousarray(w[None], dtype=np.float32))
        interp.invoke()
        scores[i] = interp.get_tensor(out)[0, 0]
    return scores


def _onnx_scores(onnx_model: bytes, windows: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_model, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    out = [sess.run(None, {name: windows[i:i + 512].astype(np.float32)})[0]
           for i in range(0, len(windows), 512)]
    return np.concatenate(out)[:, 0] if out else np.empty(0, np.float32)


def export_tflite(model: Any, path: Path, onnx_model: bytes,
                  windows: np.ndarray | None = None) -> TFLiteResult:
    """Convert `model`, check it against `onnx_model` on `windows` (plus synthetic ones),
    then write it to `path` atomically. Nothing is written when a check fails."""
    require_exporter()
    path = Path(path)
    data = tflite_bytes(model.cpu().eval())
    checked = synthetic_windows() if windows is None or not len(windows) else \
        np.concatenate([np.asarray(windows, np.float32), synthetic_windows()])
    diff = verify_tflite(data, onnx_model, checked)
    atomic_write_bytes(path, data)
    log.debug("exported %s (%d bytes; max difference from ONNX %.1e on %d windows)",
             path, len(data), diff, len(checked))
    return TFLiteResult(path, len(data), len(checked), diff)
