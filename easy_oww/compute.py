"""Where the work runs: the one device resolver.

`train --device` overrides the config's ``training.device``; when neither says otherwise
the device is ``auto``: CUDA when PyTorch sees a GPU, else the CPU (a machine without
PyTorch is a CPU machine here; the training phase itself says when PyTorch is missing).
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
