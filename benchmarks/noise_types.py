"""Recall on voices easy-oww never trains on, by kind of noise, beside the official models.

    .venv/bin/python benchmarks/noise_types.py [--model WORD=PATH ...] [--no-official] \\
        [--voices espeak]

`crossfamily.py` reports its noisy clips as one condition. This script takes the same
positives (Pico and RHVoice saying each word's phrasings at three prosodies, built with
`crossfamily.py`'s own functions) and hears each of them clean and behind each kind of the
benchmark's noise, mixed as it mixes (over the clip only, SNR against the clip's whole
RMS): white, pink and brown noise, and a real person speaking (the benchmark's own
recordings of real people, uqm-voice and asterisk prompts: one talker, as a television or a
conversation behind the wake word), at 5-10 dB and 10-15 dB. Each model is scored at two
thresholds: 0.5, and the lowest threshold at which it makes at most 0.5 false activations
per hour on the crossfamily benchmark's negative audio (TTS and real people together), so
that a timid model and a trigger-happy one are compared where each meets that rate.

`--voices espeak` hears eight espeak-ng voices instead (`espeak-ng` on the PATH), a family
every easy-oww model trains on, perhaps the very voices: not a quality figure, but it
tells apart noise that training never covered (misses on these voices too) from noise
that hides the wake word only in voices training never heard.

Development only: it says where the misses are, not how good a model is. Needs what
`crossfamily.py` needs; its feature streams are cached in --data (about 5 min per word to
build on two cores).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import crossfamily as cf

from easy_oww.evaluate import metrics as m

VERSION = 1
KINDS = {"white": 0.0, "pink": -1.0, "brown": -2.0, "talker": None}  # power slope, or speech
SNRS = ((5.0, 10.0), (10.0, 15.0))
CONDITIONS = ["clean"] + [f"{k} {lo:g}-{hi:g}" for k in KINDS for lo, hi in SNRS]


ESPEAK_VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb+m3", "en-us+f2", "en-029",
                 "en-gb-x-rp+f4", "en-us+m7"]


def espeak_items(texts: list[str],
                 prosody: list[tuple[float, float]]) -> list[tuple[str, np.ndarray]]:
    """Like `crossfamily.tts_items`, spoken by espeak-ng's command-line program."""
    import shutil
    import subprocess
    import tempfile

    from easy_oww.audio.io import load_audio

    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is missing: apt-get install espeak-ng")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "e.wav"
        for voice in ESPEAK_VOICES:
            for text in texts:
                for rate, pitch in prosody:
                    subprocess.run(["espeak-ng", "-v", voice, "-s", str(round(160 * rate)),
                                    "-p", str(round(50 * pitch)), "-w", str(wav), text],
                                   check=True, capture_output=True)
                    out.append((f"espeak:{voice} {text!r}", load_audio(wav)))
    return out


def _noise(kind: str, n: int, rng: np.random.Generator, talk: np.ndarray) -> np.ndarray:
    slope = KINDS[kind]
    return cf.talk(n, rng, talk) if slope is None else cf.coloured(rng.standard_normal(n), slope)


def build(key: str, data: Path, talk: np.ndarray, fe: object, voices: str = "benchmark") -> Path:
    """The word's positives once clean and once per condition, 2 s apart, as one stream."""
    path = data / f"noise_types_v{VERSION}" / f"{key}_{voices}.npz"
    if path.is_file():
        return path
    rng = np.random.default_rng(20261205)
    make = espeak_items if voices == "espeak" else cf.tts_items
    items = make(cf.phrasings(cf.WORDS[key]), cf.PROSODY)
    clips = []
    for condition in CONDITIONS:
        for _, clip in items:
            x = cf.peak_normalised(clip)
            if condition != "clean":
                kind, band = condition.split()
                lo, hi = (float(v) for v in band.split("-"))
                snr = rng.uniform(lo, hi)
                x = cf.add_noise(x, _noise(kind, len(x), rng, talk), snr)
            clips.append((condition, x))
    cs = cf.stream_clipset(clips, rng, fe)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, features=cs.features, start=cs.start, end=cs.end,
             labels=np.array(cs.labels))
    tmp.replace(path)
    return path


def threshold_at(model: object, bench: Path, fp_per_hour: float = 0.5) -> float:
    """The lowest threshold with at most `fp_per_hour` on the benchmark's negative audio."""
    deb = m.debounce_frames_for(1.0)
    both, hours = cf.pooled(cf.negative_scores(model, bench), deb)
    det = m.det_curve(np.zeros(1, np.float32), both, hours, debounce_frames=deb)
    ok = det.fp_per_hour <= fp_per_hour
    return float(det.thresholds[ok].min()) if ok.any() else 1.0


def main() -> None:
    from easy_oww.evaluate.detector import WakeWordModel
    from easy_oww.features.frontend import FrontEnd

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=cf.DEFAULT_DATA, help="cache folder")
    ap.add_argument("--model", action="append", default=[], metavar="WORD=PATH",
                    help=f"a model of ours for WORD ({', '.join(cf.WORDS)}); repeatable")
    ap.add_argument("--no-official", action="store_true", help="skip the official models")
    ap.add_argument("--voices", choices=["benchmark", "espeak"], default="benchmark",
                    help="Pico and RHVoice (never trained on), or espeak-ng (always trained on)")
    args = ap.parse_args()
    models: list[tuple[str, str, Path]] = []
    if not args.no_official:
        models += [(k, f"official {n}", cf.official_model(n)) for k, n in cf.OFFICIAL.items()]
    for spec in args.model:
        key, _, path = spec.partition("=")
        if key not in cf.WORDS or not path:
            raise SystemExit(f"--model wants WORD=PATH with WORD one of {', '.join(cf.WORDS)}")
        models.append((key, f"ours {path}", Path(path)))
    bench = cf.ensure_data(args.data)
    root = cf.fetch_packages(args.data)
    talk = cf.concat(cf.real_speech_files(root, stand_in=False),
                     np.random.default_rng(1)).astype(np.float32)
    fe = FrontEnd()
    print(f"voices: {args.voices}; recall by condition: at 0.5 / at the model's <= 0.5 FP/h "
          "threshold (t)")
    print("| word | model | t | " + " | ".join(CONDITIONS) + " |")
    print("|---|---|---|" + "---|" * len(CONDITIONS))
    for key, name, path in models:
        clips = build(key, args.data, talk, fe, args.voices)
        model = WakeWordModel(path)
        peaks = cf.clip_peaks(model, clips)
        labels = np.array([str(x) for x in np.load(clips)["labels"]])
        t = threshold_at(model, bench)
        cells = [f"{np.mean(peaks[labels == c] >= 0.5):.2f} / "
                 f"{np.mean(peaks[labels == c] >= t):.2f}" for c in CONDITIONS]
        print(f"| {key} | {name} | {t:.3f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
