"""TTS throughput: clips per second per backend, with 1 worker and with N worker processes.

Times `easy_oww.tts.synthesize_many` end to end into an empty cache folder (worker start-up,
synthesis, resampling to 16 kHz, trimming, atomic WAV writes), on a seeded plan of
wake-phrase variations spread over the backend's voices, then once more on the full cache
(a rerun should cost only file-existence checks). OpenAI is not benchmarked (network).

    .venv/bin/python benchmarks/tts.py                  # espeak 400 clips, piper 40, kokoro 20
    .venv/bin/python benchmarks/tts.py --espeak 1000 --piper 100 --kokoro 40 --workers 4

The same run prints the ratio of Kokoro's to Piper's seconds per clip with 1 worker, which
is what `KokoroBackend.relative_cost` declares.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from easy_oww.audio.io import load_audio
from easy_oww.contract import SAMPLE_RATE
from easy_oww.text import phrase_variations
from easy_oww.tts import list_voices, plan_requests, synthesize_many


def run(backend: str, n: int, workers: int, seed: int) -> dict[str, object]:
    voices = list_voices(backends=(backend,))
    if not voices:
        return {"backend": backend, "workers": workers, "skipped": "backend not available"}
    texts = phrase_variations("hey jarvis", 50, seed=seed)
    plan = plan_requests(texts, voices, n, seed=seed, speed=(0.8, 1.25), pitch=(0.85, 1.15))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = synthesize_many(plan, Path(tmp), workers=workers)
        elapsed = time.perf_counter() - start
        audio_s = sum(len(load_audio(p)) for p in paths) / SAMPLE_RATE
        start = time.perf_counter()
        synthesize_many(plan, Path(tmp), workers=workers)
        rerun = time.perf_counter() - start
    return {"backend": backend, "workers": workers, "clips": n, "voices": len(voices),
            "seconds": round(elapsed, 2), "clips_per_s": round(n / elapsed, 1),
            "audio_s_per_s": round(audio_s / elapsed, 1), "cached_rerun_s": round(rerun, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--espeak", type=int, default=400, help="espeak-ng clips per run")
    ap.add_argument("--piper", type=int, default=40, help="Piper clips per run")
    ap.add_argument("--kokoro", type=int, default=20, help="Kokoro clips per run")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="worker processes for the parallel run (default: all CPUs)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"# cpus={os.cpu_count()} load={os.getloadavg() if hasattr(os, 'getloadavg') else '?'}")
    per_clip: dict[str, float] = {}
    for backend, n in (("espeak", args.espeak), ("piper", args.piper),
                       ("kokoro", args.kokoro)):
        for workers in sorted({1, args.workers}):
            result = run(backend, n, workers, args.seed)
            print(json.dumps(result), flush=True)
            if workers == 1 and "seconds" in result:
                per_clip[backend] = float(str(result["seconds"])) / n
    if "piper" in per_clip and "kokoro" in per_clip:
        print(f"# kokoro / piper seconds per clip, 1 worker: "
              f"{per_clip['kokoro'] / per_clip['piper']:.1f}")


if __name__ == "__main__":
    main()
