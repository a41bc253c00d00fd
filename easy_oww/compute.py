"""Where the work runs: the one device resolver.

`train --device` overrides the config's ``training.device``; when neither says otherwise
the device is ``auto``: CUDA when PyTorch sees a GPU, else the CPU (a machine without
PyTorch is a CPU machine here; the training phase itself says when PyTorch is missing).
The ONNX front end (features) follows the resolved device only where ONNX Runtime has
its CUDA provider (`onnxruntime-gpu`): PyTorch's CUDA build with plain `onnxruntime`, a
common set-up, trains on the GPU and extracts features on the CPU (`feature_device`).
"""

from __future__ import annotations

from typing import Literal

from easy_oww.errors import DeviceError

DEVICES = ("auto", "cpu", "cuda")
"""What may be requested (the `--device` choices and `training.device` values)."""
ResolvedDevice = Literal["cpu", "cuda"]


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _onnx_cuda_available() -> bool:
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    return "CUDAExecutionProvider" in ort.get_available_providers()


def feature_device(device: str) -> ResolvedDevice:
    """Where the feature front end (ONNX Runtime) runs for a run resolved to `device`:
    CUDA only when ONNX Runtime has its CUDA provider, else the CPU."""
    return "cuda" if device == "cuda" and _onnx_cuda_available() else "cpu"


def resolve_device(requested: object = "auto", configured: object = None) -> ResolvedDevice:
    """'cpu' or 'cuda' for `requested` (a `DEVICES` value, or `config.Device`; None: not
    given, so `configured`, the config's ``training.device``, decides; neither: 'auto').

    'auto' is CUDA when PyTorch sees a GPU, else the CPU; a requested CUDA device that is
    absent, or an unknown name, is a `DeviceError` (one line and a hint).
    """
    choice = requested if requested is not None else configured
    name = str(getattr(choice, "value", choice)) if choice is not None else "auto"
    if name not in DEVICES:
        raise DeviceError(f"unknown device {name!r}", "use cpu, cuda or auto")
    if name == "cpu":
        return "cpu"
    has_cuda = _cuda_available()
    if name == "cuda" and not has_cuda:
        raise DeviceError("CUDA was requested (--device or training.device) but PyTorch "
                          "sees no CUDA GPU",
                          "install a CUDA build of PyTorch, or use --device cpu")
    return "cuda" if has_cuda else "cpu"
