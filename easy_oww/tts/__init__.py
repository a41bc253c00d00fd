"""Text-to-speech: espeak-ng (embedded), Piper (extra `piper`) and OpenAI (extra `openai`).

    from easy_oww.tts import Voice, SynthesisRequest, list_voices, synthesize
    voice = list_voices()[0]                       # e.g. espeak:en
    audio = synthesize(SynthesisRequest("hey jarvis", voice, speed=1.1))   # 16 kHz int16

Each engine is a `Backend` (types.py); `make_registry(config.tts)` gives them by name.
"""

from easy_oww.tts.registry import Registry, make_registry
from easy_oww.tts.synth import (
                                cache_path,
                                list_voices,
                                plan_requests,
                                synthesize,
                                synthesize_many,
                                trim_silence,
)
from easy_oww.tts.types import Availability, Backend, Concurrency, SynthesisRequest, Voice

__all__ = ["Availability", "Backend", "Concurrency", "Registry", "SynthesisRequest", "Voice",
           "cache_path", "list_voices", "make_registry", "plan_requests", "synthesize",
           "synthesize_many", "trim_silence"]
