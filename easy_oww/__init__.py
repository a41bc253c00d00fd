"""easy-oww: train custom openWakeWord wake-word models, offline, fast and measured.

Importing this package does no work: no logging set-up, no heavy imports, no patches.
"""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]
__version__: str  # set by __getattr__ on first use


def __getattr__(name: str) -> Any:
    """`__version__`, read from package metadata on first use (importing stays cheap)."""
    if name != "__version__":
        raise AttributeError(f"module 'easy_oww' has no attribute {name!r}")
    from importlib import metadata

    try:
        version = metadata.version("easy-oww")
    except metadata.PackageNotFoundError:  # a source tree that was not installed
        version = "0+unknown"
    globals()["__version__"] = version
    return version
