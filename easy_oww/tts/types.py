"""Types shared by the TTS backends: voices, requests and the `Backend` protocol."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

if TYPE_CHECKING:
    from easy_oww.workspace import Workspace

FAMILY_NAMES = {"espeak": "espeak-ng"}


def family_of_id(voice_id: str) -> str:
    """The family of a voice id ("espeak:en-us+m3" -> "espeak-ng",
    "piper:en_US-libritts-high#12" -> "piper:en_US-libritts-high")."""
    backend, _, rest = voice_id.partition(":")
    if backend == "piper":
        return f"piper:{rest.split('#', 1)[0]}"
    return FAMILY_NAMES.get(backend, backend)


@dataclass(frozen=True)
class Voice:
    """One usable voice of one backend.

    `name` is what the backend needs to select it ("en-us+m3" for espeak-ng, the model
    name "en_US-joe-medium" for Piper, "alloy" for OpenAI); `speaker` picks a speaker of a
    multi-speaker Piper model; `path` is the Piper model file (not part of the cache key,
    so a cache stays valid when the workspace moves).
    """

    backend: str
    name: str
    speaker: int | None = None
    language: str = "en"
    path: str | None = None

    @property
    def family(self) -> str:
        """The voice family: engine and model ("espeak-ng", "piper:en_US-joe-medium",
        "openai"). Variants of one engine (espeak-ng's accents and variants, the speakers of
        one Piper model) are one family: they share a timbre that a model can learn."""
        if self.backend == "piper":
            return f"piper:{self.name}"
        return FAMILY_NAMES.get(self.backend, self.backend)

    @property
    def id(self) -> str:
        """A stable identifier such as "espeak:en-us+m3" or "piper:en_US-libritts-high#12"."""
        base = f"{self.backend}:{self.name}"
        return base if self.speaker is None else f"{base}#{self.speaker}"


@dataclass(frozen=True)
class SynthesisRequest:
    """Text plus how to say it.

    speed and pitch are factors (1.0 = the voice's default); `variation` in [0, 1] is a
    backend-specific jitter (espeak-ng: word gap and intonation range; Piper: noise_scale
    and noise_w; OpenAI: a speaking-style instruction), drawn from `seed`. `accent` is the
    espeak-ng accent whose phonemes a Piper voice reads ("en-gb-scotland"; None: the
    voice's own; easy_oww.tts.accents); other backends ignore it.
    """

    text: str
    voice: Voice
    speed: float = 1.0
    pitch: float = 1.0
    variation: float = 0.0
    seed: int = 0
    accent: str | None = None

    def params(self) -> dict[str, object]:
        """Everything that determines the audio, for cache keys (`accent` only when set,
        so the clips of requests without one keep their keys)."""
        return {
            "backend": self.voice.backend, "voice": self.voice.name,
            "speaker": self.voice.speaker, "text": self.text,
            "speed": round(float(self.speed), 4), "pitch": round(float(self.pitch), 4),
            "variation": round(float(self.variation), 4), "seed": int(self.seed),
            **({"accent": self.accent} if self.accent is not None else {}),
        }


@dataclass(frozen=True)
class Availability:
    """Whether a backend can synthesise here; when not, why (`reason`) and what to do
    (`hint`). True in a boolean context when it can."""

    ok: bool
    reason: str = ""
    hint: str = ""

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class Concurrency:
    """How a backend runs many requests.

    "processes": a local CPU engine; `easy_oww.tts.synth` spreads batches of requests over
    spawned worker processes (`workers` 0: as many as the caller asks, by default one per
    usable core), at most one process per `clips_per_worker` clips when it sizes the pool
    itself (a worker's start costs about a second). "threads": a remote service; the
    backend's `synthesize_batch` runs `workers` requests at a time in this process.
    """

    kind: Literal["processes", "threads"]
    workers: int = 0
    clips_per_worker: int = 1


Raw = tuple[int, np.ndarray, int]
"""(position in the batch, mono float32 audio in [-1, 1], sample rate)."""


class Backend(Protocol):
    """A TTS engine: `easy_oww.tts.synth` reaches every engine through this interface only.

    `name` is `Voice.backend` of its voices (and the name in `tts.backends`). `cheap`: a
    clip costs next to nothing (espeak-ng, ~5 ms), so plans do not cap its distinct clips.
    `cache_version` goes into the clip cache key (None: none); bump it when the same request
    gives other audio. `relative_cost`: CPU time of a clip against Piper's (1.0); plans
    divide the distinct-clip caps of a family that is not `cheap` by it.
    """

    @property
    def name(self) -> str: ...

    @property
    def concurrency(self) -> Concurrency: ...

    @property
    def cheap(self) -> bool: ...

    @property
    def cache_version(self) -> int | None: ...

    @property
    def relative_cost(self) -> float: ...

    def availability(self) -> Availability:
        """Whether its dependencies (and credentials) are there; no network check."""

    def list_voices(self, workspace: Workspace | None = None) -> list[Voice]:
        """Its usable voices ([] when unavailable); `workspace` holds downloaded ones."""

    def init_worker(self, threads: int) -> None:
        """Prepare a worker process that may use `threads` CPU threads for this engine."""

    def synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, int]:
        """Return (mono float32 audio in [-1, 1], sample rate) for one request."""

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> Iterator[Raw]:
        """Each request's audio as (position, audio, rate), in any order."""


def one_by_one(synthesize: Callable[[SynthesisRequest], tuple[np.ndarray, int]],
               requests: Sequence[SynthesisRequest]) -> Iterator[Raw]:
    """`synthesize_batch` of a local engine: the requests in turn, in this process."""
    for k, request in enumerate(requests):
        audio, sr = synthesize(request)
        yield k, audio, sr
