"""Trained models on a larger held-out set than a project's own evaluation.

    .venv/bin/python benchmarks/heldout.py --workspace WS PROJECT [PROJECT ...]
        [--positives 1000] [--hours 6]

A project's report rests on 500 clips (quick preset) and 2 h of negative audio: recall
moves by about 1.3 % per clip-set and false positives per hour in steps of 0.5, too
coarse to tell two settings apart. This makes (once, cached in the workspace) a bench project with the
first project's wake word, seed and voices: `--positives` noisy reverberant clips and
half as many near-miss clips from the held-out voices; and `--hours` of negative audio
from the held-out voices with sentences of its own seed, so it shares nothing with the
audio that chose any project's checkpoint and threshold. Then it prints, for each
trained project, recall at 0, 0.5 and 1 false positives per hour (the best threshold for
each, an upper bound on what any threshold choice achieves) and recall and false
positives per hour at the model's shipped threshold (what the user gets).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from easy_oww.config import load_config, save_config
from easy_oww.evaluate import metrics as m
from easy_oww.evaluate.detector import WakeWordModel
from easy_oww.evaluate.windows import clip_peaks
from easy_oww.evaluate.windows import score_stream as stream_scores
from easy_oww.features.store import open_features
from easy_oww.pipeline.negatives import FRAMES_PER_HOUR
from easy_oww.pipeline.run import run_train
from easy_oww.workspace import Workspace

BENCH_SEED_OFFSET = 271_828  # the bench's negative audio: sentences no project uses


def ensure_bench(ws: Workspace, source: str, positives: int) -> Path:
    """The bench project (held-out clips only: training is a token 10 steps, and a loose
    target keeps its own validation audio short)."""
    cfg = load_config(ws.project(source).config)
    name = f"bench-{cfg.seed}-{positives}"
    paths = ws.project(name)
    if not (paths.evaluation / "report.json").is_file():
        for folder in paths.folders():
            folder.mkdir(parents=True, exist_ok=True)
        data = cfg.model_dump(mode="json")
        data["name"] = name
        data["clips"].update(n_positive=10, n_adversarial=10, n_negative_speech=10,
                             negative_audio_hours=0.0, n_eval_positive=positives,
                             n_eval_adversarial=positives // 2)
        data["augment"]["rounds"] = 1
        data["training"].update(steps=10, validate_every=10, ensemble=1)
        data["evaluation"].update(negative_hours=0.05, target_fp_per_hour=20.0)
        save_config(type(cfg).model_validate(data), paths.config)
        run_train(ws, name, device="cpu")
    return paths.root


def bench_audio(ws: Workspace, source: str, hours: float) -> np.ndarray:
    """`hours` of held-out negative audio with the bench's own sentences ([frames, 96])."""
    from easy_oww.negative_audio import ensure_negative_audio
    from easy_oww.pipeline.clips import voice_split

    cfg = load_config(ws.project(source).config)
    audio = ensure_negative_audio(ws, hours=hours, seed=cfg.seed + BENCH_SEED_OFFSET,
                                  exclude=cfg.wake_word, voices=voice_split(cfg, ws)[1],
                                  keep_audio=False)
    return np.asarray(audio.embeddings(), dtype=np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workspace", required=True, type=Path)
    ap.add_argument("projects", nargs="+")
    ap.add_argument("--positives", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=6.0)
    args = ap.parse_args()
    ws = Workspace(args.workspace)
    bench = ensure_bench(ws, args.projects[0], args.positives)
    pos = open_features(bench / "features" / "eval_positive").load_all()
    adv = open_features(bench / "features" / "eval_adversarial").load_all()
    neg = bench_audio(ws, args.projects[0], args.hours)
    hours = len(neg) / FRAMES_PER_HOUR
    debounce = m.debounce_frames_for(1.0)
    print(f"bench: {len(pos)} positive and {len(adv)} near-miss clips, {hours:.2f} h of "
          f"negative audio, all from held-out voices")
    print("project | recall @0 FP/h | @0.5 | @1 | shipped threshold | recall there | "
          "FP/h there | near-miss fires there")
    for name in args.projects:
        paths = ws.project(name)
        config = load_config(paths.config)
        model = WakeWordModel(paths.model)
        ps, ns, ads = clip_peaks(model, pos), stream_scores(model, neg), clip_peaks(model, adv)
        at = [m.threshold_for_target(ps, ns, hours, t, debounce_frames=debounce).recall
              for t in (0.0, 0.5, 1.0)]
        shipped = json.loads(paths.model_card_json.read_text())["recommended_threshold"]
        fph = m.fp_per_hour(ns, shipped, hours, debounce_frames=debounce)
        print(f"{name} ({config.preset.value}) | {at[0]:.3f} | {at[1]:.3f} | {at[2]:.3f} | "
              f"{shipped:.3f} | {m.recall(ps, shipped):.3f} | {fph:.2f} | "
              f"{m.false_accept_rate(ads, shipped):.1%}")


if __name__ == "__main__":
    main()
