"""Types shared by the TTS backends: voices, requests and the backend protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

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
    and noise_w; OpenAI: a speaking-style instruction), drawn from `seed`.
    """

    text: str
    voice: Voice
    speed: float = 1.0
    pitch: float = 1.0
    variation: float = 0.0
    seed: int = 0

    def params(self) -> dict[str, object]:
        """Everything that determines the audio, for cache keys."""
        return {
            "backend": self.voice.backend, "voice": self.voice.name,
            "speaker": self.voice.speaker, "text": self.text,
            "speed": round(float(self.speed), 4), "pitch": round(float(self.pitch), 4),
            "variation": round(float(self.variation), 4), "seed": int(self.seed),
        }


class Backend(Protocol):
    """A TTS engine: lists its voices and turns one request into float audio."""

    name: str

    def available(self) -> bool:
        """True when its dependencies are installed (no network check)."""

    def synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, int]:
        """Return (mono float32 audio in [-1, 1], sample rate)."""
