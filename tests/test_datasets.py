"""Registry, presence API and download_datasets against a local mirror on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import shutil
import subprocess
import tarfile
import urllib.parse
import zipfile
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

from easy_oww.datasets import (
    dataset_status,
    dipco_audio,
    download_datasets,
    feature_windows,
    open_negative_features,
    precomputed_negative_features,
    rir_files,
    speech_files,
    validation_features,
)
from easy_oww.datasets import registry as reg
from easy_oww.datasets.registry import REGISTRY, RemoteFile, get_dataset, mirror_url
from easy_oww.errors import DownloadError
from easy_oww.workspace import Workspace, init_workspace

try:
    from test_download_server import ServerState, serve
except ImportError:  # tests/ imported as a package
    from tests.test_download_server import ServerState, serve  # type: ignore[no-redef]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws")


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tgz_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _fake(spec_name: str, data: bytes, **extra: object) -> reg.DatasetSpec:
    """The registry entry with its file replaced by `data` (real URL path, small size).

    The extracted size is made small too, so the free-space check never depends on the disk
    the tests happen to run on.
    """
    spec = get_dataset(spec_name)
    if spec.extracted_size:
        extra.setdefault("extracted_size", 1 << 20)
    f = spec.files[0]
    rf = RemoteFile(f.url, f.filename, size=len(data), sha256=hashlib.sha256(data).hexdigest())
    return dataclasses.replace(spec, files=(rf,), **extra)  # type: ignore[arg-type]


def _path(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


RNG = np.random.default_rng(0)
NEG = RNG.standard_normal((40, 16, 96)).astype(np.float16)
VAL = RNG.standard_normal((60, 96)).astype(np.float32)
RIRS = _zip_bytes({"Audio/h001_Bedroom_65txts.wav": b"RIFF-fake-1",
                   "Audio/h002_Office.wav": b"RIFF-fake-2",
                   "__MACOSX/Audio/._h001_Bedroom_65txts.wav": b"junk"})
LIBRI = _tgz_bytes({"LibriSpeech/dev-clean/84/121123/84-121123-0000.flac": b"fLaC-1",
                    "LibriSpeech/dev-clean/84/121123/84-121123.trans.txt": b"text"})
DIPCO = _tgz_bytes({"Dipco/audio/dev/S02_U01.CH1.wav": b"w1",
                    "Dipco/audio/dev/S02_U01.CH2.wav": b"w2",
                    "Dipco/audio/dev/S02_P05.wav": b"close-talk",
                    "Dipco/transcriptions/dev/S02.json": b"{}"})


@pytest.fixture
def mirror(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A registry of small fakes at the real URL paths, served on 127.0.0.1."""
    fakes = [_fake("acav100m_features", _npy_bytes(NEG)),
             _fake("validation_features", _npy_bytes(VAL)),
             _fake("mit_rirs", RIRS), _fake("librispeech_dev_clean", LIBRI),
             _fake("dipco", DIPCO)]
    fakes += [s for s in REGISTRY if s.name not in {f.name for f in fakes}]
    monkeypatch.setattr(reg, "REGISTRY", tuple(fakes))
    state = ServerState(files={
        _path(s.files[0].url): data for s, data in zip(fakes, [
            _npy_bytes(NEG), _npy_bytes(VAL), RIRS, LIBRI, DIPCO])})
    with serve(state) as base:
        yield state, base


def _gets(state: ServerState) -> list[str]:
    return [r[1] for r in state.requests if r[0] == "GET"]


# --- registry ---------------------------------------------------------------------------

def test_registry_entries_are_complete() -> None:
    names = [s.name for s in REGISTRY]
    assert len(names) == len(set(names))
    assert {"acav100m_features", "validation_features", "mit_rirs", "fsd50k", "dipco"} <= set(names)
    for s in REGISTRY:
        assert s.tier in reg.TIERS and s.files and s.licence and s.homepage
        assert all(f.url.startswith("https://") for f in s.files)
        assert all(f.sha256 is None or len(f.sha256) == 64 for f in s.files)
    assert get_dataset("mit_rirs").folder == "mit_rirs"
    assert get_dataset("fsd50k").folder == "fsd50k" and get_dataset("dipco").folder == "dipco"
    acav = get_dataset("acav100m_features")
    assert acav.size == 128 + 5_625_000 * 16 * 96 * 2  # float16 [5625000, 16, 96] + header


def test_unknown_dataset_lists_the_names() -> None:
    with pytest.raises(DownloadError, match="unknown dataset") as info:
        get_dataset("nope")
    assert "mit_rirs" in (info.value.hint or "")


def test_default_selection_leaves_out_optional() -> None:
    default = {s.name for s in reg.select_datasets()}
    assert "fsd50k" not in default and "acav100m_features" in default and "mit_rirs" in default
    assert {s.tier for s in reg.select_datasets(required_only=True)} == {"required"}
    assert [s.name for s in reg.select_datasets(["dipco", "dipco"])] == ["dipco"]


def test_mirror_url_rewrites_host(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://zenodo.org/records/1/files/x.zip?download=1"
    assert mirror_url(url, "http://127.0.0.1:9/m/") == \
        "http://127.0.0.1:9/m/records/1/files/x.zip?download=1"
    monkeypatch.setenv(reg.MIRROR_ENV, "http://mirror.local")
    assert mirror_url(url) == "http://mirror.local/records/1/files/x.zip?download=1"
    monkeypatch.delenv(reg.MIRROR_ENV)
    assert mirror_url(url) == url
    with pytest.raises(DownloadError):
        mirror_url(url, "not a url")


# --- presence API -----------------------------------------------------------------------

def test_empty_workspace_has_nothing(ws: Workspace) -> None:
    rows = dataset_status(ws)
    assert {r.name for r in rows} == {s.name for s in REGISTRY}
    assert all(r.state == "missing" and not r.present and r.size_on_disk == 0 for r in rows)
    assert precomputed_negative_features(ws) is None and validation_features(ws) is None
    assert rir_files(ws) == [] and dipco_audio(ws) == [] and speech_files(ws) == []


def test_fake_precomputed_features_in_registry_format_are_found(ws: Workspace) -> None:
    spec = get_dataset("acav100m_features")
    path = ws.datasets / spec.folder / spec.files[0].filename
    path.parent.mkdir(parents=True)
    np.save(path, NEG)
    assert precomputed_negative_features(ws) == path
    feats = open_negative_features(ws)
    assert feats is not None and feats.shape == (40, 16, 96) and feats.dtype == np.float16
    assert isinstance(feats, np.memmap) and not feats.flags.writeable
    np.testing.assert_array_equal(feats[3], NEG[3])
    row = next(r for r in dataset_status(ws) if r.name == "acav100m_features")
    assert row.present and row.size_on_disk == path.stat().st_size


def test_float32_features_copied_into_datasets_root_are_found(ws: Workspace) -> None:
    path = ws.datasets / "openwakeword_features_ACAV100M_2000_hrs_16bit.npy"
    np.save(path, NEG.astype(np.float32))
    assert precomputed_negative_features(ws) == path


def test_wrong_shape_or_truncated_features_are_ignored(ws: Workspace,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    spec = get_dataset("acav100m_features")
    path = ws.datasets / spec.folder / spec.files[0].filename
    path.parent.mkdir(parents=True)
    np.save(path, np.zeros((10, 16, 32), np.float16))
    assert precomputed_negative_features(ws) is None
    assert "shape" in caplog.text
    path.write_bytes(_npy_bytes(NEG)[:-100])  # an interrupted copy
    assert precomputed_negative_features(ws) is None
    assert "truncated" in caplog.text


def test_validation_stream_and_windows(ws: Workspace) -> None:
    spec = get_dataset("validation_features")
    path = ws.datasets / spec.folder / spec.files[0].filename
    path.parent.mkdir(parents=True)
    np.save(path, VAL)
    assert validation_features(ws) == path
    win = feature_windows(np.load(path, mmap_mode="r"))
    assert win.shape == (60 - 15, 16, 96)
    np.testing.assert_array_equal(win[7], VAL[7:23])
    assert feature_windows(NEG) is NEG
    assert feature_windows(VAL[:10]).shape == (0, 16, 96)


# --- download_datasets ------------------------------------------------------------------

def test_download_everything_then_nothing_twice(ws: Workspace, mirror) -> None:  # type: ignore[no-untyped-def]
    state, base = mirror
    names = ["acav100m_features", "validation_features", "mit_rirs", "librispeech_dev_clean",
             "dipco"]
    seen: list[str] = []
    out = download_datasets(ws, names, base_url_override=base, backoff=0.01,
                            progress=lambda t, d, n: seen.append(t))
    assert [o.status for o in out] == ["downloaded"] * 5, [o.error for o in out]
    feats = open_negative_features(ws)
    assert feats is not None and feats.shape == NEG.shape
    assert validation_features(ws) is not None
    assert [p.name for p in rir_files(ws)] == ["h001_Bedroom_65txts.wav", "h002_Office.wav"]
    assert [p.name for p in speech_files(ws)] == ["84-121123-0000.flac"]
    assert [p.name for p in dipco_audio(ws)] == ["S02_U01.CH1.wav"]  # member filter
    assert not (ws.datasets / "dipco" / "Dipco" / "audio" / "dev" / "S02_P05.wav").exists()
    assert "extract mit_rirs" in seen
    assert not list((ws.datasets / ".downloads").iterdir())  # archives removed
    assert not [p for p in ws.datasets.iterdir() if ".extracting-" in p.name]
    assert all(r.present for r in dataset_status(ws) if r.name in names)
    n = len(_gets(state))
    again = download_datasets(ws, names, base_url_override=base)
    assert [o.status for o in again] == ["present"] * 5
    assert len(_gets(state)) == n


def test_mirror_from_environment(ws: Workspace, mirror, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
                                 ) -> None:
    state, base = mirror
    monkeypatch.setenv(reg.MIRROR_ENV, base)
    out = download_datasets(ws, ["mit_rirs"])
    assert out[0].status == "downloaded"
    assert _gets(state) == ["/Reverb/IRMAudio/Audio.zip"]


def test_one_failure_does_not_stop_the_others(ws: Workspace, mirror) -> None:  # type: ignore[no-untyped-def]
    state, base = mirror
    del state.files["/Reverb/IRMAudio/Audio.zip"]
    out = download_datasets(ws, ["mit_rirs", "validation_features"], base_url_override=base)
    assert out[0].status == "failed" and "404" in (out[0].error or "")
    assert out[1].status == "downloaded"
    assert not (ws.datasets / "mit_rirs").exists()


def test_corrupt_archive_leaves_no_folder(ws: Workspace, mirror,  # type: ignore[no-untyped-def]
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    state, base = mirror
    bad = b"PK\x03\x04 this is not a zip file"
    state.files["/Reverb/IRMAudio/Audio.zip"] = bad
    monkeypatch.setattr(reg, "REGISTRY", tuple(
        _fake("mit_rirs", bad) if s.name == "mit_rirs" else s for s in reg.REGISTRY))
    out = download_datasets(ws, ["mit_rirs"], base_url_override=base)
    assert out[0].status == "failed" and "cannot extract" in (out[0].error or "")
    assert not (ws.datasets / "mit_rirs").exists()
    assert not [p for p in ws.datasets.iterdir() if ".extracting-" in p.name]


def test_unsafe_tar_member_is_refused(ws: Workspace, mirror,  # type: ignore[no-untyped-def]
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    state, base = mirror
    evil = _tgz_bytes({"../../evil.flac": b"x"})
    state.files["/resources/12/dev-clean.tar.gz"] = evil
    monkeypatch.setattr(reg, "REGISTRY", tuple(
        _fake("librispeech_dev_clean", evil) if s.name == "librispeech_dev_clean" else s
        for s in reg.REGISTRY))
    out = download_datasets(ws, ["librispeech_dev_clean"], base_url_override=base)
    assert out[0].status == "failed" and "outside" in (out[0].error or "")
    assert not (ws.root / "evil.flac").exists() and not (ws.datasets / "evil.flac").exists()


def test_not_enough_space_for_all_is_refused_up_front(ws: Workspace, mirror,  # type: ignore[no-untyped-def]
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    state, base = mirror
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(1 << 40, 1 << 40, 10 << 20))
    big = dataclasses.replace(get_dataset("dipco"), extracted_size=5_000_000_000)
    monkeypatch.setattr(reg, "REGISTRY", tuple(
        big if s.name == "dipco" else s for s in reg.REGISTRY))
    with pytest.raises(DownloadError, match="not enough free space") as info:
        download_datasets(ws, ["mit_rirs", "dipco"], base_url_override=base)
    assert "5.0 GB" in info.value.message
    assert _gets(state) == []


@pytest.mark.skipif(shutil.which("zip") is None, reason="needs the Info-ZIP zip tool")
def test_split_zip_is_joined_and_extracted(ws: Workspace, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src" / "FSD50K.eval_audio"
    src.mkdir(parents=True)
    blobs = {f"{i}.wav": np.random.default_rng(i).bytes(50_000) for i in range(4)}
    for name, data in blobs.items():
        (src / name).write_bytes(data)
    subprocess.run(["zip", "-q", "-r", "-s", "64k", "FSD50K.eval_audio.zip",
                    "FSD50K.eval_audio"], cwd=src.parent, check=True)
    parts = sorted(src.parent.glob("FSD50K.eval_audio.z*"))
    assert len(parts) >= 3  # really split
    files = tuple(RemoteFile(f"https://zenodo.org/records/4060432/files/{p.name}?download=1",
                             p.name, size=p.stat().st_size,
                             md5=hashlib.md5(p.read_bytes()).hexdigest()) for p in parts)
    fsd = dataclasses.replace(get_dataset("fsd50k"), files=files, extracted_size=1 << 20)
    monkeypatch.setattr(reg, "REGISTRY", tuple(
        fsd if s.name == "fsd50k" else s for s in reg.REGISTRY))
    state = ServerState(files={f"/records/4060432/files/{p.name}?download=1": p.read_bytes()
                               for p in parts})
    from easy_oww.datasets import noise_files
    with serve(state) as base:
        out = download_datasets(ws, ["fsd50k"], base_url_override=base)
    assert out[0].status == "downloaded", out[0].error
    got = noise_files(ws)
    assert sorted(p.name for p in got) == sorted(blobs)
    assert all(p.read_bytes() == blobs[p.name] for p in got)


def test_killed_extraction_leftovers_are_cleaned_and_replaced(ws: Workspace, mirror  # type: ignore[no-untyped-def]
                                                               ) -> None:
    _state, base = mirror
    stale = ws.datasets / ".mit_rirs.extracting-abc123"
    (stale / "Audio").mkdir(parents=True)
    half = ws.datasets / "mit_rirs" / "Audio"
    half.mkdir(parents=True)
    (half / "half_written.wav").write_bytes(b"x")  # no .complete.json: not present
    assert rir_files(ws) == []
    out = download_datasets(ws, ["mit_rirs"], base_url_override=base)
    assert out[0].status == "downloaded"
    assert not stale.exists()
    assert [p.name for p in rir_files(ws)] == ["h001_Bedroom_65txts.wav", "h002_Office.wav"]
    assert not [p for p in ws.datasets.iterdir() if p.name.startswith(".mit_rirs.")]


def test_dataset_locked_by_another_process(ws: Workspace, mirror) -> None:  # type: ignore[no-untyped-def]
    from filelock import FileLock

    _state, base = mirror
    with FileLock(str(ws.datasets / ".mit_rirs.lock")):
        out = download_datasets(ws, ["mit_rirs"], base_url_override=base)
    assert out[0].status == "failed" and "another easy-oww process" in (out[0].error or "")
