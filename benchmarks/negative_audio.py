"""What the rooms, other voices and other timbres cost the long negative audio: chunks made
dry, in the positives' rooms, in rooms with another voice for a share of the utterances,
and with another timbre too.

    .venv/bin/python benchmarks/negative_audio.py [--chunks 4] [--sentences 200]

Makes the same chunks (300 s, the pipeline's size) without rooms, with rooms
(`augment.rir_probability` 0.6, the positives' rooms from `build_sources`), with rooms
and the default voice shift (`augment.voice_probability` and ranges) and with the default
timbre as well (`augment.timbre_probability`, `augment.timbre_db`), alternating, and
embeds each once: the negative audio phase spends its CPU on exactly these steps after
TTS. Printed: CPU seconds of each and the ratios to the dry chunks for making plus
embedding, measured in the same run. The sentences are synthetic harmonic tones, so no
TTS is needed (the cost of a convolution or an envelope warp does not depend on what is
said).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from easy_oww.audio.io import to_int16
from easy_oww.augment import build_sources
from easy_oww.augment.effects import VoiceShift
from easy_oww.config import AugmentConfig
from easy_oww.contract import SAMPLE_RATE
from easy_oww.features.frontend import FrontEnd
from easy_oww.negative_audio.chunks import make_chunk
from easy_oww.negative_audio.generate import CHUNK_SECONDS
from easy_oww.negative_audio.streams import stream_features


def sentences(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        t = np.arange(int(rng.uniform(1.0, 4.0) * SAMPLE_RATE)) / SAMPLE_RATE
        f0 = rng.uniform(90, 220)
        env = 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(3, 6) * t))
        x = env * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
        out.append((0.1 * x).astype(np.float32))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--sentences", type=int, default=200)
    args = ap.parse_args()
    pool = sentences(args.sentences, np.random.default_rng(0))
    rooms = build_sources(None, seed=1234).rirs
    frontend = FrontEnd()
    full = VoiceShift.of(AugmentConfig())
    voices = {"dry": None, "rooms": None,
              "rooms + voice": dataclasses.replace(full, timbre_probability=0.0),
              "rooms + voice + timbre": full}
    cpu = dict.fromkeys([*voices, "embed"], 0.0)
    for i in range(args.chunks):
        for kind, voice in voices.items():
            start = time.process_time()
            chunk = make_chunk(pool, CHUNK_SECONDS, np.random.default_rng(i),
                               rooms=rooms if kind != "dry" else (), room_probability=0.6,
                               voice=voice)
            cpu[kind] += time.process_time() - start
        start = time.process_time()
        stream_features(to_int16(chunk), frontend)
        cpu["embed"] += time.process_time() - start
    minutes = args.chunks * CHUNK_SECONDS / 60
    print(f"{args.chunks} chunks ({minutes:.0f} min of audio), {len(rooms)} rooms, voice "
          f"p {full.probability}, timbre p {full.timbre_probability}, CPU seconds:")
    for kind in cpu:
        print(f"  {'embedding' if kind == 'embed' else 'making, ' + kind:32s} {cpu[kind]:7.1f}")
    for kind in ("rooms", "rooms + voice", "rooms + voice + timbre"):
        ratio = (cpu[kind] + cpu["embed"]) / (cpu["dry"] + cpu["embed"])
        print(f"making + embedding, {kind} / dry: x{ratio:.3f}")
    for kind, base in (("rooms + voice", "rooms"), ("rooms + voice + timbre", "rooms + voice")):
        ratio = (cpu[kind] + cpu["embed"]) / (cpu[base] + cpu["embed"])
        print(f"making + embedding, {kind} / {base}: x{ratio:.3f}")

if __name__ == "__main__":
    main()
