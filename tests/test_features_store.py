"""Feature store: parallel extraction (spawn), identical bytes, resume after a crash or kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from easy_oww.contract import EMBEDDING_DIM, samples_for_embedding_frames
from easy_oww.errors import AudioError, EasyOWWError
from easy_oww.features.frontend import FrontEnd
from easy_oww.features.store import (
    FeatureJob,
    embed_last,
    extract_features,
    open_features,
    pad_front,
)
from easy_oww.rng import item_rng

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ToneAudio:
    """Picklable audio_fn: a random-length, random-pitch tone with noise per (job, rng)."""

    fail_from: int | None = None  # raise for job numbers >= this (a crash mid-run)
    delay: float = 0.0  # seconds per clip (to kill a run while it works)

    def __call__(self, job: FeatureJob, rng: np.random.Generator) -> np.ndarray:
        number = int(job.key.split("_")[1])
        if self.fail_from is not None and number >= self.fail_from:
            raise RuntimeError(f"synthetic failure at {job.key}")
        if self.delay:
            time.sleep(self.delay)
        n = int(rng.uniform(0.3, 2.6) * 16000)
        t = np.arange(n) / 16000
        freq = 200 + 50 * job.label + rng.uniform(0, 400)
        sig = 0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(n)
        return (sig * 32767 * (1 + job.round) / 2).clip(-32768, 32767).astype(np.int16)


def make_jobs(n: int) -> list[FeatureJob]:
    return [FeatureJob(key=f"clip_{i:04d}", source=f"src/{i % 7}.wav", round=i % 2,
                       label=int(i % 3 == 0), kind="positive" if i % 3 == 0 else "negative")
            for i in range(n)]


def shard_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("shard_*.npy"))}


def test_one_and_two_workers_write_identical_shards(tmp_path: Path) -> None:
    jobs = make_jobs(37)
    one = extract_features(jobs, tmp_path / "one", ToneAudio(), seed=7, workers=1, shard_size=10)
    two = extract_features(jobs, tmp_path / "two", ToneAudio(), seed=7, workers=2, shard_size=10)
    assert one.count == two.count == 37 and one.shards == 4 and one.computed_shards == 4
    assert one.key == two.key
    a, b = shard_bytes(tmp_path / "one"), shard_bytes(tmp_path / "two")
    assert list(a) == [f"shard_{i:05d}.npy" for i in range(4)]
    assert a == b

    fs = open_features(tmp_path / "two")
    assert len(fs) == 37 and [s.shape[0] for s in fs.shards] == [10, 10, 10, 7]
    assert all(not s.flags.writeable for s in fs.shards)
    assert fs.keys == [j.key for j in jobs] and fs.kinds[0] == "positive"
    assert fs.labels.tolist() == [j.label for j in jobs]
    everything = fs.load_all()
    assert everything.shape == (37, 16, EMBEDDING_DIM) and everything.dtype == np.float32
    assert np.array_equal(fs.take([36, 0, 12, 12, -1]), everything[[36, 0, 12, 12, 36]])

    # Each row: the last 16 frames of the job's whole clip, zero-padded at the front if short.
    fe = FrontEnd()
    for i in (12, 13):
        audio = ToneAudio()(jobs[i], item_rng(7, jobs[i].key, jobs[i].round, "augment"))
        whole = fe.embed_clip(pad_front(audio, samples_for_embedding_frames(16)))
        assert np.array_equal(everything[i], whole[-16:])


def test_progress_and_up_to_date_rerun(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    jobs = make_jobs(12)
    extract_features(jobs, tmp_path, ToneAudio(), seed=1, workers=1, shard_size=5,
                     progress=lambda task, done, total: seen.append((done, total)))
    assert seen[0] == (0, 12) and seen[-1] == (12, 12)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("shard_*.npy")}
    again = extract_features(jobs, tmp_path, ToneAudio(), seed=1, workers=1, shard_size=5)
    assert again.computed_shards == 0
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("shard_*.npy")} == before


def test_a_different_plan_starts_over(tmp_path: Path) -> None:
    jobs = make_jobs(8)
    extract_features(jobs, tmp_path, ToneAudio(), seed=1, workers=1, shard_size=5)
    first = open_features(tmp_path).load_all()
    result = extract_features(jobs[:6], tmp_path, ToneAudio(), seed=2, workers=1, shard_size=5)
    assert result.computed_shards == 2
    fs = open_features(tmp_path)
    assert len(fs) == 6 and sorted(p.name for p in tmp_path.glob("shard_*")) == [
        "shard_00000.npy", "shard_00001.npy"]
    assert not np.array_equal(fs.load_all(), first[:6])  # new seed, new augmentation


def test_crash_mid_run_resumes_from_last_complete_shard(tmp_path: Path) -> None:
    jobs = make_jobs(25)
    clean = tmp_path / "clean"
    extract_features(jobs, clean, ToneAudio(), seed=3, workers=1, shard_size=8)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="synthetic failure at clip_0019"):
        extract_features(jobs, out, ToneAudio(fail_from=19), seed=3, workers=2, shard_size=8)
    assert sorted(shard_bytes(out)) == ["shard_00000.npy", "shard_00001.npy"]
    assert not (out / "manifest.json").exists()
    with pytest.raises(EasyOWWError, match="no complete feature store"):
        open_features(out)
    kept = {p.name: p.stat().st_ino for p in out.glob("shard_*.npy")}
    result = extract_features(jobs, out, ToneAudio(), seed=3, workers=2, shard_size=8)
    assert result.computed_shards == 2 and result.shards == 4
    assert {n: (out / n).stat().st_ino for n in kept} == kept  # not rewritten
    assert shard_bytes(out) == shard_bytes(clean)


def test_bad_audio_is_a_clear_error(tmp_path: Path) -> None:
    def float_audio(job: FeatureJob, rng: np.random.Generator) -> np.ndarray:
        return np.zeros(16000, dtype=np.float32)

    with pytest.raises(AudioError, match="clip_0000"):
        extract_features(make_jobs(2), tmp_path, float_audio, seed=0, workers=1)


def test_embed_last_pads_front_and_keeps_the_end() -> None:
    audio = np.arange(1, 6, dtype=np.int16)
    assert pad_front(audio, 8).tolist() == [0, 0, 0, 1, 2, 3, 4, 5]
    assert pad_front(audio, 3).tolist() == [1, 2, 3, 4, 5]
    fe = FrontEnd()
    rng = np.random.default_rng(0)
    long = (rng.standard_normal(48_000) * 2000).astype(np.int16)
    assert np.array_equal(embed_last(fe, long, 16), fe.embed_clip(long)[-16:])
    short = long[:20_000]
    padded = np.concatenate([np.zeros(31_712 - 20_000, dtype=np.int16), short])
    assert np.array_equal(embed_last(fe, short, 16), fe.embed_clip(padded))
    assert embed_last(fe, short, 16).shape == (16, EMBEDDING_DIM)


@dataclass
class BreaksInWorkers:
    """An audio_fn that cannot be unpickled in another process."""

    parent: int

    def __setstate__(self, state: dict[str, int]) -> None:
        if state["parent"] != os.getpid():
            raise RuntimeError("cannot load the audio function in a worker")
        self.__dict__.update(state)

    def __call__(self, job: FeatureJob, rng: np.random.Generator) -> np.ndarray:
        return np.zeros(32000, dtype=np.int16)


@pytest.mark.timeout(120)
def test_worker_start_failure_reaches_the_parent(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="cannot load the audio function"):
        extract_features(make_jobs(40), tmp_path, BreaksInWorkers(os.getpid()), seed=0,
                         workers=2, shard_size=8)
    assert not (tmp_path / "manifest.json").exists()


def test_bad_device_fails_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(EasyOWWError):
        extract_features(make_jobs(4), tmp_path, ToneAudio(), seed=0, workers=2,
                         device="tpu")
    assert not list(tmp_path.glob("shard_*"))


KILL_SCRIPT = """
import sys
from pathlib import Path
from easy_oww.features.store import extract_features
from tests.test_features_store import ToneAudio, make_jobs
extract_features(make_jobs(60), Path(sys.argv[1]), ToneAudio(delay=0.03), seed=5,
                 workers=2, shard_size=6)
"""


@pytest.mark.slow
def test_killed_run_resumes_with_identical_bytes(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(out)], cwd=ROOT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (out / "shard_00002.npy").exists():
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its spawn workers, like kill -9
        proc.wait()
    assert not (out / "manifest.json").exists()
    done_before = len(list(out.glob("shard_*.npy")))
    assert 3 <= done_before < 10
    result = extract_features(make_jobs(60), out, ToneAudio(), seed=5, workers=2, shard_size=6)
    assert result.computed_shards == 10 - done_before
    clean = tmp_path / "clean"
    extract_features(make_jobs(60), clean, ToneAudio(), seed=5, workers=1, shard_size=6)
    assert shard_bytes(out) == shard_bytes(clean)
    assert not list(out.glob(".*.tmp"))


def test_feature_workers_are_counted_as_before_the_shared_pool_map(monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    """`parallel.worker_count` gives the numbers the store's own formula gave."""
    from easy_oww import parallel
    from easy_oww.features import store

    def old(requested: int, todo: list[tuple[int, int, int]], cores: int) -> int:
        n_chunks = sum(-(-(hi - lo) // store.CHUNK_CLIPS) for _, lo, hi in todo)
        n_todo = sum(hi - lo for _, lo, hi in todo)
        auto = min(cores, max(1, n_todo // store.MIN_CLIPS_PER_WORKER))
        return max(1, min(requested if requested > 0 else auto, n_chunks))

    for cores in (1, 2, 16):
        monkeypatch.setattr(parallel, "usable_cores", lambda cores=cores: cores)
        for size in (0, 1, 17, 255, 256, 700, 5000, 100_000):
            for shard_size in (16, 130, 1024):
                todo = [(i, a, min(size, a + shard_size))
                        for i, a in enumerate(range(0, size, shard_size))]
                for requested in (0, 1, 3, 64):
                    assert store.feature_workers(requested, todo) == old(requested, todo, cores)
