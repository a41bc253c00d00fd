"""What the rooms cost the long negative audio: chunks made dry and in the positives' rooms.

    .venv/bin/python benchmarks/negative_audio.py [--chunks 4] [--sentences 200]

Makes the same chunks (300 s, the pipeline's size) without and with rooms
(`augment.rir_probability` 0.6, the positives' rooms from `build_sources`), alternating,
and embeds each once: the negative audio phase spends its CPU on exactly these two steps
after TTS. Printed: CPU seconds of each and the ratio "with rooms / without" for making
plus embedding, measured in the same run. The sentences are synthetic harmonic tones, so
no TTS is needed (the cost of a convolution does not depend on what is said).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from easy_oww.audio.io import to_int16
from easy_oww.augment import build_sources
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
    cpu = {"dry": 0.0, "rooms": 0.0, "embed": 0.0}
    for i in range(args.chunks):
        for kind in ("dry", "rooms"):
            start = time.process_time()
            chunk = make_chunk(pool, CHUNK_SECONDS, np.random.default_rng(i),
                               rooms=rooms if kind == "rooms" else (), room_probability=0.6)
            cpu[kind] += time.process_time() - start
        start = time.process_time()
        stream_features(to_int16(chunk), frontend)
        cpu["embed"] += time.process_time() - start
    minutes = args.chunks * CHUNK_SECONDS / 60
    print(f"{args.chunks} chunks ({minutes:.0f} min of audio), {len(rooms)} rooms, CPU seconds:")
    print(f"  making, dry       {cpu['dry']:7.1f}")
    print(f"  making, in rooms  {cpu['rooms']:7.1f}")
    print(f"  embedding         {cpu['embed']:7.1f}")
    ratio = (cpu["rooms"] + cpu["embed"]) / (cpu["dry"] + cpu["embed"])
    print(f"making + embedding, with rooms / without: x{ratio:.3f}")


if __name__ == "__main__":
    main()
