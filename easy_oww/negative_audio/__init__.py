"""Negative audio stage: long audio without the wake word, for training negatives and for
counting false positives per hour.

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

Modules: `sentences` (what is said, by which voices), `chunks` (making the audio, in
worker processes), `streams` (cached embedding streams of files, DiPCo), `generate` (the
entry function and its cache), `types` (`LongAudio`, `NegativeAudio`: what the stage hands
on; evaluation reads such streams through its own `FeatureSource` protocol, so it never
imports this stage).
"""

from easy_oww.negative_audio.chunks import make_chunk
from easy_oww.negative_audio.generate import (
    CHUNK_SECONDS,
    MANIFEST,
    MIN_SENTENCES,
    SENTENCES_PER_HOUR,
    SynthFn,
    ensure_negative_audio,
)
from easy_oww.negative_audio.sentences import (
    FALLBACK_SENTENCES,
    HOLDOUT_FRACTION,
    default_voices,
    held_out_voices,
    negative_texts,
)
from easy_oww.negative_audio.streams import (
    VERSION,
    cached_long_audio,
    dipco_parts,
    one_device_per_session,
)
from easy_oww.negative_audio.types import LongAudio, NegativeAudio

__all__ = ["CHUNK_SECONDS", "FALLBACK_SENTENCES", "HOLDOUT_FRACTION", "MANIFEST",
           "MIN_SENTENCES", "SENTENCES_PER_HOUR", "VERSION", "LongAudio", "NegativeAudio",
           "SynthFn", "cached_long_audio", "default_voices", "dipco_parts",
           "ensure_negative_audio", "held_out_voices", "make_chunk", "negative_texts",
           "one_device_per_session"]
