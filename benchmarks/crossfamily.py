"""Wake-word models on voices and speech that easy-oww never trains on.

    .venv/bin/python benchmarks/crossfamily.py [--data DIR] [--model WORD=PATH ...]
    .venv/bin/python benchmarks/crossfamily.py --stand-in DIR   # the "user's folder" stand-in

A project's own report holds out voices of the families it trains on (espeak-ng, Piper);
that says little about people and voices it never heard. This benchmark is built from
sources that the product never trains on, so every figure it prints is out of family:

- positives and near-misses: Debian's SVOX Pico (`libttspico-utils`: en-US, en-GB) and
  RHVoice (`rhvoice-english`: six English voices), each at several rates and pitches, clean
  and mixed with noise (coloured noise, or a crowd of real speakers) at 5-15 dB;
- negative audio: the same synthesizers reading long text of this script's own (about
  1 h), and **real people**: voice acting from `uqm-voice` (The Ur-Quan Masters; CC
  BY-NC-SA 2.5; the human-sounding races below) and `asterisk-core-sounds-en-wav` (telephone
  prompts, CC BY-SA 3.0): about 2.2 h.

`--stand-in DIR` writes other recordings (other uqm-voice races, `fillets-ng-data`'s
English dialogue, GPL-2) to DIR as WAV files: a stand-in for "a folder of your own long
recordings" (`clips.negative_audio_dirs`). It shares no recording and no speaker with the
benchmark's real speech. The official openWakeWord models (shipped in the
openwakeword 0.4.0 wheel) are scored beside the models given with `--model`, streamed as
openWakeWord streams (80 ms frames, 1 s debounce). Reserved for a separate, independent
benchmark and so used neither here nor in training: MBROLA voices, flite, festival, and the
recordings in hedgewars-data, ktuberling-data, warzone2100-data and alsa-utils.

Needs (once, as root): apt-get install libttspico-utils rhvoice rhvoice-english (contrib and
non-free enabled); the script downloads the recording packages with `apt-get download`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from easy_oww.audio.io import load_audio, save_wav, to_int16
from easy_oww.contract import FRAME_SAMPLES, SAMPLE_RATE
from easy_oww.evaluate import metrics as m
from easy_oww.evaluate.intervals import resampled_recall_within

DEFAULT_DATA = Path.home() / ".cache" / "easy-oww-crossfamily"
VERSION = 1
WORDS = {"hey_jarvis": "hey jarvis", "alexa": "alexa", "hey_mycroft": "hey mycroft"}
NEAR_MISSES = {
    "hey_jarvis": ["hey travis", "hey harvest", "hey service", "hey java", "hi davis",
                   "a jar of this"],
    "alexa": ["alexis", "a lexus", "alex", "electra", "a lecture", "hey alexander"],
    "hey_mycroft": ["hey microsoft", "hey minecraft", "my craft", "hey my cross", "hey mike",
                    "hey aircraft"],
}
FOLLOW_UPS = ["what time is it", "turn on the lights", "play some music"]
PICO_VOICES = ["en-US", "en-GB"]
RHVOICE_VOICES = ["alan", "bdl", "clb", "slt", "evgeniy-eng", "lyubov"]
PROSODY = [(1.0, 1.0), (0.85, 1.1), (1.2, 0.9)]  # (rate, pitch) factors
BENCH_RACES = ["starbase", "commander", "syreen", "yehat", "shofixti"]
STAND_IN_RACES = ["melnorme", "pkunk", "utwig", "druuge", "thraddash", "spathi"]
PACKAGES = ["uqm-voice", "asterisk-core-sounds-en-wav", "fillets-ng-data"]
OFFICIAL = {"hey_jarvis": "hey_jarvis_v0.1", "alexa": "alexa_v0.1",
            "hey_mycroft": "hey_mycroft_v0.1"}
TEXT = """\
The old lighthouse keeper climbed the stairs every evening before the sun went down.
Most of the shops in the village close early on Wednesdays.
I would like a cup of tea with a little milk and no sugar, please.
The committee will publish its findings at the end of the month.
Our neighbours painted their front door a bright shade of yellow.
Please leave your shoes by the door and hang your coat on the hook.
The river flooded twice last winter, and the bridge had to be repaired.
He spent the whole afternoon looking for a parking space in town.
A good night's sleep does more for your memory than an hour of revision.
The orchestra tuned their instruments while the audience found their seats.
It takes about forty minutes to walk from the station to the harbour.
She keeps a small notebook in her pocket for ideas that come to her on the bus.
The recipe calls for three eggs, a cup of flour and a pinch of salt.
Nobody expected the match to go to penalties after such a quiet first half.
The museum's new wing is devoted to the history of printing.
Could you tell me where the nearest post office is?
We are sorry, but the number you have dialled is not in service.
My grandfather repaired clocks for a living and never wore a watch himself.
The forecast promises sunshine in the morning and showers later on.
If you hear the alarm, leave the building by the nearest exit.
They planted a row of apple trees along the edge of the field.
The report was late because the printer ran out of ink again.
Turn left at the roundabout and follow the signs for the airport.
Every summer the town holds a festival with music, food and fireworks.
The cat sat on the windowsill watching the birds in the garden.
I'm afraid the doctor is running about twenty minutes behind today.
The bakery on the corner sells the best bread in the neighbourhood.
Remember to switch off the lights when you leave the office.
The children built a sandcastle and decorated it with shells.
A strong wind blew the leaves across the empty playground.
He practised the violin for two hours every day for ten years.
The train was cancelled, so we took a taxi to the conference.
Water boils at a lower temperature at the top of a mountain.
We need to book the hotel before the prices go up in June.
The library lends books, films and even musical instruments.
Please hold the line, your call is important to us.
She opened the letter slowly and read it twice before she spoke.
The bus driver waited for the old man to find his ticket.
There is a small café at the end of the pier that serves fresh fish.
After the storm the sky turned a deep and beautiful orange.
Forty two people signed up for the evening class in pottery.
The engineer checked every cable before switching the machine on.
Don't forget to water the tomatoes while I'm away.
The film was long, but the ending made it worth the wait.
Our team meets on Mondays to plan the work for the week.
The garden gate squeaks every time someone opens it.
A map of the city hangs on the wall of the hotel lobby.
He said he would call back after lunch, but he never did.
The soup needs a little more pepper and a squeeze of lemon.
Snow fell all night, and by morning the roads were closed.
Seven, eight, nine, ten, eleven, twelve, thirteen, fourteen.
Monday, Tuesday, Wednesday, Thursday, Friday, Saturday and Sunday.
Oh no, I think I left the oven on. Well, never mind.
Really? That's amazing, I had no idea. Tell me more.
Hmm, let me think about that for a moment. Okay, yes.
Wow, look at that! Isn't it beautiful? Absolutely gorgeous.
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- sources ---------------------------------------------------------------------------------

def fetch_packages(data: Path) -> Path:
    """The recording packages, downloaded with apt-get and unpacked once."""
    root = data / "packages"
    done = root / ".done"
    if done.is_file():
        return root
    debs = data / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in PACKAGES if not list(debs.glob(f"{p}_*.deb"))]
    if missing:
        log(f"downloading {', '.join(missing)} with apt-get")
        subprocess.run(["apt-get", "download", *missing], cwd=debs, check=True)
    for deb in (d for p in PACKAGES for d in debs.glob(f"{p}_*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    for uqm in root.rglob("*voice*.uqm"):
        with zipfile.ZipFile(uqm) as z:
            z.extractall(root / "uqm")
    done.touch()
    return root


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(root.glob(pattern))


def real_speech_files(root: Path, *, stand_in: bool) -> list[Path]:
    races = STAND_IN_RACES if stand_in else BENCH_RACES
    out = [f for r in races for f in _files(root, f"uqm/**/3dovoice/{r}/*.ogg")]
    if stand_in:
        out += _files(root, "usr/share/games/fillets-ng/sound/*/en/*.ogg")
    else:
        out += _files(root, "usr/share/asterisk/sounds/**/*.wav")
    if not out:
        raise SystemExit(f"no recordings found under {root}: delete it and run again")
    return out


def concat(files: list[Path], rng: np.random.Generator) -> np.ndarray:
    """Recordings one after another with short pauses and a faint noise floor (int16)."""
    parts = []
    for f in files:
        parts.append(load_audio(f).astype(np.float32))
        parts.append(np.zeros(int(rng.uniform(0.2, 1.0) * SAMPLE_RATE), np.float32))
    x = np.concatenate(parts)
    x += rng.standard_normal(len(x)).astype(np.float32) * 3.0
    return to_int16(x / 32768.0)


def pico(text: str, voice: str, rate: float, pitch: float) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "p.wav"
        markup = (f"<speed level='{round(rate * 100)}'><pitch level='{round(pitch * 100)}'>"
                  f"{text}</pitch></speed>")
        subprocess.run(["pico2wave", "-l", voice, "-w", str(out), markup], check=True,
                       capture_output=True)
        return load_audio(out)


def rhvoice(text: str, voice: str, rate: float, pitch: float) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.wav"
        subprocess.run(["RHVoice-test", "-p", voice, "-r", str(round(rate * 100)),
                        "-t", str(round(pitch * 100)), "-o", str(out)], input=text.encode(),
                       check=True, capture_output=True)
        return load_audio(out)


def voices() -> list[tuple[str, str]]:
    for tool in ("pico2wave", "RHVoice-test"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install libttspico-utils rhvoice "
                             "rhvoice-english (contrib and non-free enabled)")
    return [("pico", v) for v in PICO_VOICES] + [("rhvoice", v) for v in RHVOICE_VOICES]


def say(family: str, voice: str, text: str, rate: float, pitch: float) -> np.ndarray:
    fn = pico if family == "pico" else rhvoice
    return fn(text, voice, rate, pitch)


# -- sets ------------------------------------------------------------------------------------

@dataclass
class ClipSet:
    """Clips laid end to end in one stream; clip i spans frames [start[i], end[i])."""

    features: np.ndarray
    start: np.ndarray
    end: np.ndarray
    labels: list[str]


def coloured(white: np.ndarray, slope: float) -> np.ndarray:
    """`white` noise shaped so that its power goes as f ** `slope` (0 white, -1 pink,
    -2 brown), normalised to unit standard deviation."""
    n = len(white)
    f = np.maximum(np.fft.rfftfreq(n, 1 / SAMPLE_RATE), 20.0)
    return unit(np.fft.irfft(np.fft.rfft(white) * f ** (slope / 2), n))


def talk(n: int, rng: np.random.Generator, crowd: np.ndarray) -> np.ndarray:
    """`n` samples of the real people's recordings from a random offset (unit std)."""
    at = int(rng.integers(0, len(crowd) - n))
    return unit(crowd[at:at + n].astype(np.float64))


def unit(x: np.ndarray) -> np.ndarray:
    return np.asarray(x / (np.std(x) + 1e-9), np.float32)


def _noise(n: int, rng: np.random.Generator, crowd: np.ndarray) -> np.ndarray:
    if rng.random() < 0.5:
        return coloured(rng.standard_normal(n), float(rng.choice([0.0, -1.0, -2.0])))
    return talk(n, rng, crowd)


def build_clipset(items: list[tuple[str, np.ndarray]], rng: np.random.Generator,
                  crowd: np.ndarray, frontend: object) -> ClipSet:
    """Each clip clean and again in noise at 5-15 dB, 2 s apart, as one stream."""
    clips = []
    for noisy in (False, True):
        for label, clip in items:
            x = peak_normalised(clip)
            if noisy:
                snr = rng.uniform(5, 15)  # drawn before the noise, as v1 was built
                x = add_noise(x, _noise(len(x), rng, crowd), snr)
            clips.append((label + (" (noisy)" if noisy else ""), x))
    return stream_clipset(clips, rng, frontend)


def peak_normalised(clip: np.ndarray) -> np.ndarray:
    x = clip.astype(np.float32) / 32768.0
    return np.asarray(x / (np.max(np.abs(x)) + 1e-9) * 0.5, np.float32)


def add_noise(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`x` with unit-level `noise` at `snr_db` against the clip's whole RMS."""
    return np.asarray(x + noise * np.std(x) * 10 ** (-snr_db / 20), np.float32)


def stream_clipset(clips: list[tuple[str, np.ndarray]], rng: np.random.Generator,
                   frontend: object) -> ClipSet:
    """The (label, float audio) clips 2 s apart as one stream, over a faint noise floor,
    embedded; each clip's window runs to 1 s after its end."""
    from easy_oww.features.streaming import stream_embeddings

    audio = [np.zeros(2 * SAMPLE_RATE, np.float32)]
    pos = len(audio[0])
    starts, ends = [], []
    for _, x in clips:
        gap = np.zeros(2 * SAMPLE_RATE, np.float32)
        starts.append(pos // FRAME_SAMPLES)
        ends.append((pos + len(x) + SAMPLE_RATE) // FRAME_SAMPLES)
        audio += [x, gap]
        pos += len(x) + len(gap)
    stream = np.concatenate(audio)
    stream += rng.standard_normal(len(stream)).astype(np.float32) * 1e-4
    feats = stream_embeddings(to_int16(stream), frontend)  # type: ignore[arg-type]
    return ClipSet(feats, np.array(starts), np.array(ends), [label for label, _ in clips])


def phrasings(word: str) -> list[str]:
    return [word, word.capitalize() + "!", word + "?", word.capitalize() + ".",
            *(f"{word.capitalize()}, {f}." for f in FOLLOW_UPS)]


def tts_items(texts: list[str], prosody: list[tuple[float, float]]) -> list[tuple[str, np.ndarray]]:
    out = []
    for family, voice in voices():
        for text in texts:
            for rate, pitch in prosody:
                out.append((f"{family}:{voice} {text!r} r{rate} p{pitch}",
                            say(family, voice, text, rate, pitch)))
    return out


def tts_long_audio(rng: np.random.Generator) -> np.ndarray:
    lines = [t for t in TEXT.splitlines() if t.strip()]
    parts = []
    for family, voice in voices():
        for i, line in enumerate(lines):
            rate, pitch = PROSODY[i % len(PROSODY)]
            parts.append(say(family, voice, line, rate, pitch).astype(np.float32))
            parts.append(np.zeros(int(rng.uniform(0.3, 2.0) * SAMPLE_RATE), np.float32))
    x = np.concatenate(parts) / 32768.0
    # a faint noise floor, so that pauses are not digital silence
    x += rng.standard_normal(len(x)).astype(np.float32) * 1e-3
    return to_int16(x)


def ensure_data(data: Path) -> Path:
    """Build the benchmark's feature streams once (cached in `data`)."""
    from easy_oww.features.frontend import FrontEnd
    from easy_oww.features.streaming import stream_embeddings

    out = data / f"v{VERSION}"
    if (out / "meta.json").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    fe = FrontEnd()
    rng = np.random.default_rng(20261201)
    root = fetch_packages(data)
    log("real speech: embedding the benchmark's recordings")
    real = concat(real_speech_files(root, stand_in=False), rng)
    np.save(out / "real.npy", stream_embeddings(real, fe))
    log("TTS long audio: Pico and RHVoice reading the benchmark's text")
    tts = tts_long_audio(rng)
    np.save(out / "tts.npy", stream_embeddings(tts, fe))
    crowd = real.astype(np.float32)
    meta: dict[str, object] = {"real_hours": len(real) / SAMPLE_RATE / 3600,
                               "tts_hours": len(tts) / SAMPLE_RATE / 3600, "words": {}}
    for key, word in WORDS.items():
        log(f"clips: {word!r} and its near misses")
        for kind, texts, prosody in (("pos", phrasings(word), PROSODY),
                                     ("adv", NEAR_MISSES[key], PROSODY)):
            cs = build_clipset(tts_items(texts, prosody), rng, crowd, fe)
            np.savez(out / f"{key}_{kind}.npz", features=cs.features, start=cs.start,
                     end=cs.end, labels=np.array(cs.labels))
        meta["words"][key] = word  # type: ignore[index]
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return out


def write_stand_in(data: Path, folder: Path) -> None:
    """The stand-in for a user's folder of long recordings: other speakers, as WAV."""
    root = fetch_packages(data)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    files = real_speech_files(root, stand_in=True)
    groups: dict[str, list[Path]] = {}
    for f in files:
        groups.setdefault(f.parent.name if "3dovoice" in str(f) else "fillets", []).append(f)
    total = 0.0
    for name, fs in sorted(groups.items()):
        audio = concat(fs, rng)
        save_wav(folder / f"{name}.wav", audio)
        total += len(audio) / SAMPLE_RATE / 3600
    log(f"wrote {len(groups)} recordings ({total:.2f} h) to {folder}")


# -- scoring ---------------------------------------------------------------------------------

def window_scores(model: object, feats: np.ndarray) -> np.ndarray:
    """Score at every frame k (window of frames k-15..k); frames before 15 score 0."""
    from easy_oww.datasets import feature_windows

    w = feature_windows(np.asarray(feats, np.float32))
    s = np.concatenate([model.score_windows(w[i:i + 8192])  # type: ignore[attr-defined]
                        for i in range(0, len(w), 8192)])
    return np.concatenate([np.zeros(len(feats) - len(s), np.float32), s])


def clip_peaks(model: object, path: Path) -> np.ndarray:
    z = np.load(path)
    s = window_scores(model, z["features"])
    return np.array([s[a:b].max() for a, b in zip(z["start"], z["end"])], np.float32)


CONDITIONS = ("pico", "rhvoice", "clean", "noisy", "alone", "followed")


def condition_recall(labels: list[str], peaks: np.ndarray, threshold: float) -> dict[str, float]:
    """Recall at `threshold` by synthesizer, by clean/noisy and by whether a command
    follows the wake word ("Hey jarvis, what time is it.") or nothing does."""
    groups: dict[str, list[bool]] = {c: [] for c in CONDITIONS}
    for label, peak in zip(labels, peaks):
        text = label.split("'")[1]
        for c in (label.split(":")[0], "noisy" if label.endswith("(noisy)") else "clean",
                  "followed" if "," in text else "alone"):
            groups[c].append(bool(peak >= threshold))
    return {c: float(np.mean(v)) if v else float("nan") for c, v in groups.items()}


def negative_scores(model: object, bench: Path) -> dict[str, np.ndarray]:
    """Window scores on the benchmark's negative audio: "tts" and "real" (people)."""
    return {k: window_scores(model, np.load(bench / f"{k}.npy")) for k in ("tts", "real")}


def pooled(neg: dict[str, np.ndarray], debounce: int) -> tuple[np.ndarray, float]:
    """Both negative streams end to end, a debounce apart (no activation spans the two),
    and their hours together."""
    both = np.concatenate([neg["tts"], np.zeros(debounce + 1, np.float32), neg["real"]])
    return both, m.hours_for_frames(len(neg["tts"])) + m.hours_for_frames(len(neg["real"]))


RESAMPLES = 1000
BLOCK_S = 300.0
"""The figures' sampling noise: the clips and 5-minute blocks of the negative audio drawn
again with replacement, the same draws for every model (so they pair)."""


def evaluate(model_path: Path, key: str, bench: Path) -> tuple[dict[str, float], np.ndarray]:
    """The figures of one model, and its recall at <= 0.5 FP/h on each resample."""
    from easy_oww.evaluate.detector import WakeWordModel

    model = WakeWordModel(model_path)
    pos = clip_peaks(model, bench / f"{key}_pos.npz")
    labels = [str(x) for x in np.load(bench / f"{key}_pos.npz")["labels"]]
    adv = clip_peaks(model, bench / f"{key}_adv.npz")
    neg = negative_scores(model, bench)
    hours = {k: m.hours_for_frames(len(v)) for k, v in neg.items()}
    deb = m.debounce_frames_for(1.0)
    both, h = pooled(neg, deb)
    det = m.det_curve(pos, both, h, debounce_frames=deb)
    resampled = resampled_recall_within(
        pos, both, h, 0.5, block_frames=round(BLOCK_S / m.FRAME_S), n_resamples=RESAMPLES,
        debounce_frames=deb)
    lo, hi = np.percentile(resampled, [5, 95])
    return {
        "recall@0.5": m.recall(pos, 0.5),
        "fph_tts@0.5": m.fp_per_hour(neg["tts"], 0.5, hours["tts"], debounce_frames=deb),
        "fph_real@0.5": m.fp_per_hour(neg["real"], 0.5, hours["real"], debounce_frames=deb),
        "fph@0.5": m.fp_per_hour(both, 0.5, h, debounce_frames=deb),
        "recall@<=0.5fph": det.recall_within(0.5),
        "recall@<=0.5fph 5%": float(lo),
        "recall@<=0.5fph 95%": float(hi),
        "det_area": det.area,
        "near_miss@0.5": m.false_accept_rate(adv, 0.5),
        **{f"recall@0.5 {c}": r for c, r in condition_recall(labels, pos, 0.5).items()},
    }, resampled


def paired(rows: list[tuple[str, str, dict[str, float]]], resampled: list[np.ndarray]
           ) -> dict[int, tuple[int, dict[str, float]]]:
    """Each model's recall at <= 0.5 FP/h minus that of the first model of its word (the
    official one when it was scored), over the same resamples."""
    first: dict[str, int] = {}
    out = {}
    for i, (key, name, r) in enumerate(rows):
        if key not in first:
            first[key] = i
            continue
        j = first[key]
        diff = resampled[i] - resampled[j]
        lo, hi = np.percentile(diff, [5, 95])
        out[i] = (j, {"difference": r["recall@<=0.5fph"] - rows[j][2]["recall@<=0.5fph"],
                      "5%": float(lo), "95%": float(hi), "at least": float(np.mean(diff >= 0))})
    return out


def official_model(name: str) -> Path:
    import openwakeword

    return Path(openwakeword.__file__).parent / "resources" / "models" / f"{name}.onnx"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="cache folder")
    ap.add_argument("--model", action="append", default=[], metavar="WORD=PATH",
                    help=f"a model of ours for WORD ({', '.join(WORDS)}); repeatable")
    ap.add_argument("--no-official", action="store_true", help="skip the official models")
    ap.add_argument("--stand-in", type=Path, metavar="DIR",
                    help="write the stand-in folder of real speech to DIR and stop")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    if args.stand_in:
        write_stand_in(args.data, args.stand_in)
        return
    bench = ensure_data(args.data)
    meta = json.loads((bench / "meta.json").read_text())
    rows: list[tuple[str, str, dict[str, float]]] = []
    resampled: list[np.ndarray] = []

    def add(key: str, name: str, path: Path) -> None:
        figures, draws = evaluate(path, key, bench)
        rows.append((key, name, figures))
        resampled.append(draws)

    if not args.no_official:
        for key, name in OFFICIAL.items():
            add(key, f"official {name}", official_model(name))
    for spec in args.model:
        key, _, path = spec.partition("=")
        if key not in WORDS or not path:
            raise SystemExit(f"--model wants WORD=PATH with WORD one of {', '.join(WORDS)}")
        add(key, f"ours {path}", Path(path))
    print(f"measured on: Pico ({', '.join(PICO_VOICES)}) and RHVoice "
          f"({', '.join(RHVOICE_VOICES)}), {len(PROSODY)} prosodies, clean + noisy; negatives "
          f"{meta['tts_hours']:.2f} h TTS + {meta['real_hours']:.2f} h real people "
          f"(uqm-voice {', '.join(BENCH_RACES)}; asterisk prompts)")
    print("| word | model | recall at 0.5 | FP/h at 0.5 (TTS / real) | recall at <= 0.5 FP/h "
          "(90 % interval) | DET area | near-miss fires at 0.5 |")
    print("|---|---|---|---|---|---|---|")
    for key, name, r in rows:
        print(f"| {key} | {name} | {r['recall@0.5']:.3f} | {r['fph_tts@0.5']:.2f} / "
              f"{r['fph_real@0.5']:.2f} | {r['recall@<=0.5fph']:.3f} "
              f"({r['recall@<=0.5fph 5%']:.2f}-{r['recall@<=0.5fph 95%']:.2f}) | "
              f"{r['det_area']:.3f} | {r['near_miss@0.5']:.1%} |")
    print(f"\nThe interval is this benchmark's own sampling noise ({RESAMPLES} resamples of its "
          f"clips and of {BLOCK_S / 60:.0f}-minute blocks of its negatives); a model trained "
          "afresh with other random draws spreads further (docs/evaluation.md).")
    paired_rows = paired(rows, resampled)
    if paired_rows:
        print("\nrecall at <= 0.5 FP/h against the first model of the same word, paired over "
              "the same resamples")
        print("| word | model | against | difference (90 % interval) | resamples where it is "
              "at least as high |")
        print("|---|---|---|---|---|")
        for i, (j, d) in paired_rows.items():
            print(f"| {rows[i][0]} | {rows[i][1]} | {rows[j][1]} | {d['difference']:+.3f} "
                  f"({d['5%']:+.2f} to {d['95%']:+.2f}) | {d['at least']:.0%} |")
    print("\nrecall at 0.5 by condition (a command after the wake word: \"followed\")")
    print("| word | model | " + " | ".join(CONDITIONS) + " |")
    print("|---|---|" + "---|" * len(CONDITIONS))
    for key, name, r in rows:
        print(f"| {key} | {name} | "
              + " | ".join(f"{r[f'recall@0.5 {c}']:.2f}" for c in CONDITIONS) + " |")
    if args.json:
        against = {i: {"against": rows[j][1], **{f"paired {k}": v for k, v in d.items()}}
                   for i, (j, d) in paired_rows.items()}
        args.json.write_text(json.dumps([{"word": k, "model": n, **r, **against.get(i, {})}
                                         for i, (k, n, r) in enumerate(rows)], indent=1))


if __name__ == "__main__":
    main()
