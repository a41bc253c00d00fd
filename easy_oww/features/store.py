"""Parallel, resumable feature extraction into float32 [n, frames, 96] shards.

Safe on every OS (shared/DESIGN.md, Contract 3): worker *processes* (spawn), each with its
own ONNX Runtime session and a fixed intra-op thread count, turn jobs into audio (via the
caller's picklable ``audio_fn``) and audio into embeddings, and send the arrays back. The
parent alone writes: one ``.npy`` file per shard, written to a temporary name and renamed,
never memory-mapped for writing, never resized. Readers open shards read-only.

Layout of ``out_dir``::

    plan.json           key (hash of jobs + seed + frames + fingerprint), counts
    index.json          per clip: key, round, label, kind (in job order)
    shard_00000.npy ... float32 [shard_size (last: rest), frames, 96]
    manifest.json       written last, when every shard is complete

A rerun with the same plan key skips complete shards (a killed run resumes from the last
complete shard); a different key starts over. Every clip's randomness comes from
``item_rng(seed, job.key, job.round, "augment")``, so the bytes are the same with any
number of workers. At most a bounded window of chunks is in flight, so memory stays flat
however many clips there are.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww.contract import EMBEDDING_DIM, MODEL_INPUT_FRAMES, samples_for_embedding_frames
from easy_oww.errors import AudioError, ConfigError, EasyOWWError
from easy_oww.features import models
from easy_oww.features.frontend import FrontEnd
from easy_oww.fsutil import (
    atomic_open,
    atomic_write_json,
    read_json,
    remove_stale_temps,
    stable_hash,
)
from easy_oww.parallel import ordered_map, worker_count
from easy_oww.progress import ProgressFn, no_progress
from easy_oww.rng import item_rng

log = logging.getLogger(__name__)

CHUNK_CLIPS = 16  # clips per worker task
MIN_CLIPS_PER_WORKER = 256  # auto: fewer clips per worker and starting one costs more than it saves
WINDOW_PER_WORKER = 3  # tasks in flight per worker (bounded memory, no idle workers)
PLAN, INDEX, MANIFEST = "plan.json", "index.json", "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class FeatureJob:
    """One clip to embed: where its audio comes from and which augmentation round."""

    key: str
    source: str
    round: int
    label: int
    kind: str = ""


AudioFn = Callable[[FeatureJob, np.random.Generator], np.ndarray]
"""Picklable callable: (job, rng) -> int16 1-D audio at 16 kHz (augmented as it likes)."""


@dataclass(frozen=True)
class FeatureResult:
    out_dir: Path
    count: int
    frames: int
    shards: int
    computed_shards: int
    key: str
    seconds: float


@dataclass
class FeatureSet:
    """Read-only view of an extracted feature store."""

    out_dir: Path
    shards: list[np.ndarray]
    labels: np.ndarray
    keys: list[str]
    rounds: np.ndarray
    kinds: list[str]
    frames: int
    _offsets: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._offsets = np.cumsum([0] + [s.shape[0] for s in self.shards])

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def load_all(self) -> np.ndarray:
        """Every clip's features in memory, float32 [n, frames, 96]."""
        if not self.shards:
            return np.zeros((0, self.frames, EMBEDDING_DIM), dtype=np.float32)
        return np.concatenate([np.asarray(s) for s in self.shards])

    def take(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """The clips at `indices` (any order, repeats allowed), float32 [k, frames, 96]."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"feature index out of range for {len(self)} clips")
        idx = np.where(idx < 0, idx + len(self), idx)
        return take_rows(self.shards, self._offsets, idx, self.frames)


def take_rows(shards: Sequence[np.ndarray], offsets: np.ndarray, rows: np.ndarray,
              frames: int) -> np.ndarray:
    """Rows `rows` (indices over the shards end to end; `offsets`: each shard's first)
    as float32 [k, frames, 96], each shard read in sorted order (kind to memory maps)."""
    out = np.empty((len(rows), frames, EMBEDDING_DIM), dtype=np.float32)
    shard_of = np.searchsorted(offsets, rows, side="right") - 1
    for s in np.unique(shard_of):
        sel = np.flatnonzero(shard_of == s)
        local = rows[sel] - offsets[s]
        order = np.argsort(local)
        out[sel[order]] = shards[s][local[order]]
    return out


# -- workers -------------------------------------------------------------------------
_worker: dict[str, Any] = {}


def _init_worker(audio_fn: bytes, seed: int, frames: int, device: str, threads: int) -> None:
    # Arguments that fail to unpickle in a spawned worker would make the pool respawn it
    # forever, so the audio function travels pickled and is unpickled here, where
    # `ordered_map` turns any error into the first task's.
    _setup(pickle.loads(audio_fn), seed, frames, device, threads)


def _setup(audio_fn: AudioFn, seed: int, frames: int, device: str, threads: int) -> None:
    _worker.update(audio_fn=audio_fn, seed=seed, frames=frames,
                   frontend=FrontEnd(threads=threads, device=device))


def pad_front(audio: np.ndarray, samples: int) -> np.ndarray:
    """`audio` zero-padded at the front to at least `samples` samples."""
    if audio.shape[0] >= samples:
        return audio
    return np.concatenate([np.zeros(samples - audio.shape[0], dtype=np.int16), audio])


def _clip_audio(job: FeatureJob, audio_fn: AudioFn, seed: int) -> np.ndarray:
    audio = np.asarray(audio_fn(job, item_rng(seed, job.key, job.round, "augment")))
    if audio.dtype != np.int16 or audio.ndim != 1:
        raise AudioError(f"audio for clip {job.key!r} (round {job.round}) is "
                         f"{audio.dtype} {audio.shape}, expected 1-D int16")
    return audio


def embed_last(frontend: FrontEnd, audio: np.ndarray, frames: int) -> np.ndarray:
    """The last `frames` embeddings of a whole clip, padded at the front when too short.

    The clip is embedded whole (its own melspectrogram floor, frames on openWakeWord's grid
    from the clip's first sample), so a 2 s clip gives exactly ``embed_clips``' 16 frames.
    """
    clip = pad_front(audio, samples_for_embedding_frames(frames))
    out: np.ndarray = frontend.embed_clip(clip)[-frames:]
    return out


def _embed_chunk(jobs: list[FeatureJob]) -> np.ndarray:
    """Worker task: each job's audio, embedded whole, its last `frames` frames kept."""
    w = _worker
    return np.stack([
        embed_last(w["frontend"], _clip_audio(j, w["audio_fn"], w["seed"]), w["frames"])
        for j in jobs
    ])


# -- plan, resume, manifest ----------------------------------------------------------
def plan_key(jobs: Sequence[FeatureJob], *, seed: int, frames: int, fingerprint: Any = None) -> str:
    """The hash that names a feature store's content (jobs, seed, frames, models, extras)."""
    return stable_hash({
        "version": FORMAT_VERSION, "seed": seed, "frames": frames, "fingerprint": fingerprint,
        "models": [models.MEL_SHA256, models.EMBEDDING_SHA256],
        "jobs": [[j.key, j.source, j.round, j.label, j.kind] for j in jobs],
    })


def _shard_path(out_dir: Path, i: int) -> Path:
    return out_dir / f"shard_{i:05d}.npy"


def _shard_complete(path: Path, rows: int, frames: int) -> bool:
    try:
        arr = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return False
    ok = bool(arr.shape == (rows, frames, EMBEDDING_DIM) and arr.dtype == np.float32)
    del arr
    return ok


def _prepare(out_dir: Path, key: str, jobs: Sequence[FeatureJob], plan: dict[str, Any]) -> None:
    """Start a new plan (removing another plan's files) or keep the matching one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out_dir)
    old = out_dir / PLAN
    if old.is_file() and read_json(old).get("key") == key:
        return
    for p in [out_dir / MANIFEST, old, *out_dir.glob("shard_*.npy")]:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    atomic_write_json(out_dir / INDEX, {
        "keys": [j.key for j in jobs], "rounds": [j.round for j in jobs],
        "labels": [j.label for j in jobs], "kinds": [j.kind for j in jobs],
    })
    atomic_write_json(old, plan)


def _embed_task(task: tuple[int, list[FeatureJob]]) -> tuple[int, np.ndarray]:
    """Worker task: a chunk of one shard, embedded; returns (shard, features)."""
    shard, jobs = task
    return shard, _embed_chunk(jobs)


def _chunks(todo: list[tuple[int, int, int]], jobs: Sequence[FeatureJob]
            ) -> Iterator[tuple[int, list[FeatureJob]]]:
    for shard, lo, hi in todo:
        for a in range(lo, hi, CHUNK_CLIPS):
            yield shard, list(jobs[a:min(hi, a + CHUNK_CLIPS)])


# -- the entry point -----------------------------------------------------------------
def extract_features(
    jobs: Sequence[FeatureJob],
    out_dir: Path,
    audio_fn: AudioFn,
    *,
    seed: int,
    workers: int = 0,
    shard_size: int = 1024,
    frames: int = MODEL_INPUT_FRAMES,
    device: str = "cpu",
    threads: int = 1,
    fingerprint: Any = None,
    progress: ProgressFn | None = None,
) -> FeatureResult:
    """Embed every job's audio into shards under `out_dir`; resumable, same bytes for any workers.

    `workers` 0 means one per CPU core; 1 runs in this process. `fingerprint` is any
    JSON-able value that also decides the content (e.g. the augmentation config): a change
    starts the store over.
    """
    started = time.perf_counter()
    if shard_size < 1 or frames < 1:
        raise ConfigError("shard_size and frames must be >= 1")
    out_dir = Path(out_dir)
    progress = progress or no_progress
    key = plan_key(jobs, seed=seed, frames=frames, fingerprint=fingerprint)
    bounds = [(i, a, min(len(jobs), a + shard_size))
              for i, a in enumerate(range(0, len(jobs), shard_size))]
    plan = {"key": key, "count": len(jobs), "frames": frames, "shard_size": shard_size,
            "shards": len(bounds), "version": FORMAT_VERSION}
    models.model_files()  # fail before any work when the models are missing or wrong
    FrontEnd(threads=threads, device=device)  # and when the device or threads are wrong
    _prepare(out_dir, key, jobs, plan)
    manifest = out_dir / MANIFEST
    if manifest.is_file() and read_json(manifest).get("key") == key:
        log.info("features up to date in %s (%d clips)", out_dir, len(jobs))
        progress("features", len(jobs), len(jobs))
        return FeatureResult(out_dir, len(jobs), frames, len(bounds), 0, key,
                             time.perf_counter() - started)
    todo = [b for b in bounds if not _shard_complete(_shard_path(out_dir, b[0]), b[2] - b[1], frames)]
    done = len(jobs) - sum(hi - lo for _, lo, hi in todo)
    log.info("features: %d clips, %d of %d shards to compute", len(jobs), len(todo), len(bounds))
    progress("features", done, len(jobs))
    n_workers = feature_workers(workers, todo)
    results = _run(todo, jobs, audio_fn, seed, frames, device, threads, n_workers)
    try:
        _write_shards(out_dir, todo, results, done, len(jobs), progress)
    finally:
        results.close()  # stops the pool at once on errors and Ctrl-C
    atomic_write_json(manifest, {**plan, "complete": True, "models": {
        "melspectrogram": models.MEL_SHA256, "embedding": models.EMBEDDING_SHA256}})
    return FeatureResult(out_dir, len(jobs), frames, len(bounds), len(todo), key,
                         time.perf_counter() - started)


def feature_workers(requested: int, todo: Sequence[tuple[int, int, int]]) -> int:
    """Workers for the (shard, lo, hi) ranges in `todo`: `requested` (at most one per chunk
    of CHUNK_CLIPS clips), or with 0 a core per MIN_CLIPS_PER_WORKER clips."""
    if requested > 0:
        return worker_count(requested, sum(-(-(hi - lo) // CHUNK_CLIPS) for _, lo, hi in todo))
    n_clips = sum(hi - lo for _, lo, hi in todo)
    return worker_count(0, n_clips, tasks_per_worker=MIN_CLIPS_PER_WORKER)


def _run(todo: list[tuple[int, int, int]], jobs: Sequence[FeatureJob], audio_fn: AudioFn,
         seed: int, frames: int, device: str, threads: int, n_workers: int
         ) -> Generator[tuple[int, np.ndarray], None, None]:
    """Chunks' features in order, from this process or a spawn pool (`ordered_map`: a
    bounded window of chunks in flight, workers that die with us)."""
    tasks = _chunks(todo, jobs)
    if n_workers == 1 or len(todo) == 0:
        yield from ordered_map(_embed_task, tasks, workers=1, initializer=_setup,
                               initargs=(audio_fn, seed, frames, device, threads),
                               cleanup=_worker.clear)
        return
    init = (pickle.dumps(audio_fn), seed, frames, device, threads)
    yield from ordered_map(_embed_task, tasks, workers=n_workers, initializer=_init_worker,
                           initargs=init, in_flight_per_worker=WINDOW_PER_WORKER)


def _write_shards(out_dir: Path, todo: list[tuple[int, int, int]],
                  results: Generator[tuple[int, np.ndarray], None, None], done: int,
                  total: int, progress: ProgressFn) -> None:
    """Collect each shard's chunks and write it atomically as soon as it is whole."""
    sizes = {shard: hi - lo for shard, lo, hi in todo}
    parts: list[np.ndarray] = []
    current = -1
    for shard, feats in results:
        if shard != current:
            parts, current = [], shard
        parts.append(feats)
        done += feats.shape[0]
        if sum(p.shape[0] for p in parts) == sizes[shard]:
            data = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
            with atomic_open(_shard_path(out_dir, shard), "wb") as fh:
                np.save(fh, data)
            parts = []
        progress("features", done, total)


def open_features(out_dir: Path) -> FeatureSet:
    """Open a complete feature store read-only (shards memory-mapped, mode 'r')."""
    out_dir = Path(out_dir)
    manifest = out_dir / MANIFEST
    if not manifest.is_file():
        raise EasyOWWError(f"no complete feature store in {out_dir}",
                           "run the feature step (easy-oww train) to create or finish it")
    info = read_json(manifest)
    index = read_json(out_dir / INDEX)
    shards = [np.load(_shard_path(out_dir, i), mmap_mode="r") for i in range(info["shards"])]
    fs = FeatureSet(out_dir, shards, np.asarray(index["labels"], dtype=np.int64),
                    list(index["keys"]), np.asarray(index["rounds"], dtype=np.int64),
                    list(index["kinds"]), int(info["frames"]))
    if len(fs) != info["count"]:
        raise EasyOWWError(f"feature store {out_dir} is inconsistent ({len(fs)} of "
                           f"{info['count']} clips)", "delete it and rerun the feature step")
    return fs
