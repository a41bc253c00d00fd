"""One synthesis interface over the backends, plus cached, process-parallel batch synthesis.

`synthesize(request)` returns 16 kHz mono int16 speech, trimmed to the speech plus
padding. `synthesize_many` writes one WAV per request into a cache folder, named by a
hash of (backend, voice, text, parameters), so a rerun synthesises nothing. Local
backends run in spawned worker processes (espeak-ng keeps global state, Piper's ONNX
sessions are per process); OpenAI requests are I/O bound and run in threads.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from easy_oww.audio.io import resample, to_int16, wav_bytes
from easy_oww.contract import SAMPLE_RATE
from easy_oww.fsutil import stable_hash, writer_alive
from easy_oww.parallel import process_executor, usable_cores
from easy_oww.progress import ProgressFn
from easy_oww.rng import item_rng
from easy_oww.tts.types import SynthesisRequest, Voice
from easy_oww.workspace import Workspace

log = logging.getLogger(__name__)

BACKENDS: dict[str, str] = {
    "espeak": "easy_oww.tts.espeak",
    "piper": "easy_oww.tts.piper_backend",
    "openai": "easy_oww.tts.openai_backend",
}
CACHE_VERSION = 1  # bump when trimming/levels change, to invalidate cached clips
BACKEND_VERSIONS = {"piper": 2}  # per backend; Piper 2: noise from seeded graph inputs
PAD_SECONDS = 0.1
PEAK = 0.9
TRIM_DB = 40.0  # frames quieter than peak-40 dB at the edges are silence
BATCH = 16  # requests per worker task
WAV_HEADER_BYTES = 44
WORKER_MAX_BATCHES = 400  # a worker process is replaced after this many batches
ESPEAK_CLIPS_PER_WORKER = 500  # automatic worker count: no process for fewer clips than this


def backend_module(name: str) -> ModuleType:
    if name not in BACKENDS:
        raise ValueError(f"unknown TTS backend {name!r} (known: {', '.join(BACKENDS)})")
    return importlib.import_module(BACKENDS[name])


def list_voices(workspace: Workspace | None = None,
                backends: Sequence[str] = ("espeak", "piper"), *,
                openai_model: str = "gpt-4o-mini-tts") -> list[Voice]:
    """Installed, usable voices; optional backends that are not installed are skipped
    (OpenAI counts as installed when httpx is and OPENAI_API_KEY is set)."""
    voices: list[Voice] = []
    for name in backends:
        mod = backend_module(name)
        if not mod.available():
            log.info("TTS backend %s is not available; skipping it", name)
            continue
        if name == "piper":
            voices.extend(mod.list_voices(workspace.voices if workspace else None))
        elif name == "openai":
            voices.extend(mod.list_voices(openai_model))
        else:
            voices.extend(mod.list_voices())
    return voices


def trim_silence(audio: np.ndarray, sr: int = SAMPLE_RATE, pad_s: float = PAD_SECONDS,
                 db: float = TRIM_DB) -> np.ndarray:
    """Cut leading/trailing silence (10 ms frames below peak - `db`), keep `pad_s` around."""
    frame = max(1, sr // 100)
    n = len(audio) // frame
    if n == 0:
        return audio
    frames = audio[: n * frame].astype(np.float64).reshape(n, frame)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    peak = float(rms.max())
    if peak <= 1e-6:
        return audio
    loud = np.flatnonzero(rms >= peak * 10 ** (-db / 20))
    pad = int(pad_s * sr)
    start = max(0, loud[0] * frame - pad)
    end = min(len(audio), (loud[-1] + 1) * frame + pad)
    out = audio[start:end]
    # pad with digital silence where the clip had less than `pad` around the speech
    before = pad - (loud[0] * frame - start)
    after = pad - (end - (loud[-1] + 1) * frame)
    zeros = np.zeros
    return np.concatenate([zeros(before, audio.dtype), out, zeros(max(0, after), audio.dtype)])


def postprocess(audio: np.ndarray, sr: int) -> np.ndarray:
    """Float audio at any rate -> 16 kHz int16, trimmed, padded, peak-normalised."""
    x = resample(np.asarray(audio, dtype=np.float32), sr, SAMPLE_RATE)
    x = trim_silence(x)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 1e-6:
        x = x * (PEAK / peak)
    return to_int16(x)


def synthesize(request: SynthesisRequest) -> np.ndarray:
    """16 kHz mono int16 speech for one request."""
    if not request.text.strip():
        raise ValueError("cannot synthesise empty text")
    audio, sr = backend_module(request.voice.backend).synthesize(request)
    if len(audio) == 0:
        log.warning("%s produced no audio for %r", request.voice.id, request.text)
    return postprocess(audio, sr)


def cache_key(request: SynthesisRequest) -> str:
    versions = {"v": CACHE_VERSION}
    if request.voice.backend in BACKEND_VERSIONS:
        versions["backend_v"] = BACKEND_VERSIONS[request.voice.backend]
    return stable_hash({**versions, **request.params()})


def cache_path(cache_dir: Path, request: SynthesisRequest) -> Path:
    return Path(cache_dir) / f"{cache_key(request)}.wav"


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
    import time

    now = time.time()
    for tmp in cache_dir.glob(".*.tmp"):
        try:
            if now - tmp.stat().st_mtime > age_s or not writer_alive(tmp):
                tmp.unlink()
        except OSError:
            pass


def _worker_init(threads: int) -> None:
    from easy_oww.tts import piper_backend

    piper_backend.set_threads(threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, threads)))


def _run_batch(batch: list[tuple[int, SynthesisRequest]]) -> list[tuple[int, np.ndarray]]:
    """Worker task (top level, so spawn can import it)."""
    return [(i, synthesize(r)) for i, r in batch]


def resolve_workers(workers: int, n_tasks: int) -> int:
    cpus = usable_cores()
    w = cpus if workers <= 0 else workers
    return max(1, min(w, n_tasks))


def synthesize_many(requests: Sequence[SynthesisRequest], cache_dir: Path, *, workers: int = 0,
                    progress: ProgressFn | None = None,
                    openai_concurrency: int = 5,
                    openai_settings: Any = None) -> list[Path]:
    """Synthesise every request into `cache_dir`; return WAV paths in request order.

    Cached clips are reused (a rerun does no synthesis). `workers` = 0 uses all CPUs;
    1 runs in this process. Only this process writes files (atomically). OpenAI requests
    use `openai_settings` (an openai_backend.Settings; default: from the environment).
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_old_temps(cache_dir)
    paths = [cache_path(cache_dir, r) for r in requests]
    todo: dict[Path, int] = {}
    for i, p in enumerate(paths):
        if p not in todo and not is_cached(p):
            todo[p] = i
    total, done = len(set(paths)), len(set(paths)) - len(todo)
    report = progress or (lambda task, d, t: None)
    report("tts", done, total)
    remote = [i for i in todo.values() if requests[i].voice.backend == "openai"]
    local = [i for i in todo.values() if requests[i].voice.backend != "openai"]
    log.debug("tts: %d cached, %d local and %d remote to synthesise", done, len(local),
              len(remote))

    def save(i: int, audio: np.ndarray) -> None:
        nonlocal done
        write_clip(paths[i], audio)
        done += 1
        report("tts", done, total)

    _run_local(requests, local, workers, save)
    if remote:
        from easy_oww.tts import openai_backend

        openai_backend.synthesize_indexed(requests, remote, save,
                                          concurrency=openai_concurrency,
                                          settings=openai_settings)
    return paths


def _run_local(requests: Sequence[SynthesisRequest], indices: list[int], workers: int,
               save: Callable[[int, np.ndarray], None]) -> None:
    if not indices:
        return
    batches = [[(i, requests[i]) for i in indices[k:k + BATCH]]
               for k in range(0, len(indices), BATCH)]
    # starting a worker costs about a second; espeak-ng makes ~200 clips in that time
    fast = all(requests[i].voice.backend == "espeak" for i in indices)
    per_worker = ESPEAK_CLIPS_PER_WORKER if fast and workers <= 0 else 1
    n_workers = resolve_workers(workers, min(len(batches), -(-len(indices) // per_worker)))
    if n_workers == 1:
        for batch in batches:
            for i, audio in _run_batch(batch):
                save(i, audio)
        return
    threads = max(1, usable_cores() // n_workers)
    # A fresh pool every WORKER_MAX_BATCHES batches per worker: espeak-ng leaks ~3 KB per
    # voice load. (Not max_tasks_per_child: it deadlocks in CPython 3.11-3.14, gh-115634.)
    per_pool = WORKER_MAX_BATCHES * n_workers
    for start in range(0, len(batches), per_pool):
        _run_pool(batches[start:start + per_pool], n_workers, threads, save)


def _run_pool(batches: list[list[tuple[int, SynthesisRequest]]], n_workers: int, threads: int,
              save: Callable[[int, np.ndarray], None]) -> None:
    # on an error, Ctrl-C or a stop signal the executor cancels the rest and ends its
    # workers at once; they also die with this process (easy_oww.parallel)
    with process_executor(n_workers, _worker_init, (threads,)) as pool:
        futures = [pool.submit(_run_batch, b) for b in batches]
        for fut in cf.as_completed(futures):
            for i, audio in fut.result():
                save(i, audio)


def plan_requests(texts: Sequence[str], voices: Sequence[Voice], n: int, *, seed: int,
                  speed: tuple[float, float], pitch: tuple[float, float],
                  variation: tuple[float, float] = (0.0, 1.0),
                  balance_families: bool = False,
                  family_cap: int | None = None) -> list[SynthesisRequest]:
    """`n` requests spread evenly over voices and texts, with prosody jitter per item.

    Voice i % V (in a seeded order) meets text (i + i // V) % T, so every voice says
    every text before any pair repeats (when n allows). With `balance_families`, request i
    goes to family i % F (in a seeded order) and, within it, to its voices in turn, so each
    voice family (`Voice.family`) says an equal share whatever its number of voices.
    `family_cap` bounds the distinct requests of each family but espeak-ng (whose synthesis
    costs next to nothing): past it, a family's requests repeat its first `family_cap` ones
    (the same clip, augmented afresh downstream). Deterministic per seed.
    """
    if not texts or not voices:
        raise ValueError("plan_requests needs at least one text and one voice")
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
        if family_cap is not None and voice.family != "espeak-ng" and len(done) >= family_cap:
            out.append(done[count[voice.family] % family_cap])
            continue
        req = SynthesisRequest(
            text=texts[int(t_perm[(i + i // V) % T])], voice=voice,
            speed=round(float(s), 3), pitch=round(float(p), 3), variation=round(float(var), 3),
            seed=int(rng.integers(0, 2**31 - 1)))
        done.append(req)
        out.append(req)
    return out
