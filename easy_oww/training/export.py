"""ONNX export per Contract 1, verified by ONNX Runtime after writing.

The graph takes float32 ``[batch, 16, 96]`` (batch dynamic, time static, as openWakeWord
reads ``get_inputs()[0].shape[1]``) and returns float32 ``[batch, 1]`` in 0..1 (sigmoid
inside). Opset 13 is what openWakeWord's own export uses, so any ONNX Runtime that
openWakeWord 0.4.0 or 0.6.0 runs on loads it.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww.contract import EMBEDDING_DIM, MODEL_INPUT_FRAMES
from easy_oww.errors import require
from easy_oww.fsutil import atomic_write_bytes

log = logging.getLogger(__name__)

OPSET = 13
INPUT_NAME = "input"
OUTPUT_NAME = "score"
PARITY_TOLERANCE = 1e-5


class ExportError(RuntimeError):
    """The written model does not behave as Contract 1 requires (a bug, not user error)."""


def export_onnx(model: Any, path: Path, *, input_frames: int = MODEL_INPUT_FRAMES) -> Path:
    """Write `model` (probability output, e.g. `ScoreModel`) to `path` atomically, after
    checking it in ONNX Runtime: shapes for batch 1 and 7, scores in [0, 1], equal to torch."""
    path = Path(path)
    data = onnx_bytes(model, input_frames=input_frames)
    atomic_write_bytes(path, data)
    log.info("exported %s (%d bytes)", path, len(data))
    return path


def onnx_bytes(model: Any, *, input_frames: int = MODEL_INPUT_FRAMES) -> bytes:
    """The verified ONNX model of `model` as bytes (the same bytes for the same weights)."""
    torch = require("torch", "train", "exporting the model")
    model = model.cpu().eval()
    example = torch.zeros(1, input_frames, EMBEDDING_DIM)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(
            model, (example,), buf, dynamo=False, opset_version=OPSET,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            do_constant_folding=True)
    data = buf.getvalue()
    verify_onnx(data, model, input_frames=input_frames)
    return data


def verify_onnx(model_bytes: bytes, reference: Any = None, *,
                input_frames: int = MODEL_INPUT_FRAMES) -> None:
    """Raise ExportError unless the ONNX model meets Contract 1 (and matches `reference`)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    inp, out = sess.get_inputs()[0], sess.get_outputs()[0]
    if list(inp.shape[1:]) != [input_frames, EMBEDDING_DIM] or out.shape[1] != 1:
        raise ExportError(f"unexpected ONNX shapes: input {inp.shape}, output {out.shape}")
    rng = np.random.default_rng(0)
    for batch in (1, 7):
        x = rng.normal(0.0, 1.0, (batch, input_frames, EMBEDDING_DIM)).astype(np.float32)
        got = sess.run(None, {inp.name: x})[0]
        if got.shape != (batch, 1) or got.dtype != np.float32:
            raise ExportError(f"ONNX output {got.shape} {got.dtype} for batch {batch}")
        if not np.all((got >= 0.0) & (got <= 1.0)):
            raise ExportError("ONNX scores outside [0, 1]")
        if reference is not None:
            import torch

            with torch.no_grad():
                want = reference(torch.from_numpy(x)).numpy()
            diff = float(np.max(np.abs(want - got)))
            if diff > PARITY_TOLERANCE:
                raise ExportError(f"ONNX differs from PyTorch by {diff:.2e}")
