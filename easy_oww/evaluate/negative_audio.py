"""Long audio without the wake word, for counting false positives per hour.

`ensure_negative_audio` builds it once per workspace, under
``cache/negative_audio/<hash>/`` (the hash covers everything that shapes the audio):
chunks of a few minutes of TTS speech in voices held out from training, with pauses,
coloured noise, mains hum, babble and digital silence, as 16 kHz WAV files, each with its
embedding stream (``.npy``, float32 [frames, 96], `stream_embeddings`) so evaluation and
training never recompute features. The manifest is written last; a killed run resumes at
the first missing chunk.

Speed: an hour of unique TTS speech would take far longer than the few minutes this may
cost on a small machine, so a smaller pool of synthesised sentences (about 150 per hour)
is reused, each time at a different speed, level, position, pause and background. The
speech therefore repeats; what the false-positive count measures (the model firing on
speech-like and noisy audio) is still served, and DiPCo (real far-field conversation) is
added when it has been downloaded (`easy-oww download dipco`).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from easy_oww.audio.io import load_audio, save_wav
from easy_oww.contract import EMBEDDING_DIM, FRAME_SAMPLES, SAMPLE_RATE
from easy_oww.errors import EasyOWWError
from easy_oww.fsutil import atomic_write_bytes, atomic_write_json, read_json, stable_hash
from easy_oww.progress import ProgressFn
from easy_oww.rng import item_rng, key_to_int
from easy_oww.workspace import Workspace

if TYPE_CHECKING:
    from easy_oww.features.frontend import FrontEnd
    from easy_oww.tts.types import SynthesisRequest, Voice

log = logging.getLogger(__name__)

VERSION = 2  # bump when the generated audio changes, to invalidate caches
CHUNK_SECONDS = 300.0
SENTENCES_PER_HOUR = 150
MIN_SENTENCES = 40
HOLDOUT_FRACTION = 0.2
MANIFEST = "manifest.json"

SynthFn = Callable[[Sequence["SynthesisRequest"], Path], Sequence[Path]]
"""Synthesise requests into a cache folder, returning one WAV path per request."""

FALLBACK_SENTENCES = (
    "Could you turn the lights down a little in the living room.",
    "I think the meeting was moved to Thursday afternoon.",
    "The train to the city leaves every twenty minutes.",
    "Please remember to buy milk, bread and some apples.",
    "What time does the pharmacy close on Sundays?",
    "She said the package would arrive before noon.",
    "We should water the plants before we leave.",
    "The weather forecast says it will rain all weekend.",
    "My brother is coming over for dinner tonight.",
    "Can you read me the last message again?",
    "The children are playing football in the garden.",
    "I left my keys on the kitchen table this morning.",
    "Let's watch a film after the news.",
    "How long should the pasta boil for?",
    "There is a traffic jam on the motorway again.",
    "The library has a new collection of old maps.",
    "Set the oven to two hundred degrees, please.",
    "He plays the piano every evening after work.",
    "Our flight was delayed by almost three hours.",
    "Turn the music up, I love this song.",
    "The doctor said I should drink more water.",
    "We need a bigger table for the party.",
    "Did anyone feed the cat today?",
    "The museum is closed on Mondays and public holidays.",
    "I'll call you back when I get home.",
    "The shop around the corner sells fresh fish.",
    "Remind me to pay the electricity bill tomorrow.",
    "That restaurant makes the best soup in town.",
    "It was so cold that the lake froze over.",
    "Put the blue folder on the top shelf.",
    "The garden looks lovely in the spring.",
    "How far is it to the nearest petrol station?",
    "I can't find my glasses anywhere.",
    "The baby finally fell asleep after lunch.",
    "We're going hiking in the mountains next week.",
    "Switch off the heating when you go out.",
    "Grandma sent us a postcard from the seaside.",
    "The printer has run out of paper again.",
    "Which bus goes to the central station?",
    "Thank you very much, that was really helpful.",
)


@dataclass(frozen=True)
class LongAudio:
    """One long recording and its cached embedding stream ([frames, 96] float32 .npy)."""

    name: str
    audio: Path | None  # None: only the embeddings were kept
    features: Path
    hours: float
    kind: str = "file"  # "generated" (TTS + noise), "dipco" or "file"

    def load_features(self) -> np.ndarray:
        """The embedding stream, memory-mapped read-only."""
        out: np.ndarray = np.load(self.features, mmap_mode="r")
        return out


@dataclass(frozen=True)
class NegativeAudio:
    root: Path
    parts: tuple[LongAudio, ...]
    summary: dict[str, Any]

    @property
    def hours(self) -> float:
        return float(sum(p.hours for p in self.parts))

    def embeddings(self, *, include_dipco: bool = False) -> np.ndarray:
        """The generated chunks' embedding streams, concatenated in order: [frames, 96].

        DiPCo parts (possibly many hours) are added only with `include_dipco`. Frames are
        those of a fresh stream per chunk (`stream_embeddings`), so score windows that
        straddle two chunks mix unrelated audio; that is a few frames per 5 minutes.
        """
        parts = [np.asarray(p.load_features()) for p in self.parts
                 if p.kind == "generated" or (include_dipco and p.kind == "dipco")]
        if not parts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def describe(self) -> str:
        gen = sum(p.hours for p in self.parts if p.kind == "generated")
        dip = sum(p.hours for p in self.parts if p.kind == "dipco")
        text = (f"{gen:.2f} h generated negative audio ({self.summary.get('sentences', '?')} "
                f"TTS sentences, {self.summary.get('voices', '?')} held-out voices, noise)")
        return text + (f" + {dip:.2f} h DiPCo" if dip else "")


# -- feature caches -------------------------------------------------------------------------

def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array, dtype=np.float32))
    return buf.getvalue()


def _stream_features(audio: np.ndarray, frontend: FrontEnd | None) -> np.ndarray:
    from easy_oww.features.frontend import FrontEnd
    from easy_oww.features.streaming import stream_embeddings

    out: np.ndarray = stream_embeddings(audio, frontend if frontend is not None else FrontEnd())
    return out


def cached_long_audio(path: Path, cache_dir: Path, *, frontend: FrontEnd | None = None,
                      name: str | None = None, kind: str = "file") -> LongAudio:
    """`path`'s embedding stream, computed once and cached by (path, size, mtime)."""
    path = Path(path)
    st = path.stat()
    key = stable_hash({"v": VERSION, "path": str(path.resolve()), "size": st.st_size,
                       "mtime": st.st_mtime_ns})
    feats = Path(cache_dir) / f"{path.stem}.{key}.npy"
    if not feats.is_file():
        audio = load_audio(path)
        atomic_write_bytes(feats, _npy_bytes(_stream_features(audio, frontend)))
    frames = int(np.load(feats, mmap_mode="r").shape[0])
    return LongAudio(name or path.name, path, feats, frames * FRAME_SAMPLES / SAMPLE_RATE / 3600,
                     kind)


def one_device_per_session(files: Sequence[Path]) -> list[Path]:
    """DiPCo records each dinner with several devices at once: keep the first device of
    each session ("S01_U01.CH1.wav" -> session "S01") so no conversation counts twice."""
    chosen: dict[str, Path] = {}
    for f in sorted(files):
        session = f.name.split("_U", 1)[0] if "_U" in f.name else f.stem
        chosen.setdefault(session, f)
    return list(chosen.values())


def dipco_parts(workspace: Workspace, *, frontend: FrontEnd | None = None,
                progress: ProgressFn | None = None) -> list[LongAudio]:
    """DiPCo far-field sessions as long negative audio, when the dataset is downloaded."""
    try:
        from easy_oww.datasets import dipco_audio
    except ImportError:  # the datasets package is optional for evaluation
        return []
    files = one_device_per_session(dipco_audio(workspace))
    out = []
    for i, f in enumerate(files):
        out.append(cached_long_audio(f, workspace.cache / "negative_audio" / "dipco",
                                     frontend=frontend, name=f"dipco/{f.name}",
                                     kind="dipco"))
        if progress:
            progress("DiPCo features", i + 1, len(files))
    return out


# -- inputs: sentences and voices ------------------------------------------------------------

def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def negative_texts(n: int, seed: int, exclude: str) -> list[str]:
    """Sentences without the wake phrase: easy_oww.text's generator, else a built-in list."""
    try:
        from easy_oww.text import negative_sentences
    except ImportError:
        texts = list(FALLBACK_SENTENCES)
    else:
        texts = list(negative_sentences(n, seed, exclude))
    words = {w for w in _words(exclude) if len(w) > 2}
    kept = [t for t in texts if not words & _words(t)]
    return kept or list(FALLBACK_SENTENCES)


def held_out_voices(voices: Sequence[Voice], fraction: float, seed: int) -> list[Voice]:
    """The voices training does not use (the same split as the clips phase)."""
    try:
        from easy_oww.pipeline.clips import split_voices
    except ImportError:
        ranked = sorted(voices, key=lambda v: key_to_int(f"{seed}:{v.id}"))
        k = max(1, round(len(ranked) * fraction))
        return ranked[:k]
    return list(split_voices(list(voices), fraction, seed)[1])


def default_voices(workspace: Workspace, seed: int, fraction: float) -> list[Voice]:
    from easy_oww.tts import list_voices

    voices = list_voices(workspace, backends=("espeak", "piper"))
    if not voices:
        raise EasyOWWError("no TTS voice is available to make negative test audio",
                           "install espeakng-loader (pip install 'easy-oww[train]'), or "
                           "pass your own long recordings with --audio")
    return held_out_voices(voices, fraction, seed)


def _default_synth(workers: int, progress: ProgressFn | None) -> SynthFn:
    def run(requests: Sequence[SynthesisRequest], cache_dir: Path) -> Sequence[Path]:
        from easy_oww.tts import synthesize_many

        return synthesize_many(requests, cache_dir, workers=workers, progress=progress)

    return run


# -- generation ------------------------------------------------------------------------------

def _speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Faster/slower and higher/lower together (resampling), cheap variety for reused clips."""
    from easy_oww.audio.io import resample

    if abs(factor - 1.0) < 1e-3:
        return audio
    out: np.ndarray = resample(audio, round(SAMPLE_RATE * factor), SAMPLE_RATE)
    return out


def _coloured(n: int, rng: np.random.Generator) -> np.ndarray:
    """White, pink, brown or blue noise, shaped at a power-of-two FFT length and cut to `n`
    (segment lengths are arbitrary; an FFT of a length with large prime factors took 95 %
    of a chunk's making)."""
    exponent = float(rng.choice([0.0, -1.0, -2.0, 1.0]))  # white, pink, brown, blue
    if n < 2:  # a sample left at a chunk's end: nothing to shape
        return np.zeros(n, dtype=np.float32)
    m = 1 << (n - 1).bit_length()
    spec = np.fft.rfft(rng.standard_normal(m))
    f = np.fft.rfftfreq(m, 1.0 / SAMPLE_RATE)
    f[0] = f[1]
    x: np.ndarray = np.fft.irfft(spec * f ** (exponent / 2.0), m)[:n]
    return np.asarray(x / (np.std(x) + 1e-12), dtype=np.float32)


def _hum(n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    base = float(rng.choice([50.0, 60.0]))
    x = np.zeros(n)
    for k in range(1, 6):
        x += rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6.3))
    return np.asarray(x / (np.std(x) + 1e-12), dtype=np.float32)


def _db(x: float) -> float:
    return float(10 ** (x / 20))


def _background(n: int, rng: np.random.Generator) -> np.ndarray:
    """Segments of noise, hum, near-silence and digital silence, 5-60 s each."""
    out = np.zeros(n, dtype=np.float32)
    pos = 0
    while pos < n:
        seg = min(n - pos, int(rng.uniform(5, 60) * SAMPLE_RATE))
        kind = rng.choice(["noise", "hum", "quiet", "silence"], p=[0.45, 0.15, 0.25, 0.15])
        if kind == "noise":
            out[pos:pos + seg] = _coloured(seg, rng) * _db(rng.uniform(-50, -22))
        elif kind == "hum":
            out[pos:pos + seg] = (_hum(seg, rng) * _db(rng.uniform(-45, -25))
                                  + _coloured(seg, rng) * _db(-60))
        elif kind == "quiet":
            out[pos:pos + seg] = _coloured(seg, rng) * _db(rng.uniform(-75, -55))
        pos += seg
    return out


def _place(out: np.ndarray, clip: np.ndarray, at: int, gain: float) -> int:
    """Mix `clip` into `out` from sample `at`, cut at the end of `out` (or not at all when
    `at` lies past it: babble can be shifted beyond the chunk's end)."""
    end = min(len(out), at + len(clip))
    if end > at:
        out[at:end] += clip[:end - at] * gain
    return max(end, at)


def make_chunk(pool: Sequence[np.ndarray], seconds: float, rng: np.random.Generator,
               groups: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """One chunk: sentences from `pool` (float32) with pauses and babble over a background.

    With `groups` (indices into `pool`, one list per voice family) each sentence's family
    is drawn first, uniformly, so every family speaks an equal share of the audio however
    few sentences it has in the pool."""
    n = int(seconds * SAMPLE_RATE)

    def pick() -> np.ndarray:
        if groups:
            group = groups[int(rng.integers(len(groups)))]
            return pool[group[int(rng.integers(len(group)))]]
        return pool[int(rng.integers(len(pool)))]

    out = _background(n, rng)
    pos = int(rng.uniform(0, 2) * SAMPLE_RATE)
    while pos < n:
        roll = rng.random()
        if roll < 0.08:  # a long pause: background only
            pos += int(rng.uniform(3, 15) * SAMPLE_RATE)
            continue
        clip = _speed(pick(), float(rng.uniform(0.88, 1.12)))
        gain = _db(rng.uniform(-22, 0))
        end = _place(out, clip, pos, gain)
        if roll > 0.9:  # babble: two or three more talkers over this one
            for _ in range(int(rng.integers(2, 4))):
                other = pick()
                shift = pos + int(rng.uniform(-0.5, 1.0) * SAMPLE_RATE)
                _place(out, other, max(0, shift), gain * _db(rng.uniform(-12, -3)))
        pos = end + int(rng.uniform(0.15, 1.5) * SAMPLE_RATE)
    peak = float(np.max(np.abs(out))) if n else 0.0
    if peak > 0.99:
        out *= 0.99 / peak
    return out


def _load_pool(paths: Sequence[str], families: Sequence[str] | None = None
               ) -> tuple[list[np.ndarray], list[list[int]] | None]:
    """The synthesized sentences as float32 (clips under 0.25 s are dropped), and with
    `families` (one per path) the pool's indices per family."""
    loaded = [load_audio(p).astype(np.float32) / 32768.0 for p in paths]
    keep = [i for i, a in enumerate(loaded) if len(a) > SAMPLE_RATE // 4]
    pool = [loaded[i] for i in keep]
    if not pool:
        raise EasyOWWError("text-to-speech produced no usable audio for the negative test set",
                           "check the TTS voices with `easy-oww voices`")
    if families is None:
        return pool, None
    groups: dict[str, list[int]] = {}
    for j, i in enumerate(keep):
        groups.setdefault(families[i], []).append(j)
    return pool, [groups[f] for f in sorted(groups)]


def _pool_size(paths: Sequence[str]) -> int:
    import soundfile as sf

    return sum(1 for p in paths if sf.info(p).frames > SAMPLE_RATE // 4)


_chunk_worker: dict[str, Any] = {}


def _init_chunk_worker(clip_paths: list[str], families: list[str] | None) -> None:
    from easy_oww.features.frontend import FrontEnd

    pool, groups = _load_pool(clip_paths, families)
    _chunk_worker.update(pool=pool, groups=groups, frontend=FrontEnd())


def _make_chunk_task(task: tuple[int, float, int, bool]
                     ) -> tuple[int, np.ndarray, np.ndarray | None]:
    """Worker: one chunk of audio (deterministic per (seed, index)) and its embeddings."""
    from easy_oww.audio.io import to_int16

    i, seconds, seed, keep_audio = task
    audio = make_chunk(_chunk_worker["pool"], seconds,
                       item_rng(seed, i, 0, stream="negative-audio"), _chunk_worker["groups"])
    pcm = to_int16(audio)
    feats = _stream_features(pcm, _chunk_worker["frontend"])
    return i, feats, (pcm if keep_audio else None)


def _chunk_results(tasks: list[tuple[int, float]], clip_paths: list[str],
                   families: list[str] | None, seed: int, keep_audio: bool,
                   frontend: FrontEnd | None, workers: int
                   ) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
    """Chunks in order, made in worker processes (spawn) when there are several; only the
    caller writes. The same bytes come out with any number of workers."""
    if not tasks:
        return
    from easy_oww.parallel import process_pool, usable_cores

    n = min(len(tasks), workers if workers > 0 else usable_cores())
    args = [(i, seconds, seed, keep_audio) for i, seconds in tasks]
    if n <= 1:
        from easy_oww.features.frontend import FrontEnd

        clips, groups = _load_pool(clip_paths, families)
        _chunk_worker.update(pool=clips, groups=groups,
                             frontend=frontend if frontend is not None else FrontEnd())
        try:
            yield from (_make_chunk_task(a) for a in args)
        finally:
            _chunk_worker.clear()
        return
    # workers die with us
    with process_pool(n, _init_chunk_worker, (clip_paths, families)) as pool:
        yield from pool.imap(_make_chunk_task, args)


def ensure_negative_audio(workspace: Workspace, *, hours: float, seed: int, exclude: str,
                          voices: Sequence[Voice] | None = None,
                          progress: ProgressFn | None = None, synth: SynthFn | None = None,
                          frontend: FrontEnd | None = None, include_dipco: bool = False,
                          holdout_fraction: float = HOLDOUT_FRACTION,
                          workers: int = 0,
                          sentences_per_hour: int = SENTENCES_PER_HOUR,
                          keep_audio: bool = True, balance_families: bool = False,
                          family_sentences: int | None = None) -> NegativeAudio:
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
    """
    if hours <= 0:
        raise ValueError("hours must be positive")
    from easy_oww.tts.synth import plan_requests

    vs = list(voices) if voices is not None else default_voices(workspace, seed,
                                                                 holdout_fraction)
    n_sent = max(MIN_SENTENCES, round(hours * sentences_per_hour))
    texts = negative_texts(n_sent, seed, exclude)
    requests = plan_requests(texts, vs, n_sent, seed=seed, speed=(0.85, 1.15),
                             pitch=(0.85, 1.15), balance_families=balance_families)
    if balance_families and family_sentences is not None:
        requests = _cap_families(requests, family_sentences)
    key = stable_hash({"v": VERSION, "hours": round(hours, 4), "seed": seed,
                       "requests": [r.params() for r in requests],
                       **({} if keep_audio else {"audio": False}),
                       **({"balanced": True} if balance_families else {})})
    root = workspace.cache / "negative_audio" / key
    manifest = _load_manifest(root)
    if manifest is None:
        from easy_oww.fsutil import require_free_space

        require_free_space(root.parent, int(hours * (150e6 if keep_audio else 35e6) + 20e6),
                           "making negative test audio")  # WAV 115 MB/h, features, TTS
        manifest = _generate(root, requests, hours, seed, synth or _default_synth(workers, progress),
                             frontend, progress, keep_audio=keep_audio, workers=workers,
                             balance_families=balance_families)
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


def _cap_families(requests: list[SynthesisRequest], cap: int) -> list[SynthesisRequest]:
    """At most `cap` requests of each family but espeak-ng (kept in order)."""
    seen: dict[str, int] = {}
    out = []
    for r in requests:
        fam = r.voice.family
        seen[fam] = seen.get(fam, 0) + 1
        if fam == "espeak-ng" or seen[fam] <= cap:
            out.append(r)
    return out


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
              workers: int = 0, balance_families: bool = False) -> dict[str, Any]:
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
    for i, feats, pcm in _chunk_results(tasks, clip_paths, families, seed, keep_audio,
                                        frontend, workers):
        if pcm is not None:
            save_wav(root / f"chunk_{i:03d}.wav", pcm)
        atomic_write_bytes(root / f"chunk_{i:03d}.npy", _npy_bytes(feats))  # last: complete
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
            "sentences": _pool_size(clip_paths), "chunks": chunks}
