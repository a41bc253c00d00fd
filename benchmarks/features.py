"""Feature-extraction benchmark: openWakeWord's reference embed_clips vs easy-oww's front end.

One seeded workload (default 2,000 clips of 2 s, 16 kHz int16) through:

  (a) openwakeword.utils.AudioFeatures.embed_clips, ncpu=1, batch 64  (the macOS workaround)
  (b) the same with ncpu=2, batch 128                                  (upstream's default use)
  (c) easy_oww.features.store.extract_features, 1 worker              (in-process)
  (d) the same with one worker process per core                       (spawn)

Each configuration runs in its own process, so peak memory (max RSS of the process and of
its largest worker) is its own. (c) and (d) are timed end to end: worker start-up, audio
generation, embedding and atomic shard writes. Reports audio-seconds per second and the
ratio to (a) measured in the same run; also audio-seconds per CPU-second (user + system
time of the process and its workers), which a busy shared machine disturbs much less. The workload is generated once and
read from a file by every configuration (audio generation is not timed), plus the max abs difference between (c)'s stored
features and (a)'s.

    .venv/bin/python benchmarks/features.py            # 2,000 clips
    .venv/bin/python benchmarks/features.py --clips 500
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from easy_oww.contract import SAMPLE_RATE
from easy_oww.features.store import FeatureJob, extract_features, open_features
from easy_oww.rng import item_rng

SECONDS = 2.0
SEED = 1234
CONFIGS = {
    "a": "reference embed_clips, ncpu=1, batch 64",
    "b": "reference embed_clips, ncpu=2, batch 128",
    "c": "easy-oww, 1 worker",
    "d": "easy-oww, all cores",
}


@dataclass(frozen=True)
class SpeechLikeAudio:
    """Picklable audio_fn: voiced bursts + noise at a random level, from the job's rng."""

    seconds: float = SECONDS

    def __call__(self, job: FeatureJob, rng: np.random.Generator) -> np.ndarray:
        n = int(self.seconds * SAMPLE_RATE)
        t = np.arange(n) / SAMPLE_RATE
        f0 = rng.uniform(90, 250)
        env = (np.sin(2 * np.pi * rng.uniform(2, 4) * t + rng.uniform(0, 6)) > 0).astype(float)
        sig = env * np.sin(2 * np.pi * f0 * t) + 0.05 * rng.standard_normal(n)
        level = 10 ** rng.uniform(-2.5, -0.1)
        return (sig / np.abs(sig).max() * level * 32767).astype(np.int16)


@dataclass(frozen=True)
class StoredAudio:
    """Picklable audio_fn: row `job.source` of the raw int16 workload file.

    Read with ordinary file reads (not a memory map), so the page cache of the workload
    does not show up in the extractor's RSS.
    """

    path: str
    samples: int = int(SECONDS * SAMPLE_RATE)

    def __call__(self, job: FeatureJob, rng: np.random.Generator) -> np.ndarray:
        offset = int(job.source) * self.samples * 2
        return np.fromfile(self.path, dtype=np.int16, count=self.samples, offset=offset)


def make_jobs(clips: int) -> list[FeatureJob]:
    return [FeatureJob(key=f"bench_{i:06d}", source=str(i), round=0, label=0)
            for i in range(clips)]


def workload(clips: int) -> np.ndarray:
    fn = SpeechLikeAudio()
    return np.stack([fn(j, item_rng(SEED, j.key, j.round, "augment")) for j in make_jobs(clips)])


def peak_self_mb() -> float:
    """This process's peak RSS. VmHWM, unlike ru_maxrss, is not inherited across exec."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_children_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB


def cpu_seconds() -> float:
    """User + system CPU time of this process and its reaped children (workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_one(config: str, clips: int, out: Path) -> dict[str, float]:
    """Run one configuration in this process; returns its timing and memory."""
    if config in ("a", "b"):
        audio = np.fromfile(out / "workload.bin", dtype=np.int16).reshape(clips, -1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from openwakeword.utils import AudioFeatures

            ncpu, batch = (1, 64) if config == "a" else (2, 128)
            ref = AudioFeatures(ncpu=ncpu)
            start, cpu0 = time.perf_counter(), cpu_seconds()
            feats = ref.embed_clips(audio, batch_size=batch, ncpu=ncpu)
            seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
        np.save(out / f"ref_{config}.npy", feats[:64])
    else:
        workers = 1 if config == "c" else (os.cpu_count() or 1)
        start, cpu0 = time.perf_counter(), cpu_seconds()
        extract_features(make_jobs(clips), out / f"store_{config}",
                         StoredAudio(str(out / "workload.bin")),
                         seed=SEED, workers=workers)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
    return {"seconds": seconds, "cpu_seconds": cpu,
            "rss_mb": peak_self_mb(), "child_rss_mb": peak_children_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=2000, help="number of 2 s clips")
    parser.add_argument("--only", default="abcd", help="configurations to run, e.g. 'acd'")
    parser.add_argument("--_run", default="", help=argparse.SUPPRESS)
    parser.add_argument("--_out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._run == "gen":  # in its own process, so no measured process inherits its peak
        workload(args.clips).tofile(Path(args._out) / "workload.bin")
        return
    if args._run:
        print(json.dumps(run_one(args._run, args.clips, Path(args._out))))
        return
    audio_seconds = args.clips * SECONDS
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="easy_oww_bench_") as tmp:
        for config in ["gen", *args.only]:
            run = subprocess.run(
                [sys.executable, __file__, "--clips", str(args.clips), "--_run", config,
                 "--_out", tmp], capture_output=True, text=True, check=True)
            if config != "gen":
                results[config] = json.loads(run.stdout.strip().splitlines()[-1])
        diff = float("nan")
        if "a" in results and "c" in results:
            ours = open_features(Path(tmp) / "store_c").take(range(64))
            diff = float(np.abs(ours - np.load(Path(tmp) / "ref_a.npy")).max())
    print(f"workload: {args.clips} clips x {SECONDS:g} s = {audio_seconds:g} audio-s, "
          f"{os.cpu_count()} CPU cores, load: {os.getloadavg()[0]:.2f} "
          f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"{'config':<44} {'wall s':>7} {'audio-s/s':>9} {'vs (a)':>7} "
          f"{'audio-s/CPU-s':>13} {'vs (a)':>7} {'RSS MB':>6} {'worker MB':>9}")
    base = results.get("a", {})
    for config, r in results.items():
        speed = audio_seconds / r["seconds"]
        ratio = f"{base['seconds'] / r['seconds']:.2f}x" if base else "-"
        per_cpu = audio_seconds / r["cpu_seconds"]
        cpu_ratio = f"{base['cpu_seconds'] / r['cpu_seconds']:.2f}x" if base else "-"
        worker = f"{r['child_rss_mb']:.0f}" if config == "d" else "-"
        print(f"({config}) {CONFIGS[config]:<40} {r['seconds']:>7.2f} {speed:>9.0f} "
              f"{ratio:>7} {per_cpu:>13.0f} {cpu_ratio:>7} {r['rss_mb']:>6.0f} {worker:>9}")
    if not np.isnan(diff):
        print(f"max abs difference (c) vs (a), first 64 clips: {diff:.2e}")


if __name__ == "__main__":
    main()
