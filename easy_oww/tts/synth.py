"""One synthesis interface over the backends, plus cached, parallel batch synthesis.

`synthesize(request)` returns 16 kHz mono int16 speech, trimmed to the speech plus
padding (`easy_oww.tts.postprocess`). `synthesize_many` writes one WAV per request into a
cache folder, named by a hash of (backend, voice, text, parameters), so a rerun synthesises
nothing. Every engine is reached through its `Backend` (`easy_oww.tts.registry`) and runs
as it declares (`Backend.concurrency`): local CPU engines in spawned worker processes
(`easy_oww.parallel.ordered_map`; espeak-ng keeps global state, Piper's ONNX sessions are
per process), remote ones (OpenAI) in the backend's own threads. Only this process writes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from easy_oww.audio.io import wav_bytes
from easy_oww.fsutil import stable_hash, writer_alive
from easy_oww.parallel import ordered_map, usable_cores, worker_count
from easy_oww.progress import ProgressFn
from easy_oww.rng import item_rng
from easy_oww.tts.postprocess import PAD_SECONDS, postprocess, trim_silence
from easy_oww.tts.registry import Registry, get_backend, make_registry
from easy_oww.tts.types import Backend, SynthesisRequest, Voice
from easy_oww.workspace import Workspace

log = logging.getLogger(__name__)

__all__ = ["PAD_SECONDS", "cache_key", "cache_path", "list_voices", "plan_requests",
           "postprocess", "scaled_cap", "synthesize", "synthesize_many", "trim_silence",
           "write_clip"]

CACHE_VERSION = 1  # bump when trimming/levels change, to invalidate cached clips
BATCH = 16  # requests per worker task
WAV_HEADER_BYTES = 44
WORKER_MAX_BATCHES = 400  # a worker process is replaced after this many batches
Batch = tuple[Backend, list[tuple[int, SynthesisRequest]]]
Save = Callable[[int, np.ndarray], None]


def list_voices(workspace: Workspace | None = None,
                backends: Sequence[str] = ("espeak", "piper"), *,
                registry: Registry | None = None) -> list[Voice]:
    """Installed, usable voices of `backends` (names in `registry`, default
    `make_registry()`); unavailable ones are skipped with a log record saying why
    (OpenAI counts as available when httpx is installed and OPENAI_API_KEY is set)."""
    reg = make_registry() if registry is None else registry
    voices: list[Voice] = []
    for name in backends:
        backend = get_backend(name, reg)
        availability = backend.availability()
        if not availability:
            log.info("TTS backend %s is not available (%s); skipping it", name,
                     availability.reason)
            continue
        voices.extend(backend.list_voices(workspace))
    return voices


def _check_text(request: SynthesisRequest) -> None:
    if not request.text.strip():
        raise ValueError("cannot synthesise empty text")


def _finish(request: SynthesisRequest, audio: np.ndarray, sr: int) -> np.ndarray:
    if len(audio) == 0:
        log.warning("%s produced no audio for %r", request.voice.id, request.text)
    return postprocess(audio, sr)


def synthesize(request: SynthesisRequest, registry: Registry | None = None) -> np.ndarray:
    """16 kHz mono int16 speech for one request."""
    _check_text(request)
    audio, sr = get_backend(request.voice.backend, registry).synthesize(request)
    return _finish(request, audio, sr)


def cache_key(request: SynthesisRequest, registry: Registry | None = None) -> str:
    """The clip's name: a hash of the request and of its backend's `cache_version`."""
    reg = make_registry() if registry is None else registry
    versions = {"v": CACHE_VERSION}
    backend = reg.get(request.voice.backend)
    if backend is not None and backend.cache_version is not None:
        versions["backend_v"] = backend.cache_version
    return stable_hash({**versions, **request.params()})


def cache_path(cache_dir: Path, request: SynthesisRequest,
               registry: Registry | None = None) -> Path:
    return Path(cache_dir) / f"{cache_key(request, registry)}.wav"


def is_cached(path: Path) -> bool:
    try:
        return path.stat().st_size > WAV_HEADER_BYTES
    except OSError:
        return False


def write_clip(path: Path, audio: np.ndarray) -> None:
    """Atomic (temp file + rename) but not fsynced: a clip is cheap to redo, an fsync per
    clip costs more than synthesising it. A kill never leaves a partial clip under its name;
    a power cut may lose recent clips, which `is_cached` then sends back to synthesis."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(wav_bytes(audio))
        os.replace(tmp, path)
    except BaseException:  # a full disk, Ctrl-C, a stop signal: no partial clip stays
        tmp.unlink(missing_ok=True)
        raise


def _remove_old_temps(cache_dir: Path, age_s: float = 3600.0) -> None:
    """Temp files of killed runs: those whose writer (the pid in the name) is gone, and
    any older than `age_s` (the pid may be reused); others belong to a live run sharing
    the cache."""
    now = time.time()
    for tmp in cache_dir.glob(".*.tmp"):
        try:
            if now - tmp.stat().st_mtime > age_s or not writer_alive(tmp):
                tmp.unlink()
        except OSError:
            pass


def synthesize_many(requests: Sequence[SynthesisRequest], cache_dir: Path, *, workers: int = 0,
                    progress: ProgressFn | None = None,
                    registry: Registry | None = None) -> list[Path]:
    """Synthesise every request into `cache_dir`; return WAV paths in request order.

    Cached clips are reused (a rerun does no synthesis). `workers` = 0 sizes the process
    pool of local engines by itself (all usable cores, fewer for cheap clips); 1 runs them
    in this process. Engines come from `registry` (default `make_registry()`; pass
    `make_registry(config.tts)` for the project's OpenAI model and concurrency).
    """
    reg = make_registry() if registry is None else registry
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_old_temps(cache_dir)
    paths = [cache_path(cache_dir, r, reg) for r in requests]
    todo: dict[Path, int] = {}
    for i, p in enumerate(paths):
        if p not in todo and not is_cached(p):
            _check_text(requests[i])
            todo[p] = i
    total, done = len(set(paths)), len(set(paths)) - len(todo)
    report = progress or (lambda task, d, t: None)
    report("tts", done, total)
    groups: dict[str, list[int]] = {}
    for i in todo.values():
        groups.setdefault(requests[i].voice.backend, []).append(i)
    work = [(get_backend(name, reg), idx) for name, idx in groups.items()]
    pooled = [(b, idx) for b, idx in work if b.concurrency.kind == "processes"]
    threaded = [(b, idx) for b, idx in work if b.concurrency.kind == "threads"]
    log.debug("tts: %d cached, %d in processes and %d in threads to synthesise", done,
              sum(len(idx) for _, idx in pooled), sum(len(idx) for _, idx in threaded))

    def save(i: int, audio: np.ndarray) -> None:
        nonlocal done
        write_clip(paths[i], audio)
        done += 1
        report("tts", done, total)

    _run_processes(requests, pooled, workers, save)
    for backend, indices in threaded:
        _run_threads(backend, requests, indices, save)
    return paths


def _worker_init(threads: int, backends: tuple[Backend, ...]) -> None:
    for backend in backends:
        backend.init_worker(threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, threads)))


def _run_batch(task: Batch) -> list[tuple[int, np.ndarray]]:
    """Worker task (top level, so spawn can import it): one backend's batch, post-processed."""
    backend, batch = task
    reqs = [r for _, r in batch]
    return [(batch[k][0], _finish(reqs[k], audio, sr))
            for k, audio, sr in backend.synthesize_batch(reqs)]


Groups = list[tuple[Backend, list[int]]]  # a backend and the request indices it makes


def _process_count(groups: Groups, n_tasks: int, workers: int) -> int:
    """Workers for the process pool: `workers`, or (0) one per usable core but no more
    than one per `clips_per_worker` clips of the cheapest-to-start group, and no more than
    a backend's declared `concurrency.workers` nor than there are batches."""
    n_clips = sum(len(idx) for _, idx in groups)
    per_worker = min(b.concurrency.clips_per_worker for b, _ in groups)
    n = min(worker_count(workers, n_clips, tasks_per_worker=per_worker), n_tasks)
    caps = [b.concurrency.workers for b, _ in groups if b.concurrency.workers > 0]
    return max(1, min([n, *caps]))


def _run_processes(requests: Sequence[SynthesisRequest], groups: Groups, workers: int,
                   save: Save) -> None:
    if not groups:
        return
    tasks: list[Batch] = [(b, [(i, requests[i]) for i in idx[k:k + BATCH]])
                          for b, idx in groups for k in range(0, len(idx), BATCH)]
    n = _process_count(groups, len(tasks), workers)
    threads = max(1, usable_cores() // n)
    init = _worker_init if n > 1 else None  # in this process: leave its settings alone
    # A fresh pool every WORKER_MAX_BATCHES batches per worker: espeak-ng leaks ~3 KB per
    # voice load. (Not max_tasks_per_child: it deadlocks in CPython 3.11-3.14, gh-115634.)
    # On an error, Ctrl-C or a stop signal the pool ends at once (easy_oww.parallel).
    per_pool = WORKER_MAX_BATCHES * n
    for start in range(0, len(tasks), per_pool):
        results = ordered_map(_run_batch, tasks[start:start + per_pool], workers=n,
                              initializer=init, initargs=(threads, tuple(b for b, _ in groups)))
        try:
            for batch in results:
                for i, audio in batch:
                    save(i, audio)
        finally:
            _close(results)


def _run_threads(backend: Backend, requests: Sequence[SynthesisRequest], indices: list[int],
                 save: Save) -> None:
    reqs = [requests[i] for i in indices]
    raw = backend.synthesize_batch(reqs)
    try:
        for k, audio, sr in raw:
            save(indices[k], _finish(reqs[k], audio, sr))
    finally:
        _close(raw)


def _close(results: Iterator[object]) -> None:
    """Close a generator now (its pool or threads stop) rather than when it is collected."""
    close = getattr(results, "close", None)
    if close is not None:
        close()


def scaled_cap(cap: int, backend: Backend | None) -> int:
    """A family's distinct-clip cap for its backend: `cap` over its `relative_cost`."""
    cost = max(1.0, float(backend.relative_cost)) if backend is not None else 1.0
    return max(1, int(np.ceil(cap / cost)))


def plan_requests(texts: Sequence[str], voices: Sequence[Voice], n: int, *, seed: int,
                  speed: tuple[float, float], pitch: tuple[float, float],
                  variation: tuple[float, float] = (0.0, 1.0),
                  balance_families: bool = False,
                  family_cap: int | None = None,
                  registry: Registry | None = None) -> list[SynthesisRequest]:
    """`n` requests spread evenly over voices and texts, with prosody jitter per item.

    Voice i % V (in a seeded order) meets text (i + i // V) % T, so every voice says
    every text before any pair repeats (when n allows). With `balance_families`, request i
    goes to family i % F (in a seeded order) and, within it, to its voices in turn, so each
    voice family (`Voice.family`) says an equal share whatever its number of voices.
    `family_cap` bounds the distinct requests of each family whose backend is not `cheap`
    (all but espeak-ng, whose synthesis costs next to nothing; backends from `registry`):
    past it, a family's requests repeat its first `family_cap` ones (the same clip,
    augmented afresh downstream); a backend that costs more than Piper
    (`Backend.relative_cost`) gets the cap divided by its cost. Deterministic per seed.
    """
    if not texts or not voices:
        raise ValueError("plan_requests needs at least one text and one voice")
    reg = make_registry() if registry is None else registry
    cheap = {v.backend for v in voices if v.backend in reg and reg[v.backend].cheap}
    caps = {} if family_cap is None else {
        v.backend: scaled_cap(family_cap, reg.get(v.backend))
        for v in voices}
    order = item_rng(seed, "plan-order", 0, stream="tts")
    v_perm = order.permutation(len(voices))
    t_perm = order.permutation(len(texts))
    ordered = [voices[int(k)] for k in v_perm]
    V, T = len(voices), len(texts)
    families: dict[str, list[Voice]] = {}
    for v in ordered:
        families.setdefault(v.family, []).append(v)
    groups = list(families.values())
    out: list[SynthesisRequest] = []
    per_family: dict[str, list[SynthesisRequest]] = {}
    count: dict[str, int] = {}
    for i in range(n):
        rng = item_rng(seed, i, 0, stream="tts-plan")
        s, p, var = rng.uniform(*speed), rng.uniform(*pitch), rng.uniform(*variation)
        if balance_families and len(groups) > 1:
            group = groups[i % len(groups)]
            voice = group[(i // len(groups)) % len(group)]
        else:
            voice = ordered[i % V]
        done = per_family.setdefault(voice.family, [])
        count[voice.family] = count.get(voice.family, -1) + 1
        cap = caps.get(voice.backend)
        if cap is not None and voice.backend not in cheap and len(done) >= cap:
            out.append(done[count[voice.family] % cap])
            continue
        req = SynthesisRequest(
            text=texts[int(t_perm[(i + i // V) % T])], voice=voice,
            speed=round(float(s), 3), pitch=round(float(p), 3), variation=round(float(var), 3),
            seed=int(rng.integers(0, 2**31 - 1)))
        done.append(req)
        out.append(req)
    return out
