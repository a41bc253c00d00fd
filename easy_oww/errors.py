"""User-facing errors: one line saying what is wrong, plus a hint saying what to do.

The CLI shows them as ``error: <message>`` and ``hint: <hint>`` on stderr and exits with
their `exit_code` (2; 1 for `WorkerDied`, a fault of the run rather than of its input);
library code raises them and never prints or exits.
"""

from __future__ import annotations


class EasyOWWError(Exception):
    """A problem the user can fix (bad input, missing file, wrong config)."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} — {self.hint}"


class ConfigError(EasyOWWError):
    """The project configuration is invalid."""


class WorkspaceError(EasyOWWError):
    """The workspace is missing, unwritable or malformed."""


class ProjectNotFound(EasyOWWError):
    """No project of that name in the workspace."""


class AudioError(EasyOWWError):
    """An audio file cannot be read or is unusable."""


class MissingDependency(EasyOWWError):
    """An optional dependency is not installed; the hint names the extra."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the Python package '{package}', which is not installed",
            f"install it with: pip install 'easy-oww[{extra}]'",
        )
        self.package = package
        self.extra = extra


class DownloadError(EasyOWWError):
    """A download failed (network, checksum, disk space)."""


class LockedError(EasyOWWError):
    """Another run holds the project's lock."""


class DeviceError(EasyOWWError):
    """An audio or compute device is missing or unusable."""


class DiskFullError(EasyOWWError):
    """No room left where a step writes (ENOSPC, or too little free space up front)."""


class PathKindError(EasyOWWError):
    """A file where easy-oww needs a folder, or a folder where it needs a file."""


class ModelContractError(EasyOWWError):
    """An ONNX model that is not a single-score openWakeWord model (DESIGN, Contract 1)."""


def require(module: str, extra: str, purpose: str):  # type: ignore[no-untyped-def]
    """Import `module` lazily, raising MissingDependency naming the extra if absent."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and not module.startswith(exc.name.split(".")[0]):
            raise  # a broken install inside the package: let the real error show
        raise MissingDependency(module.split(".")[0], extra, purpose) from exc


class WorkerDied(EasyOWWError):
    """A worker process ended in the middle of a run (killed, or crashed)."""

    exit_code = 1
