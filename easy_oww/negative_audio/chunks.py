"""Chunks of long negative audio: reused TTS sentences at other speeds and levels, with
pauses and babble, over a background of coloured noise, hum, near-silence and silence;
with rooms, a share of the utterances is reverberant, as the positives are; with a voice
shift, a share is spoken in another voice (and in another timbre), as a share of the
clips is.

A chunk is a function of (sentence pool, rooms, voice shift, length, seed, index) only:
`chunk_results` makes chunks in spawn worker processes (`easy_oww.parallel.ordered_map`)
or in this process, and the same bytes come out with any number of workers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from easy_oww.audio.io import load_audio
from easy_oww.augment import effects
from easy_oww.augment.noise import COLOURS, shaped_noise, steady_hum
from easy_oww.contract import SAMPLE_RATE
from easy_oww.errors import EasyOWWError
from easy_oww.negative_audio.streams import stream_features
from easy_oww.parallel import ordered_map, worker_count
from easy_oww.rng import item_rng

if TYPE_CHECKING:
    from easy_oww.augment.effects import VoiceShift
    from easy_oww.features.frontend import FrontEnd

ChunkResult = tuple[int, np.ndarray, "np.ndarray | None"]
"""(chunk index, embedding stream [frames, 96], int16 audio or None)."""


def _speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Faster/slower and higher/lower together (resampling), cheap variety for reused clips."""
    from easy_oww.audio.io import resample

    if abs(factor - 1.0) < 1e-3:
        return audio
    out: np.ndarray = resample(audio, round(SAMPLE_RATE * factor), SAMPLE_RATE)
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    return np.asarray(x / (np.std(x) + 1e-12), dtype=np.float32)


def _coloured(n: int, rng: np.random.Generator) -> np.ndarray:
    """White, pink, brown or blue noise at unit level, shaped at a power-of-two FFT length
    and cut to `n` (segment lengths are arbitrary; an FFT of a length with large prime
    factors took 95 % of a chunk's making)."""
    exponent = float(rng.choice([COLOURS[c] for c in ("white", "pink", "brown", "blue")]))
    if n < 2:  # a sample left at a chunk's end: nothing to shape
        return np.zeros(n, dtype=np.float32)
    return _unit(shaped_noise(exponent, n, rng, fft_len=1 << (n - 1).bit_length()))


def _hum(n: int, rng: np.random.Generator) -> np.ndarray:
    """A steady 50 or 60 Hz hum with five harmonics, at unit level."""
    return _unit(steady_hum(n, rng, mains_hz=float(rng.choice([50.0, 60.0]))))


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


def _in_room(clip: np.ndarray, room: np.ndarray) -> np.ndarray:
    """`clip` spoken in `room`, its reverberant tail kept (at the clip's energy)."""
    from easy_oww.augment.ops import apply_rir

    padded = np.concatenate([clip, np.zeros(len(room), dtype=np.float32)])
    return apply_rir(padded, room)


def _place(out: np.ndarray, clip: np.ndarray, at: int, gain: float) -> int:
    """Mix `clip` into `out` from sample `at`, cut at the end of `out` (or not at all when
    `at` lies past it: babble can be shifted beyond the chunk's end)."""
    end = min(len(out), at + len(clip))
    if end > at:
        out[at:end] += clip[:end - at] * gain
    return max(end, at)


def make_chunk(pool: Sequence[np.ndarray], seconds: float, rng: np.random.Generator,
               groups: Sequence[Sequence[int]] | None = None,
               rooms: Sequence[np.ndarray] = (), room_probability: float = 0.0,
               voice: VoiceShift | None = None) -> np.ndarray:
    """One chunk: sentences from `pool` (float32) with pauses and babble over a background.

    With `groups` (indices into `pool`, one list per voice family) each sentence's family
    is drawn first, uniformly, so every family speaks an equal share of the audio however
    few sentences it has in the pool. With `rooms` (impulse responses) each utterance and
    the babble over it is spoken in one of them with `room_probability`: positives are
    reverberant that often, and a model that never heard reverberant speech without the
    wake word learns that reverb means the wake word (it then fires on real recordings).
    With `voice` each utterance is spoken in another voice with its probability, as that
    share of the clips is (`effects.new_voice`), for the same reason, and with its timbre
    probability through another timbre (`effects.timbre`), drawn from a child stream of
    `rng` so that every other draw is the same with it or without it."""
    n = int(seconds * SAMPLE_RATE)
    timbre_rng = rng.spawn(1)[0]

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
        if voice is not None and voice.probability > 0 and rng.random() < voice.probability:
            clip = effects.new_voice(clip, *voice.draw(rng))
        gains = voice.timbre_gains(timbre_rng) if voice is not None else None
        if gains is not None:
            clip = effects.timbre(clip, gains)
        gain = _db(rng.uniform(-22, 0))
        room = (rooms[int(rng.integers(len(rooms)))]
                if rooms and rng.random() < room_probability else None)
        if room is not None:
            clip = _in_room(clip, room)
        end = _place(out, clip, pos, gain)
        if roll > 0.9:  # babble: two or three more talkers over this one
            for _ in range(int(rng.integers(2, 4))):
                other = pick() if room is None else _in_room(pick(), room)
                shift = pos + int(rng.uniform(-0.5, 1.0) * SAMPLE_RATE)
                _place(out, other, max(0, shift), gain * _db(rng.uniform(-12, -3)))
        pos = end + int(rng.uniform(0.15, 1.5) * SAMPLE_RATE)
    peak = float(np.max(np.abs(out))) if n else 0.0
    if peak > 0.99:
        out *= 0.99 / peak
    return out


def load_pool(paths: Sequence[str], families: Sequence[str] | None = None
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


def pool_size(paths: Sequence[str]) -> int:
    """How many of the sentences `load_pool` keeps (read from the WAV headers only)."""
    import soundfile as sf

    return sum(1 for p in paths if sf.info(p).frames > SAMPLE_RATE // 4)


_chunk_worker: dict[str, Any] = {}


def _init_chunk_worker(clip_paths: list[str], families: list[str] | None,
                       frontend: FrontEnd | None = None,
                       rooms: Sequence[np.ndarray] = (), room_probability: float = 0.0,
                       voice: VoiceShift | None = None) -> None:
    from easy_oww.features.frontend import FrontEnd

    pool, groups = load_pool(clip_paths, families)
    _chunk_worker.update(pool=pool, groups=groups, rooms=tuple(rooms),
                         room_probability=room_probability, voice=voice,
                         frontend=frontend if frontend is not None else FrontEnd())


def _make_chunk_task(task: tuple[int, float, int, bool]) -> ChunkResult:
    """Worker: one chunk of audio (deterministic per (seed, index)) and its embeddings."""
    from easy_oww.audio.io import to_int16

    i, seconds, seed, keep_audio = task
    audio = make_chunk(_chunk_worker["pool"], seconds,
                       item_rng(seed, i, 0, stream="negative-audio"), _chunk_worker["groups"],
                       _chunk_worker["rooms"], _chunk_worker["room_probability"],
                       _chunk_worker["voice"])
    pcm = to_int16(audio)
    feats = stream_features(pcm, _chunk_worker["frontend"])
    return i, feats, (pcm if keep_audio else None)


def chunk_results(tasks: list[tuple[int, float]], clip_paths: list[str],
                  families: list[str] | None, seed: int, keep_audio: bool,
                  frontend: FrontEnd | None, workers: int,
                  rooms: Sequence[np.ndarray] = (),
                  room_probability: float = 0.0,
                  voice: VoiceShift | None = None) -> Iterator[ChunkResult]:
    """Chunks (index, seconds) in order, made in worker processes when there are several
    (`workers`, 0 = one per usable core); only the caller writes. `frontend` serves the
    in-process path; each worker builds its own. `rooms`, `voice`: see `make_chunk`."""
    if not tasks:
        return
    n = worker_count(workers, len(tasks))
    args = [(i, seconds, seed, keep_audio) for i, seconds in tasks]
    yield from ordered_map(_make_chunk_task, args, workers=n, initializer=_init_chunk_worker,
                           initargs=(clip_paths, families, frontend if n <= 1 else None,
                                     tuple(rooms), room_probability, voice),
                           cleanup=_chunk_worker.clear)
