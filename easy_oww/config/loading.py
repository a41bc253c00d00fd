"""config.yaml <-> `ProjectConfig`: strict loading with errors that name the key, and
the YAML that `save_config` writes. A failed load never rewrites the file on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from easy_oww.config.schema import ProjectConfig
from easy_oww.errors import ConfigError
from easy_oww.fsutil import atomic_write_text


def _format_error(err: ValidationError, source: str) -> ConfigError:
    first = err.errors()[0]
    loc = _dotted(first["loc"])
    kind = first["type"]
    msg = first["msg"]
    if kind == "extra_forbidden":
        parent = _dotted(first["loc"][:-1])
        allowed = _allowed_keys(parent)
        text = f"{source}: unknown key '{loc}'"
        hint = f"allowed keys{' in ' + parent if parent else ''}: {', '.join(allowed)}"
    elif kind == "missing":
        text, hint = f"{source}: missing required key '{loc}'", "add it to the file"
    else:
        got = first.get("input")
        text = f"{source}: invalid value for '{loc}': {got!r}"
        hint = msg[0].lower() + msg[1:] if msg else "see docs/configuration.md"
    extra = len(err.errors()) - 1
    if extra:
        hint += f" (and {extra} more problem{'s' if extra > 1 else ''})"
    return ConfigError(text, hint)


def _dotted(loc: tuple[Any, ...]) -> str:
    """'training.steps' from a pydantic location, without union-member tags."""
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1]}[{p}]"] if parts else [f"[{p}]"]
        elif "[" not in p and p not in ("str", "int", "float", "bool"):
            parts.append(p)
    return ".".join(parts)


def _allowed_keys(dotted: str) -> list[str]:
    model: type[BaseModel] = ProjectConfig
    for part in filter(None, dotted.split(".")):
        ann = model.model_fields[part].annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return []
    return sorted(model.model_fields)


RENAMED_KEYS = {("training", "average_top_k"): "average_last_k"}
"""Keys of earlier versions, read under their new name (the file is left as it is)."""


def _renamed(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for (section, old), new in RENAMED_KEYS.items():
        values = out.get(section)
        if isinstance(values, dict) and old in values and new not in values:
            values = dict(values)
            values[new] = values.pop(old)
            out[section] = values
    return out


def _validate(data: Any, source: str) -> ProjectConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the file must hold a mapping of keys to values",
                          "see docs/configuration.md for the layout")
    data = _renamed(data)
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as err:
        raise _format_error(err, source) from None


def load_config(path: Path) -> ProjectConfig:
    """Load and validate a config.yaml; any problem is a ConfigError naming the key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found",
                          "create the project with: easy-oww create NAME --wake-word ...") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}", "check the file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}",
                          "fix the syntax (indentation, colons, quotes)") from None
    return _validate(data, source=str(path))


def dump_config(config: ProjectConfig) -> str:
    data = config.model_dump(mode="json")
    header = ("# easy-oww project configuration. Every key is documented in "
              "docs/configuration.md.\n# Unknown keys are errors; delete a key to get "
              "its default.\n")
    body: str = yaml.safe_dump(data, sort_keys=False, default_flow_style=False,
                               allow_unicode=True)  # "café", not "caf\xE9"
    return header + body


def save_config(config: ProjectConfig, path: Path) -> None:
    atomic_write_text(path, dump_config(config))
