"""System check for `easy-oww init`: Python, disk, memory, CPUs, GPU, OS notes."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

MIN_FREE_GB = 5.0
MIN_RAM_GB = 4.0


@dataclass(frozen=True)
class CheckItem:
    name: str
    value: str
    ok: bool
    note: str = ""


def total_ram_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import ctypes

        class MemStatus(ctypes.Structure):
            _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                        ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                        ("ullTotalPageFile", ctypes.c_ulonglong),
                        ("ullAvailPageFile", ctypes.c_ulonglong),
                        ("ullTotalVirtual", ctypes.c_ulonglong),
                        ("ullAvailVirtual", ctypes.c_ulonglong),
                        ("sullAvailExtendedVirtual", ctypes.c_ulonglong)]

        stat = MemStatus()
        stat.dwLength = ctypes.sizeof(MemStatus)
        ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(stat))  # type: ignore[attr-defined]
        return int(stat.ullTotalPhys)
    return None


def detect_gpu() -> str | None:
    """Name of a CUDA GPU if torch sees one or the ONNX Runtime CUDA provider exists."""
    try:
        import torch

        if torch.cuda.is_available():
            return f"{torch.cuda.get_device_name(0)} (PyTorch CUDA)"
    except ImportError:
        pass
    try:
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers():
            return "CUDA (ONNX Runtime provider)"
    except ImportError:
        pass
    return None


def system_check(workspace: Path) -> list[CheckItem]:
    items: list[CheckItem] = []
    py_ok = sys.version_info >= (3, 10)
    items.append(CheckItem("Python", platform.python_version(), py_ok,
                           "" if py_ok else "Python 3.10 or newer is required"))
    probe = workspace if workspace.exists() else workspace.parent
    free = shutil.disk_usage(probe).free / 1e9
    items.append(CheckItem("Free disk", f"{free:.1f} GB", free >= MIN_FREE_GB,
                           "" if free >= MIN_FREE_GB else
                           f"at least {MIN_FREE_GB:.0f} GB recommended (50+ GB for datasets)"))
    ram = total_ram_bytes()
    ram_gb = ram / 2**30 if ram else None
    items.append(CheckItem("Memory", f"{ram_gb:.1f} GiB" if ram_gb else "unknown",
                           ram_gb is None or ram_gb >= MIN_RAM_GB,
                           "" if ram_gb is None or ram_gb >= MIN_RAM_GB else
                           f"{MIN_RAM_GB:.0f} GiB or more recommended"))
    items.append(CheckItem("CPU cores", str(os.cpu_count() or 1), True,
                           "feature extraction uses one worker process per core"))
    gpu = detect_gpu()
    items.append(CheckItem("GPU", gpu or "none", True,
                           "" if gpu else "training runs on the CPU (the quick preset is fine)"))
    osname = f"{platform.system()} {platform.release()} ({platform.machine()})"
    note = ""
    if sys.platform == "darwin":
        note = ("macOS: easy-oww extracts features in worker processes, so training runs at "
                "full speed without the bus error of openWakeWord's notebook")
    items.append(CheckItem("OS", osname, True, note))
    return items
