"""espeak-ng through ctypes, from the `espeakng-loader` wheel (library + data, no system package).

The wheel ships libespeak-ng and espeak-ng-data for Linux, macOS and Windows but no
`espeak-ng` program, so we drive the C API: espeak_Initialize in synchronous mode with a
synth callback that collects the samples, espeak_SetVoiceByName("en-us+m3"),
espeak_SetParameter for rate/pitch/range/word gap, and espeak_TextToPhonemes for
letter-to-sound (used by easy_oww.text for words missing from the CMU dictionary).

espeak-ng keeps global state, so one process has one engine, guarded by a lock; parallel
synthesis uses processes (see easy_oww.tts.synth). Its random jitter is seeded per request
(espeak_ng_SetRandSeed and the C srand), but the pitch "flutter" keeps its phase in a static
counter (wavegen.c, AdvanceParameters) that no API resets, so a repeat of a request in
another process history differs slightly (same length within ~1%, same words and prosody).
The clip cache is what makes reruns byte-identical.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww.errors import require
from easy_oww.rng import item_rng, key_to_int
from easy_oww.tts.types import SynthesisRequest, Voice

log = logging.getLogger(__name__)

BACKEND = "espeak"
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_CHARS_UTF8 = 1
# espeak_PARAMETER enum
RATE, VOLUME, PITCH, RANGE, WORDGAP = 1, 2, 3, 4, 7
DEFAULT_RATE_WPM = 175
DEFAULT_PITCH = 50
DEFAULT_RANGE = 50
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


class EspeakEngine:
    """One initialised espeak-ng library (per process)."""

    def __init__(self) -> None:
        loader = require("espeakng_loader", "train", "espeak-ng speech synthesis")
        self._lib = ctypes.CDLL(loader.get_library_path())
        lib = self._lib
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                          ctypes.c_int]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint,
                                     ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                     ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
                                              ctypes.c_int]
        lib.espeak_ng_SetRandSeed.restype = None
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        self.sample_rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                                 loader.get_data_path().encode(), 0)
        if self.sample_rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed ({self.sample_rate})")
        self.version = (lib.espeak_Info(None) or b"").decode()
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        self._voice: str | None = None
        self._srand = _c_srand()
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

    def synth(self, text: str, voice: str, *, rate: int, pitch: int, range_: int,
              word_gap: int, seed: int = 0) -> np.ndarray:
        """int16 samples at self.sample_rate; `seed` fixes espeak-ng's own jitter."""
        with self.lock:
            self.set_voice(voice)
            lib = self._lib
            lib.espeak_ng_SetRandSeed(seed & 0x7FFFFFFF)
            if self._srand is not None:  # wavegen's pitch jitter uses the C library's rand()
                self._srand(seed & 0x7FFFFFFF)
            lib.espeak_SetParameter(RATE, rate, 0)
            lib.espeak_SetParameter(PITCH, pitch, 0)
            lib.espeak_SetParameter(RANGE, range_, 0)
            lib.espeak_SetParameter(WORDGAP, word_gap, 0)
            self._chunks = []
            data = text.encode("utf-8")
            lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, ESPEAK_CHARS_UTF8, None, None)
            lib.espeak_Synchronize()
            chunks, self._chunks = self._chunks, []
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    def phonemes(self, text: str, voice: str = "en-us") -> list[list[str]]:
        """IPA phonemes per word (stress marks kept), e.g. [["h", "ˈeɪ"], ["z", "ˈɔːɹ", ...]]."""
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


def _c_srand() -> Any:
    """The C library's srand, to make espeak-ng's rand()-based jitter reproducible."""
    import sys

    try:
        libc = ctypes.CDLL(None) if sys.platform != "win32" else ctypes.CDLL("ucrtbase")
        fn = libc.srand
    except (OSError, AttributeError):
        log.debug("no C srand: espeak-ng output may vary slightly between runs")
        return None
    fn.argtypes = [ctypes.c_uint]
    fn.restype = None
    return fn


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
