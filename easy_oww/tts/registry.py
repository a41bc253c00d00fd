"""The TTS backends by name: the one place that knows which engines exist.

`make_registry(config.tts)` gives every engine as a `Backend`, configured from the project
(`tts.openai_model`, `tts.openai_concurrency`); `easy_oww.tts.synth` looks a request's
engine up by `Voice.backend` and asks it, never the name, how to run it. A test or a
caller with its own engine passes its own mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from easy_oww.tts.espeak import EspeakBackend
from easy_oww.tts.kokoro_backend import KokoroBackend
from easy_oww.tts.openai_backend import OpenAIBackend
from easy_oww.tts.piper_backend import PiperBackend
from easy_oww.tts.types import Backend

if TYPE_CHECKING:
    from easy_oww.config import TTSConfig

Registry = Mapping[str, Backend]


def make_registry(config: TTSConfig | None = None) -> dict[str, Backend]:
    """espeak-ng, Piper, Kokoro and OpenAI, in that order; OpenAI with the configured model and
    concurrency (its defaults without `config`)."""
    openai = (OpenAIBackend() if config is None else
              OpenAIBackend(model=config.openai_model, threads=config.openai_concurrency))
    backends: tuple[Backend, ...] = (EspeakBackend(), PiperBackend(), KokoroBackend(), openai)
    return {b.name: b for b in backends}


def get_backend(name: str, registry: Registry | None = None) -> Backend:
    """The backend called `name` (in `registry`, default `make_registry()`)."""
    reg = make_registry() if registry is None else registry
    if name not in reg:
        raise ValueError(f"unknown TTS backend {name!r} (known: {', '.join(reg)})")
    return reg[name]
