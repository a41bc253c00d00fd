"""easy-oww: train custom openWakeWord wake-word models, offline, fast and measured.

Importing this package does no work: no logging set-up, no heavy imports, no patches.
"""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("easy-oww")
except metadata.PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
