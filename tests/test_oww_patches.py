"""macOS compatibility patches for upstream openWakeWord (simulated macOS, real upstream code).

The AudioFeatures patches run against the openwakeword 0.4.0 installed here. The
``compute_features_from_generator`` patch needs openwakeword 0.6.0, which cannot share a
virtual environment with 0.4.0: install it beside, without dependencies, with
``pip install --no-deps --target /tmp/oww060 openwakeword==0.6.0`` (or point
EASY_OWW_OWW060 at such a directory); that test is skipped when it is absent.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from easy_oww.errors import EasyOWWError
from easy_oww.features import models
from easy_oww.training.oww_patches import (
    BATCH_NOTICE,
    SINGLE_CPU_NOTICE,
    apply_patches,
    remove_patches,
    trim_trailing_empty_rows,
)

LOGGER = "easy_oww.training.oww_patches"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def utils() -> Iterator[object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import openwakeword.utils as oww_utils
    yield oww_utils
    remove_patches()


@pytest.fixture
def clips() -> np.ndarray:
    rng = np.random.default_rng(0)
    audio = rng.standard_normal((70, 16000)) * np.linspace(10, 8000, 70)[:, None]
    audio[3, :8000] = 0  # zero padding
    return audio.clip(-32768, 32767).astype(np.int16)


def reference_features(utils, clips: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return utils.AudioFeatures(ncpu=1).embed_clips(clips, batch_size=128, ncpu=2)


def test_nothing_changes_off_macos(utils) -> None:  # type: ignore[no-untyped-def]
    before = dict(vars(utils.AudioFeatures))
    for plat in ("linux", "win32"):
        report = apply_patches(platform=plat)
        assert not report.applied and report.patched == ()
    assert dict(vars(utils.AudioFeatures)) == before


def test_macos_single_threaded_identical_and_notices(utils, clips, monkeypatch,  # type: ignore[no-untyped-def]
                                                     caplog) -> None:
    expected = reference_features(utils, clips)
    report = apply_patches(platform="darwin")
    assert report.applied and {"_get_melspectrogram_batch", "_get_embeddings_batch"} <= set(
        report.patched)

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a ThreadPool was created on macOS")

    monkeypatch.setattr(utils, "ThreadPool", no_pool)
    with warnings.catch_warnings(), caplog.at_level(logging.INFO, logger=LOGGER):
        warnings.simplefilter("ignore")
        ours = utils.AudioFeatures(ncpu=1).embed_clips(clips, batch_size=128, ncpu=2)
    assert np.array_equal(ours, expected)
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert SINGLE_CPU_NOTICE == "Note: Using single CPU on macOS to prevent memory errors"
    assert "Reduced batch size from 128 to 64 for macOS stability" in messages
    assert SINGLE_CPU_NOTICE in messages
    assert len(messages) == len(set(messages))  # each notice once, not once per batch


def test_no_notices_when_they_do_not_apply(utils, clips, caplog) -> None:  # type: ignore[no-untyped-def]
    apply_patches(platform="darwin")
    with warnings.catch_warnings(), caplog.at_level(logging.INFO, logger=LOGGER):
        warnings.simplefilter("ignore")
        utils.AudioFeatures().embed_clips(clips[:10], batch_size=32, ncpu=1)
    assert not [r for r in caplog.records if r.name == LOGGER]


def test_idempotent_and_reversible(utils, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    original = utils.AudioFeatures.__dict__["_get_embeddings_batch"]
    monkeypatch.setattr(sys, "platform", "darwin")  # the real platform check
    first = apply_patches()
    patched = utils.AudioFeatures.__dict__["_get_embeddings_batch"]
    assert patched is not original and not first.already
    second = apply_patches()
    assert second.already and utils.AudioFeatures.__dict__["_get_embeddings_batch"] is patched
    remove_patches()
    assert utils.AudioFeatures.__dict__["_get_embeddings_batch"] is original


def test_unexpected_upstream_is_a_clear_error(utils, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def changed(self, x, batch_size=128):  # type: ignore[no-untyped-def]
        return x

    monkeypatch.setattr(utils.AudioFeatures, "_get_embeddings_batch", changed)
    with pytest.raises(EasyOWWError, match="_get_embeddings_batch"):
        apply_patches(platform="darwin")
    assert utils.AudioFeatures.__dict__["_get_embeddings_batch"] is changed


def test_trim_trailing_empty_rows(tmp_path: Path) -> None:
    path = tmp_path / "f.npy"
    data = np.zeros((7, 2, 3), dtype=np.float32)
    data[:4] = np.arange(24, dtype=np.float32).reshape(4, 2, 3) + 1
    data[1] = 0  # an empty row inside is kept
    np.save(path, data)
    assert trim_trailing_empty_rows(path, block=3) == 4
    assert np.array_equal(np.load(path), data[:4])
    assert trim_trailing_empty_rows(path) == 4  # nothing more to trim
    assert not list(tmp_path.glob("*.tmp"))


def _oww060() -> Path | None:
    root = Path(os.environ.get("EASY_OWW_OWW060", "/tmp/oww060"))
    init = root / "openwakeword" / "__init__.py"
    if not init.is_file() or not list(root.glob("openwakeword-0.6.0*.dist-info")):
        return None
    return root


OWW060_SCRIPT = r"""
import json, logging, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
import numpy as np
import openwakeword, openwakeword.utils as utils
assert openwakeword.__file__.startswith(sys.argv[1]), openwakeword.__file__
from easy_oww.training.oww_patches import apply_patches
records = []
handler = logging.Handler()
handler.emit = lambda r: records.append(r.getMessage())
logging.getLogger("easy_oww.training.oww_patches").addHandler(handler)
logging.getLogger("easy_oww.training.oww_patches").setLevel(logging.INFO)
rng = np.random.default_rng(1)
clips = (rng.standard_normal((300, 32000)) * 3000).astype(np.int16)
expected = utils.AudioFeatures().embed_clips(clips, batch_size=128, ncpu=2)
report = apply_patches(platform="darwin")
def no_pool(*a, **k):
    raise AssertionError("ThreadPool created")
utils.ThreadPool = no_pool
batches = (clips[i:i + 128] for i in range(0, 300, 128))
out = sys.argv[2]
utils.compute_features_from_generator(batches, n_total=400, clip_duration=32000,
                                      output_file=out, device="cpu", ncpu=4)
got = np.load(out)
print(json.dumps({"patched": list(report.patched), "shape": list(got.shape),
                  "max_diff": float(np.abs(got - expected).max()), "notices": records}))
"""


@pytest.mark.slow
def test_compute_features_from_generator_060(tmp_path: Path) -> None:
    source = _oww060()
    if source is None:
        pytest.skip("openwakeword 0.6.0 not installed beside (see module docstring)")
    site = tmp_path / "site"
    shutil.copytree(source / "openwakeword", site / "openwakeword")
    resources = site / "openwakeword" / "resources" / "models"
    resources.mkdir(parents=True)
    files = models.model_files()  # 0.6.0 downloads these; copy the verified local ones
    shutil.copy(files.melspectrogram, resources)
    shutil.copy(files.embedding, resources)
    run = subprocess.run(
        [sys.executable, "-c", OWW060_SCRIPT, str(site), str(tmp_path / "features.npy")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert "compute_features_from_generator" in result["patched"]
    assert result["shape"] == [300, 16, 96]  # 400 rows reserved, the empty 100 trimmed
    assert result["max_diff"] == 0.0
    assert SINGLE_CPU_NOTICE in result["notices"]
    assert BATCH_NOTICE.format(old=128, new=64) in result["notices"]


def test_module_does_nothing_at_import() -> None:
    code = ("import sys; import easy_oww.training.oww_patches; "
            "print('openwakeword' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert run.stdout.strip() == "False"
