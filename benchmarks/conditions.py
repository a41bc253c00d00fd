"""What sets a model off and what hides the wake word from it: one condition at a time.

    .venv/bin/python benchmarks/conditions.py --speech DIR [--talker WAV] [--minutes 30] \\
        [--official hey_jarvis] --model PATH [--model PATH ...]

A diagnostic beside `crossfamily.py`, for finding shortcuts: a model that learned that some
processing (reverb, noise, EQ) means the wake word fires on any speech processed that way.

- Negatives: the first `--minutes` of the WAV files in `--speech` (e.g. a project's held-out
  validation audio, `cache/negative_audio/<key>/chunk_*.wav`), scored as they are and again
  with each 10 s in a simulated room, pitch-shifted (+-4 semitones) or through an EQ
  (each with the probability of training's augmentation); false activations per hour at
  0.5, 1 s debounce.
- Positives: "hey jarvis" (three phrasings, two prosodies) by the Pico and RHVoice voices
  of `crossfamily.py` (never trained on), clean, in coloured noise, behind one real talker
  (`--talker`: a long recording of speech, e.g. the stand-in folder of `crossfamily.py
  --stand-in`), and in a room, at `--snr` dB; recall at 0.5.

Rooms are simulated shoebox rooms of another seed than any project's (the simulator is the
one training uses, so these are new rooms of a known kind, not another simulator's).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from easy_oww.audio.io import load_audio, to_int16
from easy_oww.augment import effects
from easy_oww.augment import noise as gen
from easy_oww.augment.ops import apply_rir
from easy_oww.augment.rooms import simulated_rooms
from easy_oww.contract import SAMPLE_RATE
from easy_oww.evaluate import metrics as m

sys.path.insert(0, str(Path(__file__).resolve().parent))
import crossfamily as cf

SEGMENT = 10 * SAMPLE_RATE
ROOM_SEED = 5
PHRASES = ["hey jarvis", "Hey jarvis!", "Hey jarvis, what time is it."]


def processed(x: np.ndarray, kind: str, rng: np.random.Generator,
              rooms: list[np.ndarray]) -> np.ndarray:
    """`x` (float32) with every 10 s segment processed by `kind` with its probability."""
    if kind == "dry":
        return x
    out = []
    for i in range(0, len(x), SEGMENT):
        s = x[i:i + SEGMENT]
        if kind == "room" and rng.random() < 0.6:
            s = apply_rir(s, rooms[int(rng.integers(len(rooms)))])
        elif kind == "pitch" and rng.random() < 0.5:
            s = effects.pitch_tempo(s, float(rng.uniform(-4, 4)), 1.0)[:len(s)]
        elif kind == "eq" and rng.random() < 0.4:
            s = effects.apply_eq(s, effects.sample_eq(rng))
        out.append(np.asarray(s, np.float32))
    return np.concatenate(out)


def speech_rates(model: object, speech: list[np.ndarray], rooms: list[np.ndarray],
                 frontend: object) -> dict[str, float]:
    from easy_oww.features.streaming import stream_embeddings

    out = {}
    deb = m.debounce_frames_for(1.0)
    for kind in ("dry", "room", "pitch", "eq"):
        rng = np.random.default_rng(0)
        scores = []
        for x in speech:
            y = np.clip(processed(x, kind, rng, rooms), -1, 1)
            feats = stream_embeddings(to_int16(y), frontend)  # type: ignore[arg-type]
            scores.append(cf.window_scores(model, feats))
        s = np.concatenate(scores)
        out[kind] = m.fp_per_hour(s, 0.5, m.hours_for_frames(len(s)), debounce_frames=deb)
    return out


def noise(kind: str, n: int, rng: np.random.Generator, talker: np.ndarray | None) -> np.ndarray:
    if kind == "talker":
        assert talker is not None
        at = int(rng.integers(0, len(talker) - n))
        x = talker[at:at + n]
    else:
        x = gen.coloured_noise(kind, n, rng)
    return np.asarray(x / (np.std(x) + 1e-9), np.float32)


def positive_recall(model: object, clips: list[np.ndarray], kinds: list[str], snr: float,
                    rooms: list[np.ndarray], talker: np.ndarray | None,
                    frontend: object) -> dict[str, float]:
    from easy_oww.features.streaming import stream_embeddings

    out = {}
    pad = np.zeros(SAMPLE_RATE, np.float32)
    for kind in kinds:
        rng = np.random.default_rng(1)
        peaks = []
        for c in clips:
            x = c.astype(np.float32) / 32768.0
            x = x / (np.max(np.abs(x)) + 1e-9) * 0.5
            if kind == "room":
                x = apply_rir(np.concatenate([x, pad[:8000]]), rooms[int(rng.integers(len(rooms)))])
            elif kind != "clean":
                x = x + noise(kind, len(x), rng, talker) * np.std(x) * 10 ** (-snr / 20)
            feats = stream_embeddings(to_int16(np.concatenate([pad, x, pad])), frontend)  # type: ignore[arg-type]
            peaks.append(cf.window_scores(model, feats).max())
        out[kind] = float(np.mean(np.array(peaks) >= 0.5))
    return out


def main() -> None:
    from easy_oww.evaluate.detector import WakeWordModel
    from easy_oww.features.frontend import FrontEnd

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--speech", type=Path, required=True,
                    help="folder of WAV files of speech without the wake word")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--talker", type=Path, help="a long recording of real speech")
    ap.add_argument("--snr", type=float, default=10.0)
    ap.add_argument("--model", action="append", default=[], metavar="PATH")
    ap.add_argument("--official", action="append", default=[], choices=list(cf.OFFICIAL))
    args = ap.parse_args()
    files = sorted(args.speech.glob("*.wav"))
    if not files:
        raise SystemExit(f"no WAV files in {args.speech}")
    speech, total = [], 0
    for f in files:
        if total >= args.minutes * 60 * SAMPLE_RATE:
            break
        speech.append(load_audio(f).astype(np.float32) / 32768.0)
        total += len(speech[-1])
    talker = load_audio(args.talker).astype(np.float32) if args.talker else None
    kinds = ["clean", "white", "pink", *(["talker"] if talker is not None else []), "room"]
    clips = [cf.say(f, v, t, r, p) for f, v in cf.voices() for t in PHRASES
             for r, p in cf.PROSODY[:2]]
    rooms = simulated_rooms(16, ROOM_SEED)
    frontend = FrontEnd()
    models = [(f"official {cf.OFFICIAL[k]}", cf.official_model(cf.OFFICIAL[k]))
              for k in args.official] + [(p, Path(p)) for p in args.model]
    print(f"negatives: {total / SAMPLE_RATE / 60:.0f} min of {args.speech}; positives: "
          f"{len(clips)} Pico/RHVoice clips, noise at {args.snr:g} dB")
    print("| model | FP/h at 0.5: dry / rooms / pitch / EQ | recall at 0.5: "
          + " / ".join(kinds) + " |")
    print("|---|---|---|")
    for name, path in models:
        model = WakeWordModel(path)
        fp = speech_rates(model, speech, rooms, frontend)
        rec = positive_recall(model, clips, kinds, args.snr, rooms, talker, frontend)
        print(f"| {name} | " + " / ".join(f"{fp[k]:.1f}" for k in ("dry", "room", "pitch", "eq"))
              + " | " + " / ".join(f"{rec[k]:.2f}" for k in kinds) + " |", flush=True)


if __name__ == "__main__":
    main()
