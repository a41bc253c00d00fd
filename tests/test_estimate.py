"""The expected duration printed before `train` starts."""

from __future__ import annotations

from easy_oww.config import Preset, new_config
from easy_oww.pipeline.estimate import estimate_seconds, head_cost


def test_quick_preset_is_sized_for_fifteen_minutes_on_two_cores() -> None:
    quick = estimate_seconds(new_config("x", "hey jarvis", preset=Preset.quick), cores=2)
    standard = estimate_seconds(new_config("x", "hey jarvis"), cores=2)
    assert 5 * 60 < quick <= 15 * 60
    assert quick < standard < estimate_seconds(new_config("x", "hey jarvis", preset=Preset.max),
                                               cores=2)


def test_more_cores_and_smaller_heads_take_less_time() -> None:
    config = new_config("x", "hey jarvis", preset=Preset.quick)
    assert estimate_seconds(config, cores=8) < estimate_seconds(config, cores=2)
    narrow = new_config("x", "hey jarvis", preset=Preset.quick, **{"training.layer_size": 32})
    assert estimate_seconds(narrow, cores=2) < estimate_seconds(config, cores=2)
    assert head_cost(64) == 1.0 and head_cost(128) > 1.4


def test_window_scaling_adds_to_the_training_estimate() -> None:
    on = new_config("x", "hey jarvis", preset=Preset.quick)
    off = new_config("x", "hey jarvis", preset=Preset.quick, **{"training.window_norm": False})
    assert on.training.window_norm and not off.training.window_norm
    extra = estimate_seconds(on, cores=2) - estimate_seconds(off, cores=2)
    assert 0 < extra < 0.1 * estimate_seconds(off, cores=2)
