"""Presets (quick, standard, max) and the configs made from them."""

from __future__ import annotations

from typing import Any

from easy_oww.config.loading import _validate
from easy_oww.config.schema import Preset, ProjectConfig

# Preset sizes. `standard` is the model's own defaults; the others override these keys.
PRESETS: dict[Preset, dict[str, dict[str, Any]]] = {
    Preset.quick: {  # the demo: at most 15 minutes end to end on a 2-core CPU
        "clips": {"n_positive": 10_000, "n_adversarial": 1000, "n_negative_speech": 600,
                  "negative_audio_hours": 24.0, "n_eval_positive": 500,
                  "n_eval_adversarial": 200},
        "augment": {"rounds": 3},
        "training": {"steps": 8000, "batch_size": 1024, "learning_rate": 1e-3,
                     "validate_every": 500},
        "evaluation": {"negative_hours": 2.0},
    },
    Preset.standard: {},
    Preset.max: {
        "clips": {"n_positive": 20_000, "n_adversarial": 20_000, "n_negative_speech": 20_000,
                  "negative_audio_hours": 100.0, "n_eval_positive": 1000,
                  "n_eval_adversarial": 1000},
        "augment": {"rounds": 4},
        "training": {"steps": 100_000, "batch_size": 1024, "layer_size": 128},
        "evaluation": {"negative_hours": 5.0},
    },
}


def new_config(name: str, wake_word: str, *, preset: Preset = Preset.standard,
               **overrides: Any) -> ProjectConfig:
    """A fresh config for `name`, sized by `preset`, with dotted-key `overrides` applied."""
    data: dict[str, Any] = {"name": name, "wake_word": wake_word, "preset": preset.value}
    for section, values in PRESETS[preset].items():
        data.setdefault(section, {}).update(values)
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        if key:
            data.setdefault(section, {})[key] = value
        else:
            data[section] = value
    return _validate(data, source="new project")


def with_preset(config: ProjectConfig, preset: Preset) -> ProjectConfig:
    """`config` resized by `preset` (for `train --preset`); other settings are kept."""
    data = config.model_dump(mode="json")
    data["preset"] = preset.value
    base = ProjectConfig(name=config.name, wake_word=config.wake_word).model_dump(mode="json")
    for section, values in PRESETS[preset].items():
        for key, value in values.items():
            data[section][key] = value
    if preset is Preset.standard:  # back to the defaults of the keys other presets size
        for other in PRESETS.values():
            for section, values in other.items():
                for key in values:
                    data[section][key] = base[section][key]
    return _validate(data, source=f"preset {preset.value}")
