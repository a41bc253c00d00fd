"""espeak-ng through ctypes, from the `espeakng-loader` wheel (library + data, no system package).

The wheel ships libespeak-ng and espeak-ng-data for Linux, macOS and Windows but no
`espeak-ng` program, so we drive the C API: espeak_Initialize in synchronous mode with a
synth callback that collects the samples, espeak_SetVoiceByName("en-us+m3"),
espeak_SetParameter for rate/pitch/range/word gap, and espeak_TextToPhonemes for
letter-to-sound (used by easy_oww.text for words missing from the CMU dictionary).

espeak-ng keeps global state, so one process has one engine, guarded by a lock; parallel
synthesis uses processes (see easy_oww.tts.synth). Output is reproducible: the random
jitter is seeded per request (espeak_ng_SetRandSeed) and the library is reloaded for each
utterance (see EspeakEngine).
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from easy_oww.errors import require
from easy_oww.rng import item_rng, key_to_int
from easy_oww.tts.types import Availability, Concurrency, Raw, SynthesisRequest, Voice, one_by_one

if TYPE_CHECKING:
    from easy_oww.workspace import Workspace

log = logging.getLogger(__name__)

BACKEND = "espeak"
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_CHARS_UTF8 = 1
# espeak_PARAMETER enum
RATE, VOLUME, PITCH, RANGE, WORDGAP = 1, 2, 3, 4, 7
DEFAULT_RATE_WPM = 175
DEFAULT_PITCH = 50
DEFAULT_RANGE = 50
CLIPS_PER_WORKER = 500  # a worker start (~1 s) costs what ~200 clips do: no process for fewer
CONCURRENCY = Concurrency("processes", clips_per_worker=CLIPS_PER_WORKER)
# phoneme mode: IPA (bit 1) with "_" between phonemes (bits 8-23)
IPA_SEPARATED = 0x02 | (ord("_") << 8)

# Variants that do not sound like a human talking normally (robots, effects, whispering)
# or whose file name is not a valid voice-name suffix. Everything else in voices/!v is used.
EXCLUDED_VARIANTS = frozenset({
    "Demonic", "UniRobot", "anikaRobot", "robosoft", "robosoft2", "robosoft3", "robosoft4",
    "robosoft5", "robosoft6", "robosoft7", "robosoft8", "whisper", "whisperf", "croak",
    "Mr serious", "Tweaky", "kaukovalta",
})
# en-Shaw is the Shavian alphabet (a script, not an accent).
EXCLUDED_ACCENTS = frozenset({"en-shaw"})

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.c_void_p)


def available() -> bool:
    try:
        import espeakng_loader  # noqa: F401
    except ImportError:
        return False
    return True


def data_path() -> Path:
    loader = require("espeakng_loader", "train", "espeak-ng speech synthesis")
    return Path(loader.get_data_path())


@functools.lru_cache(maxsize=1)
def _c_srand() -> Any:
    """The C library's srand, or None where it cannot be found."""
    names = ("ucrtbase", "msvcrt") if sys.platform == "win32" else (None,)
    for name in names:
        try:
            fn = ctypes.CDLL(name).srand
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_uint], None
        return fn
    return None


def _seed_c_rand(seed: int) -> None:
    """Seed the C library's rand(): espeak-ng's speechPlayer voices (klatt 6: the +caleb and
    +Reed variants) draw their breath noise from it, which its own seed does not cover."""
    fn = _c_srand()
    if fn is not None:
        fn(seed & 0x7FFFFFFF)


def _load(path: str) -> ctypes.CDLL:
    """Open libespeak-ng and declare the C signatures we use."""
    lib = ctypes.CDLL(path)
    sigs: dict[str, tuple[Any, list[Any]]] = {
        "espeak_Initialize": (ctypes.c_int, [ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                             ctypes.c_int]),
        "espeak_Terminate": (ctypes.c_int, []),
        "espeak_SetVoiceByName": (ctypes.c_int, [ctypes.c_char_p]),
        "espeak_SetParameter": (ctypes.c_int, [ctypes.c_int, ctypes.c_int, ctypes.c_int]),
        "espeak_SetSynthCallback": (None, [_CALLBACK]),
        "espeak_Synth": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint,
                                        ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                        ctypes.c_void_p, ctypes.c_void_p]),
        "espeak_Synchronize": (ctypes.c_int, []),
        "espeak_TextToPhonemes": (ctypes.c_char_p, [ctypes.POINTER(ctypes.c_char_p),
                                                    ctypes.c_int, ctypes.c_int]),
        "espeak_ng_SetRandSeed": (None, [ctypes.c_long]),
        "espeak_Info": (ctypes.c_char_p, [ctypes.c_void_p]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def _unload(lib: ctypes.CDLL) -> None:
    """Unload a library so its static variables start fresh on the next load."""
    import _ctypes

    close = getattr(_ctypes, "FreeLibrary", None) or _ctypes.dlclose
    close(lib._handle)


def _private_library_copy(lib: Path) -> Path:
    """A copy of the library in the temp folder, shared by processes (keyed by size+mtime)."""
    import os
    import shutil
    import tempfile

    stat = lib.stat()
    tag = f"{stat.st_size:x}-{int(stat.st_mtime):x}"
    # a different file name too: Windows may hand back a loaded DLL of the same name
    target = Path(tempfile.gettempdir()) / f"easy-oww-espeak-{tag}" / f"synth-{lib.name}"
    if target.is_file() and target.stat().st_size == stat.st_size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".copy-", dir=target.parent)
    os.close(fd)
    try:
        shutil.copy2(lib, tmp)
        os.replace(tmp, target)
    except OSError:  # another process won the race (or Windows holds the loaded file)
        Path(tmp).unlink(missing_ok=True)
        if not target.is_file():
            raise
    return target


class EspeakEngine:
    """espeak-ng for one process: a resident library for phonemes, a fresh one per clip.

    Synthesis loads a private copy of the library for every utterance (about 5 ms) and
    unloads it afterwards, because wavegen.c keeps the pitch-flutter phase in a static
    counter that no API resets: a fresh load makes each clip depend only on its request,
    not on what the process said before. Phonemization (no flutter) uses a resident load
    of the original file; the copy keeps the two from sharing one handle.
    """

    def __init__(self, fresh_per_utterance: bool = True) -> None:
        loader = require("espeakng_loader", "train", "espeak-ng speech synthesis")
        self._path = loader.get_library_path()
        self._data = loader.get_data_path().encode()
        self._lib = _load(self._path)
        self.sample_rate = self._lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                                       self._data, 0)
        if self.sample_rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed ({self.sample_rate})")
        self.version = (self._lib.espeak_Info(None) or b"").decode()
        self.fresh = fresh_per_utterance
        self._synth_path: str | None = None
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: C holds the pointer
        self._lib.espeak_SetSynthCallback(self._callback)
        self._voice: str | None = None
        self.lock = threading.Lock()

    def _collect(self, wav: ctypes.Array, n: int, events: int) -> int:  # type: ignore[type-arg]
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def set_voice(self, name: str) -> None:
        if name == self._voice:
            return
        if self._lib.espeak_SetVoiceByName(name.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {name!r}")
        self._voice = name

    def _private_copy(self) -> str:
        if self._synth_path is None:
            self._synth_path = str(_private_library_copy(Path(self._path)))
        return self._synth_path

    def synth(self, text: str, voice: str, *, rate: int, pitch: int, range_: int,
              word_gap: int, seed: int = 0) -> np.ndarray:
        """int16 samples at self.sample_rate; `seed` fixes espeak-ng's own random jitter."""
        with self.lock:
            if not self.fresh:
                return self._synth_with(self._lib, text, voice, rate, pitch, range_, word_gap,
                                        seed)
            lib = _load(self._private_copy())
            try:
                lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, self._data, 0)
                lib.espeak_SetSynthCallback(self._callback)
                return self._synth_with(lib, text, voice, rate, pitch, range_, word_gap, seed)
            finally:
                lib.espeak_Terminate()
                _unload(lib)

    def _synth_with(self, lib: ctypes.CDLL, text: str, voice: str, rate: int, pitch: int,
                    range_: int, word_gap: int, seed: int) -> np.ndarray:
        if lib is self._lib:
            self.set_voice(voice)
        elif lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        lib.espeak_ng_SetRandSeed(seed & 0x7FFFFFFF)
        _seed_c_rand(seed)
        for param, value in ((RATE, rate), (PITCH, pitch), (RANGE, range_),
                             (WORDGAP, word_gap)):
            lib.espeak_SetParameter(param, value, 0)
        self._chunks = []
        data = text.encode("utf-8")
        lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, ESPEAK_CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        chunks, self._chunks = self._chunks, []
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    def phonemes(self, text: str, voice: str = "en-us") -> list[list[str]]:
        """IPA phonemes per word, stress marks kept: [["h", "ˈeɪ"], ["z", "ˈɔːɹ", ...]]."""
        with self.lock:
            self.set_voice(voice)
            buf = ctypes.c_char_p(text.encode("utf-8"))
            parts: list[str] = []
            while buf.value:
                out = self._lib.espeak_TextToPhonemes(ctypes.byref(buf), ESPEAK_CHARS_UTF8,
                                                      IPA_SEPARATED)
                if out:
                    parts.append(out.decode("utf-8"))
        words = " ".join(parts).split()
        return [[p for p in w.split("_") if p] for w in words]


_ENGINE: EspeakEngine | None = None
_ENGINE_LOCK = threading.Lock()


def engine() -> EspeakEngine:
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = EspeakEngine()
        return _ENGINE


@functools.cache
def english_accents() -> tuple[str, ...]:
    """espeak-ng's English voices (accents), e.g. en-us, en-gb-x-rp, en-029."""
    files = (data_path() / "lang" / "gmw").iterdir()
    names = sorted(p.name.lower() for p in files if p.name.lower().startswith("en"))
    return tuple(n for n in names if n not in EXCLUDED_ACCENTS)


@functools.cache
def variants() -> tuple[str, ...]:
    """Voice variants (+m1..+m8, +f1..+f5, +klatt.., named ones) that sound human."""
    names = sorted(p.name for p in (data_path() / "voices" / "!v").iterdir() if p.is_file())
    return tuple(n for n in names if n not in EXCLUDED_VARIANTS and " " not in n)


def list_voices() -> list[Voice]:
    """Every English accent with no variant and with each variant."""
    if not available():
        return []
    out: list[Voice] = []
    for accent in english_accents():
        out.append(Voice(BACKEND, accent))
        out.extend(Voice(BACKEND, f"{accent}+{v}") for v in variants())
    return out


def prosody(request: SynthesisRequest) -> dict[str, int]:
    """espeak-ng parameters for a request: rate (wpm), pitch and range (0-99), word gap (10 ms)."""
    rng = item_rng(request.seed, request.text, 0, stream="espeak-variation")
    v = float(np.clip(request.variation, 0.0, 1.0))
    u_range, u_gap = rng.random(2)
    return {
        "rate": int(np.clip(round(DEFAULT_RATE_WPM * request.speed), 80, 450)),
        # 0.8 -> 20, 1.0 -> 50, 1.2 -> 80 (espeak's pitch scale is 0-99)
        "pitch": int(np.clip(round(DEFAULT_PITCH + 150 * (request.pitch - 1.0)), 0, 99)),
        "range_": int(np.clip(round(DEFAULT_RANGE + v * 90 * (u_range - 0.5)), 0, 99)),
        "word_gap": round(v * 12 * u_gap),
    }


def synthesize(request: SynthesisRequest) -> tuple[np.ndarray, int]:
    """Float32 audio in [-1, 1] at espeak-ng's native rate (22.05 kHz)."""
    eng = engine()
    audio = eng.synth(request.text, request.voice.name, **prosody(request),
                      seed=key_to_int(f"{request.seed}:{request.text}"))
    return audio.astype(np.float32) / 32768.0, eng.sample_rate


@dataclass(frozen=True)
class EspeakBackend:
    """espeak-ng as a `Backend`: cheap clips, one engine per process (global C state)."""

    name: str = BACKEND
    concurrency: Concurrency = CONCURRENCY
    cheap: bool = True
    cache_version: int | None = None
    relative_cost: float = 1.0

    def availability(self) -> Availability:
        if available():
            return Availability(True)
        return Availability(False, "espeakng-loader is not installed",
                            "pip install 'easy-oww[train]'")

    def list_voices(self, workspace: Workspace | None = None) -> list[Voice]:
        return list_voices()

    def init_worker(self, threads: int) -> None:
        """Nothing to set: espeak-ng is single-threaded."""

    def synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, int]:
        return synthesize(request)

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> Iterator[Raw]:
        return one_by_one(synthesize, requests)
