"""`augment-preview`: a handful of augmented examples to hear, and their spectrograms to see.

The clips are the project's own recordings, else a few espeak-ng takes of the wake word,
else synthetic chirps (so the preview always works). Babble noise is made from these same
clips here (training makes it from TTS negative sentences).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from easy_oww.augment.augmenter import Augmenter, save_examples
from easy_oww.augment.ops import place_in_window
from easy_oww.augment.sources import build_sources
from easy_oww.contract import FRAME_SAMPLES, MODEL_INPUT_FRAMES, SAMPLE_RATE
from easy_oww.contract import samples_for_embedding_frames as _samples_for
from easy_oww.fsutil import disk_space
from easy_oww.progress import ProgressFn
from easy_oww.project import AUDIO_GLOBS, Project
from easy_oww.workspace import Workspace

log = logging.getLogger(__name__)

MAX_CLIPS = 8
PNG_BYTES = 3_000_000  # a generous bound for the spectrogram grid


@dataclass(frozen=True)
class PreviewResult:
    out_dir: Path
    wavs: tuple[Path, ...]
    png: Path | None
    clip_source: str  # "recordings", "tts" or "tones"
    window_samples: int
    descriptions: tuple[str, ...]


def run_preview(project: Project, workspace: Workspace, *, count: int = 8,
                out_dir: Path | None = None, seed: int | None = None, plot: bool = True,
                progress: ProgressFn | None = None) -> PreviewResult:
    """Write `count` augmented examples (+ the dry first clip) and a spectrogram PNG."""
    cfg = project.config
    seed = cfg.seed if seed is None else seed
    out_dir = out_dir or project.paths.root / "augment_preview"
    clips, source = preview_clips(project, workspace)
    window = preview_window(cfg.clips.clip_duration, clips)
    if progress:
        progress("augment preview", 0, count)
    # the clips themselves stand in for the speech that may follow a phrase
    sources = build_sources(workspace, seed=seed, babble=clips, speech=clips)
    augmenter = Augmenter(cfg.augment, sources, window)
    with disk_space(out_dir, preview_bytes(count, window, plot), "augment-preview"):
        wavs = save_examples(augmenter, clips, out_dir, count, seed)
        from easy_oww.audio.io import save_wav

        dry = place_in_window(clips[0], window, np.random.default_rng(seed), (0.1, 0.1))
        dry_path = save_wav(out_dir / "dry.wav",
                            np.clip(dry * 32768, -32768, 32767).astype(np.int16))
        lines = (out_dir / "examples.txt").read_text(encoding="utf-8").splitlines()
        descriptions = tuple(line.split("\t", 1)[1] for line in lines)
        if progress:
            progress("augment preview", count, count)
        png = None
        if plot:
            png = plot_spectrograms([dry_path, *wavs], ["dry", *descriptions],
                                    out_dir / "spectrograms.png")
    return PreviewResult(out_dir, tuple(wavs), png, source, window, descriptions)


def preview_bytes(count: int, window: int, plot: bool) -> int:
    """What a preview writes: count + 1 WAVs of `window` samples, the text, the PNG."""
    return (count + 1) * (2 * window + 44) + 64_000 + (PNG_BYTES if plot else 0)


def preview_window(clip_duration: object, clips: list[np.ndarray]) -> int:
    """The training window: the configured length, or (like the features phase) the
    median clip length rounded to 1000 samples plus 0.75 s, at least 16 embedding frames."""
    least = _samples_for(MODEL_INPUT_FRAMES)
    if isinstance(clip_duration, (int, float)):
        return max(least, int(float(clip_duration) * SAMPLE_RATE))
    median = float(np.median([len(c) for c in clips]))
    return max(least, round(median / 1000.0) * 1000 + 12_000)


def preview_clips(project: Project, workspace: Workspace) -> tuple[list[np.ndarray], str]:
    from easy_oww.audio.io import load_audio

    recs = sorted(p for g in AUDIO_GLOBS for p in project.paths.recordings.glob(g))
    if recs:
        return [load_audio(p) for p in recs[:MAX_CLIPS]], "recordings"
    spoken = _tts_clips(project.config.wake_word, workspace)
    if spoken:
        return spoken, "tts"
    return [synthetic_phrase(np.random.default_rng(i), 0.6 + 0.15 * i) for i in range(4)], "tones"


def _tts_clips(text: str, workspace: Workspace) -> list[np.ndarray]:
    """A few espeak-ng takes of the wake word; empty when the TTS stage is unavailable."""
    try:
        from easy_oww.tts import SynthesisRequest, list_voices, synthesize

        voices = list_voices(workspace, backends=("espeak",))[:4]
        return [synthesize(SynthesisRequest(text, v)) for v in voices]
    except Exception as exc:  # noqa: BLE001 - a preview falls back to synthetic phrases
        log.info("TTS unavailable for the preview (%s); using synthetic phrases", exc)
        return []


def synthetic_phrase(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A speech-like int16 clip: harmonic chirps in syllables, with a gliding pitch."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = rng.uniform(110, 240) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.8, 2.0) * t))
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    x = sum(np.sin(k * phase) * np.exp(-k / 4) for k in range(1, 16))
    syllables = int(rng.integers(2, 4))
    env = np.abs(np.sin(np.pi * syllables * t / seconds)) ** 0.7
    y = x * env / (np.max(np.abs(x * env)) + 1e-9)
    out: np.ndarray = (0.4 * 32767 * y).astype(np.int16)
    return out


def plot_spectrograms(wavs: list[Path], titles: list[str], png: Path) -> Path:
    """A grid of log spectrograms (one per WAV), written atomically as a PNG."""
    from easy_oww.errors import require

    require("matplotlib", "plot", "the spectrogram picture")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from scipy import signal as sps

    from easy_oww.audio.io import load_audio
    from easy_oww.fsutil import atomic_write_bytes

    cols = 3
    rows = -(-len(wavs) // cols)
    fig = Figure(figsize=(5.0 * cols, 2.6 * rows), dpi=90)
    FigureCanvasAgg(fig)
    for i, (path, title) in enumerate(zip(wavs, titles)):
        ax = fig.add_subplot(rows, cols, i + 1)
        x = load_audio(path).astype(np.float64) / 32768
        f, t, s = sps.spectrogram(x, fs=SAMPLE_RATE, nperseg=400, noverlap=240)
        ax.pcolormesh(t, f / 1000, 10 * np.log10(s + 1e-12), vmin=-110, vmax=-20,
                      shading="auto", cmap="magma")
        ax.set_title(title, fontsize=7)
        ax.set_ylabel("kHz", fontsize=7)
        ax.tick_params(labelsize=6)
        for k in range(1, len(x) // FRAME_SAMPLES + 1):  # 80 ms model frames
            ax.axvline(k * FRAME_SAMPLES / SAMPLE_RATE, color="white", lw=0.2, alpha=0.3)
    fig.suptitle("what training sees: dry clip, then augmented examples", fontsize=9)
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(png, buf.getvalue())
    return png
