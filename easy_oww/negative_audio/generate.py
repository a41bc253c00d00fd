"""`ensure_negative_audio`: the long negative audio of a workspace, made once and cached.

Plans the TTS requests (`sentences`), synthesises them, makes the chunks (`chunks`) and
writes each chunk's WAV and embedding stream, the manifest last; a killed run resumes at
the first missing chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from easy_oww.audio.io import save_wav
from easy_oww.contract import FRAME_SAMPLES, SAMPLE_RATE
from easy_oww.fsutil import atomic_write_bytes, atomic_write_json, read_json, stable_hash
from easy_oww.negative_audio.chunks import chunk_results, pool_size
from easy_oww.negative_audio.sentences import (
    HOLDOUT_FRACTION,
    cap_families,
    default_voices,
    negative_texts,
)
from easy_oww.negative_audio.streams import VERSION, dipco_parts, npy_bytes
from easy_oww.negative_audio.types import LongAudio, NegativeAudio
from easy_oww.progress import ProgressFn
from easy_oww.workspace import Workspace

if TYPE_CHECKING:
    from easy_oww.augment.effects import VoiceShift
    from easy_oww.features.frontend import FrontEnd
    from easy_oww.tts.types import SynthesisRequest, Voice

log = logging.getLogger(__name__)

CHUNK_SECONDS = 300.0
SENTENCES_PER_HOUR = 150
MIN_SENTENCES = 40
MANIFEST = "manifest.json"

SynthFn = Callable[[Sequence["SynthesisRequest"], Path], Sequence[Path]]
"""Synthesise requests into a cache folder, returning one WAV path per request."""


def _default_synth(workers: int, progress: ProgressFn | None) -> SynthFn:
    def run(requests: Sequence[SynthesisRequest], cache_dir: Path) -> Sequence[Path]:
        from easy_oww.tts import synthesize_many

        return synthesize_many(requests, cache_dir, workers=workers, progress=progress)

    return run


def ensure_negative_audio(workspace: Workspace, *, hours: float, seed: int, exclude: str,
                          voices: Sequence[Voice] | None = None,
                          progress: ProgressFn | None = None, synth: SynthFn | None = None,
                          frontend: FrontEnd | None = None, include_dipco: bool = False,
                          holdout_fraction: float = HOLDOUT_FRACTION,
                          workers: int = 0,
                          sentences_per_hour: int = SENTENCES_PER_HOUR,
                          keep_audio: bool = True, balance_families: bool = False,
                          family_sentences: int | None = None,
                          rooms: Sequence[np.ndarray] = (),
                          room_probability: float = 0.0,
                          voice: VoiceShift | None = None) -> NegativeAudio:
    """The workspace's long negative test audio (generated on first use, then cached).

    `exclude` is the wake phrase: no sentence containing its words is spoken. `voices`
    default to the voices held out from training; `synth` replaces TTS (tests).
    `include_dipco` adds DiPCo sessions when downloaded (`easy-oww eval` does; their
    features are computed once, which takes minutes for the hours of audio).
    `sentences_per_hour` sizes the pool of distinct sentences (reused at other speeds,
    levels and backgrounds); training audio wants more variety than test audio.
    `keep_audio=False` keeps only the embeddings (training audio: ~115 MB less per hour).
    `balance_families` gives every voice family (`Voice.family`) an equal share of the
    speech; `family_sentences` then caps the distinct sentences of each family other than
    espeak-ng (whose synthesis is nearly free), which are reused more often instead.
    `rooms` (impulse responses) reverberate that share (`room_probability`) of the
    utterances (`chunks.make_chunk`); `voice` gives its share of them another voice, and
    its timbre share another timbre.
    """
    if hours <= 0:
        raise ValueError("hours must be positive")
    from easy_oww.tts import plan_requests
    from easy_oww.tts.registry import make_registry
    from easy_oww.tts.synth import cache_key

    vs = list(voices) if voices is not None else default_voices(workspace, seed,
                                                                 holdout_fraction)
    n_sent = max(MIN_SENTENCES, round(hours * sentences_per_hour))
    texts = negative_texts(n_sent, seed, exclude)
    requests = plan_requests(texts, vs, n_sent, seed=seed, speed=(0.85, 1.15),
                             pitch=(0.85, 1.15), balance_families=balance_families)
    if balance_families and family_sentences is not None:
        requests = cap_families(requests, family_sentences)
    registry = make_registry()  # clip keys carry each backend's cache_version
    key = stable_hash({"v": VERSION, "hours": round(hours, 4), "seed": seed,
                       "requests": [cache_key(r, registry) for r in requests],
                       **({} if keep_audio else {"audio": False}),
                       **({"balanced": True} if balance_families else {}),
                       **({"rooms": rooms_fingerprint(rooms), "room_p": round(room_probability, 4)}
                          if rooms and room_probability > 0 else {}),
                       **(voice.key() if voice is not None else {})})
    root = workspace.cache / "negative_audio" / key
    manifest = _load_manifest(root)
    if manifest is None:
        from easy_oww.fsutil import require_free_space

        require_free_space(root.parent, int(hours * (150e6 if keep_audio else 35e6) + 20e6),
                           "making negative test audio")  # WAV 115 MB/h, features, TTS
        manifest = _generate(root, requests, hours, seed, synth or _default_synth(workers, progress),
                             frontend, progress, keep_audio=keep_audio, workers=workers,
                             balance_families=balance_families, rooms=rooms,
                             room_probability=room_probability, voice=voice)
        manifest["voices"] = sorted({r.voice.id for r in requests})
        manifest["exclude"] = exclude
        atomic_write_json(root / MANIFEST, manifest)
    parts = [LongAudio(c["name"], root / c["audio"] if c["audio"] else None,
                       root / c["features"], c["hours"], "generated")
             for c in manifest["chunks"]]
    summary = {"generated_hours": round(sum(p.hours for p in parts), 4),
               "sentences": manifest["sentences"], "voices": len(manifest["voices"]),
               "cache": str(root)}
    if include_dipco:
        dipco = dipco_parts(workspace, frontend=frontend, progress=progress)
        parts += dipco
        summary["dipco_hours"] = round(sum(p.hours for p in dipco), 4)
    return NegativeAudio(root, tuple(parts), summary)


def rooms_fingerprint(rooms: Sequence[np.ndarray]) -> str:
    """16 hex digits identifying impulse responses (for cache keys)."""
    from easy_oww.augment.sources import fingerprint_arrays

    return fingerprint_arrays(("", room) for room in rooms)


def _load_manifest(root: Path) -> dict[str, Any] | None:
    path = root / MANIFEST
    if not path.is_file():
        return None
    data: dict[str, Any] = read_json(path)
    if all((c["audio"] is None or (root / c["audio"]).is_file())
           and (root / c["features"]).is_file() for c in data.get("chunks", [])):
        return data
    log.warning("negative test audio in %s is incomplete; regenerating the missing parts", root)
    return None


def _generate(root: Path, requests: Sequence[SynthesisRequest], hours: float, seed: int,
              synth: SynthFn, frontend: FrontEnd | None,
              progress: ProgressFn | None, *, keep_audio: bool = True,
              workers: int = 0, balance_families: bool = False,
              rooms: Sequence[np.ndarray] = (), room_probability: float = 0.0,
              voice: VoiceShift | None = None) -> dict[str, Any]:
    log.info("making %.2f h of negative audio (once per workspace) in %s", hours, root)
    clip_paths = [str(p) for p in synth(requests, root.parent / "tts")]
    families = [r.voice.family for r in requests] if balance_families else None
    total_s = hours * 3600.0
    n_chunks = max(1, int(np.ceil(total_s / CHUNK_SECONDS)))
    tasks = []
    for i in range(n_chunks):
        seconds = min(CHUNK_SECONDS, total_s - i * CHUNK_SECONDS)
        wav, npy = root / f"chunk_{i:03d}.wav", root / f"chunk_{i:03d}.npy"
        if not (npy.is_file() and (wav.is_file() or not keep_audio)):
            tasks.append((i, seconds))
    done = n_chunks - len(tasks)
    for i, feats, pcm in chunk_results(tasks, clip_paths, families, seed, keep_audio,
                                       frontend, workers, rooms, room_probability, voice):
        if pcm is not None:
            save_wav(root / f"chunk_{i:03d}.wav", pcm)
        atomic_write_bytes(root / f"chunk_{i:03d}.npy", npy_bytes(feats))  # last: complete
        done += 1
        if progress:
            progress("negative audio", done, n_chunks)
    chunks = []
    for i in range(n_chunks):
        wav, npy = root / f"chunk_{i:03d}.wav", root / f"chunk_{i:03d}.npy"
        frames = int(np.load(npy, mmap_mode="r").shape[0])
        chunks.append({"name": f"negative/{wav.name}", "audio": wav.name if keep_audio else None,
                       "features": npy.name,
                       "hours": frames * FRAME_SAMPLES / SAMPLE_RATE / 3600.0})
    return {"version": VERSION, "hours": hours, "seed": seed,
            "sentences": pool_size(clip_paths), "chunks": chunks}
