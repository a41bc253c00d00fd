from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from easy_oww.config import (
    Head,
    Preset,
    ProjectConfig,
    dump_config,
    load_config,
    new_config,
    save_config,
    with_preset,
)
from easy_oww.errors import ConfigError


def write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def base() -> dict:
    return new_config("p", "hey jarvis").model_dump(mode="json")


def test_round_trip_is_identical(tmp_path: Path) -> None:
    cfg = new_config("hey_jarvis", "Hey   Jarvis", preset=Preset.quick, **{"training.steps": 77})
    path = tmp_path / "config.yaml"
    save_config(cfg, path)
    loaded = load_config(path)
    assert loaded == cfg
    assert loaded.wake_word == "Hey Jarvis"  # whitespace normalised
    assert loaded.training.steps == 77
    assert loaded.clips.n_positive == 10_000  # sized by the quick preset
    save_config(loaded, path)
    assert load_config(path) == cfg
    assert path.read_text().startswith("# easy-oww project configuration")


def test_defaults_cover_every_stage() -> None:
    cfg = ProjectConfig(name="x", wake_word="hey x")
    assert cfg.training.head is Head.dnn
    assert cfg.clips.clip_duration == "auto"
    assert cfg.evaluation.target_fp_per_hour == 0.5
    assert cfg.augment.rounds >= 1 and cfg.training.batch_size > 0 and cfg.seed >= 0
    assert "espeak" in cfg.tts.backends


def test_presets_resize_and_standard_restores() -> None:
    cfg = new_config("p", "hey jarvis", **{"training.head": "temporal"})
    quick = with_preset(cfg, Preset.quick)
    assert quick.training.steps < cfg.training.steps
    assert quick.training.head is Head.temporal  # unrelated settings kept
    back = with_preset(quick, Preset.standard)
    assert back.training.steps == cfg.training.steps
    assert back.clips.n_positive == cfg.clips.n_positive


@pytest.mark.parametrize(
    ("mutate", "expect_key", "expect_hint"),
    [
        (lambda d: d["training"].update(stepz=5), "training.stepz", "steps"),
        (lambda d: d.update(colour="red"), "colour", "wake_word"),
        (lambda d: d["training"].update(steps="many"), "training.steps", "integer"),
        (lambda d: d["training"].update(steps=0), "training.steps", "greater than or equal"),
        (lambda d: d["training"].update(head="lstm"), "training.head", "dnn"),
        (lambda d: d["augment"].update(snr_db=[30, 5]), "augment.snr_db", "first value"),
        (lambda d: d["augment"].update(snr_db=[0, 500]), "augment.snr_db", "within"),
        (lambda d: d["augment"].update(noise_probability=1.5), "augment.noise_probability",
         "less than or equal"),
        (lambda d: d["clips"].update(clip_duration=0.2), "clips.clip_duration", "auto"),
        (lambda d: d["clips"].update(clip_duration="long"), "clips.clip_duration", "auto"),
        (lambda d: d.update(wake_word="!!"), "wake_word", "letters"),
        (lambda d: d.pop("wake_word"), "wake_word", "add it"),
        (lambda d: d.update(version=99), "version", "version must be 1"),
        (lambda d: d["evaluation"].update(target_fp_per_hour=-1), "evaluation.target_fp_per_hour",
         "greater than"),
        (lambda d: d["tts"].update(backends=["festival"]), "tts.backends[0]", "espeak"),
    ],
)
def test_every_error_names_key_and_allowed(tmp_path: Path, mutate, expect_key: str,
                                           expect_hint: str) -> None:
    data = base()
    mutate(data)
    path = write(tmp_path / "config.yaml", data)
    before = path.read_bytes()
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert f"'{expect_key}'" in err.message
    assert expect_hint in (err.hint or ""), err.hint
    assert "\n" not in str(err)
    assert path.read_bytes() == before  # nothing overwritten


def test_unknown_key_lists_allowed_keys(tmp_path: Path) -> None:
    data = base()
    data["training"]["bach_size"] = 3
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path / "c.yaml", data))
    assert "batch_size" in (info.value.hint or "")


def test_malformed_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(scalar)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_dump_is_block_style_yaml() -> None:
    text = dump_config(new_config("p", "hey jarvis"))
    assert "training:\n  head: dnn" in text


def test_configuration_doc_is_current() -> None:
    from easy_oww.config import reference_markdown

    doc = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
    assert doc.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/configuration.md is stale: regenerate it with "
        "python -c 'from easy_oww.config import reference_markdown as r; print(r(), end=\"\")' "
        "> docs/configuration.md")


def test_renamed_key_of_an_earlier_version_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    save_config(new_config("a", "hey jarvis"), path)
    text = path.read_text().replace("average_last_k: 5", "average_top_k: 7")
    assert "average_top_k: 7" in text
    path.write_text(text)
    assert load_config(path).training.average_last_k == 7
