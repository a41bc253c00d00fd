"""The typed project configuration and its YAML file.

One `ProjectConfig` is loaded once from ``projects/NAME/config.yaml``. Unknown keys, wrong
types and out-of-range values are rejected with the key's dotted path and what is allowed;
the file on disk is never rewritten by a failed load.

The package: `schema` (the model and its sections), `loading` (YAML in and out, the error
messages), `presets` (quick, standard, max) and `reference` (docs/configuration.md).
Everything is imported from here: ``from easy_oww.config import ProjectConfig``.
"""

from __future__ import annotations

from easy_oww.config.loading import (
    RENAMED_KEYS,
    dump_config,
    load_config,
    save_config,
)
from easy_oww.config.presets import PRESETS, new_config, with_preset
from easy_oww.config.reference import reference_markdown
from easy_oww.config.schema import (
    CONFIG_VERSION,
    DEFAULT_BACKENDS,
    AugmentConfig,
    Backend,
    ClipsConfig,
    Device,
    EvaluationConfig,
    FeaturesConfig,
    Head,
    Preset,
    ProjectConfig,
    Range,
    TrainingConfig,
    TTSConfig,
)

__all__ = [
    "CONFIG_VERSION", "DEFAULT_BACKENDS", "PRESETS", "RENAMED_KEYS", "AugmentConfig",
    "Backend", "ClipsConfig", "Device", "EvaluationConfig", "FeaturesConfig", "Head",
    "Preset", "ProjectConfig", "Range", "TTSConfig", "TrainingConfig", "dump_config",
    "load_config", "new_config", "reference_markdown", "save_config", "with_preset",
]
