"""The augmentation chain applied to every clip, in memory, inside feature workers.

Order (each step with its probability and range from `AugmentConfig`):
another voice or pitch/tempo on the clip -> another timbre -> placement in the window
(and, after the phrase, the start of another utterance: the rest of a command) -> room reverb ->
background noise at a sampled SNR (over the whole window, or a stretch of it) ->
microphone/channel EQ -> gain -> light distortion -> int16.
Noise is added before the EQ because the microphone hears speech and noise together.

All random choices for one call are drawn first, in a fixed order, into an `AugmentPlan`;
the same (seed, clip, round) generator therefore gives the same samples in any process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.fft as sfft

from easy_oww.augment import effects
from easy_oww.augment.ops import (
    active_rms,
    as_float,
    blend_span,
    crop_or_pad,
    direct_path_index,
    match_rms,
    mix_at_snr,
    place_in_window,
    to_int16_clipped,
)
from easy_oww.augment.sources import FOLLOW_UP_RMS, AcousticSources
from easy_oww.config import AugmentConfig
from easy_oww.contract import SAMPLE_RATE

_HEADROOM = 0.98  # peak level gain may reach without the distortion step
_DISTORTION_AMOUNT = (0.05, 0.35)  # "light": audiomentations' scale is 0..1
_MAX_RIR_CACHE = 256
_FOLLOW_DB = (-6.0, 3.0)  # the following speech's level against the phrase's
_SPAN_START = (0.0, 0.6)  # where partial noise starts and stops, as shares of the window
_SPAN_STOP = (0.4, 1.0)
_SPAN_RAMP_S = 0.01  # its fade in and out


@dataclass(frozen=True)
class AugmentPlan:
    """Every random choice of one augmentation call (for previews, logs and tests)."""

    positive: bool
    semitones: float = 0.0
    tempo: float = 1.0
    rir: int | None = None
    noise: int | None = None
    snr_db: float | None = None
    eq: dict[str, Any] | None = None
    gain_db: float = 0.0
    distortion: float | None = None
    seed: int = 0  # for the sample-level choices (placement, crop, noise offset)
    follow: int | None = None  # index into sources.speech: speech after the phrase
    follow_pause_s: float = 0.0
    follow_db: float = 0.0  # its level against the phrase's
    noise_span: tuple[float, float] | None = None  # noise only there (shares of the window)
    formant: float = 1.0  # another voice: formants moved by this factor (pitch: semitones)
    timbre: tuple[float, ...] | None = None  # another timbre: gains (dB) at effects.TIMBRE_HZ
    names: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [self.names.get("rir", "dry"), self.names.get("noise", "no noise")]
        if self.snr_db is not None:
            parts[-1] += f" @ {self.snr_db:.0f} dB"
        if self.noise_span is not None:
            parts[-1] += f" over {self.noise_span[0]:.2f}-{self.noise_span[1]:.2f}"
        if self.formant != 1.0:
            parts.append(f"another voice (pitch {self.semitones:+.1f} st, "
                         f"formants x{self.formant:.2f})")
        elif self.semitones:
            parts.append(f"pitch {self.semitones:+.1f} st")
        if self.tempo != 1.0:
            parts.append(f"tempo x{self.tempo:.2f}")
        if self.timbre is not None:
            parts.append("another timbre (" + " ".join(f"{g:+.0f}" for g in self.timbre) + " dB)")
        if self.eq:
            parts.append(str(self.eq["kind"]))
        parts.append(f"gain {self.gain_db:+.0f} dB")
        if self.distortion is not None:
            parts.append("distorted")
        if self.follow is not None:
            parts.append(f"speech after {self.follow_pause_s:.2f} s")
        return ", ".join(parts)


class Augmenter:
    """`Augmenter(config, sources, window)(int16 clip, rng) -> int16[window]`. Picklable."""

    def __init__(self, config: AugmentConfig, sources: AcousticSources,
                 window_samples: int) -> None:
        if window_samples <= 0:
            raise ValueError("window_samples must be positive")
        self.config = config
        self.sources = sources
        self.window_samples = int(window_samples)
        self._rir_cache: dict[int, tuple[int, int, np.ndarray]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_rir_cache"] = {}  # per-process: rebuilt lazily in each worker
        return state

    def __call__(self, audio: np.ndarray, rng: np.random.Generator, *,
                 positive: bool = True) -> np.ndarray:
        return self.augment(audio, rng, positive=positive)[0]

    def plan(self, rng: np.random.Generator, *, positive: bool = True) -> AugmentPlan:
        """Draw every random choice of one call, always in the same order."""
        c, s = self.config, self.sources
        u = rng.uniform(size=6)  # one uniform per "whether" decision, fixed count
        semitones = float(rng.uniform(*c.pitch_semitones)) if u[0] < c.pitch_probability else 0.0
        tempo = float(rng.uniform(*c.tempo)) if u[1] < c.tempo_probability else 1.0
        rir = int(rng.integers(len(s.rirs))) if s.rirs and u[2] < c.rir_probability else None
        noise = (int(rng.integers(len(s.noises)))
                 if s.noises and u[3] < c.noise_probability else None)
        snr = float(rng.uniform(*c.snr_db)) if noise is not None else None
        eq = effects.sample_eq(rng) if u[4] < c.eq_probability else None
        gain = float(rng.uniform(*c.gain_db))
        dist = (float(rng.uniform(*_DISTORTION_AMOUNT))
                if u[5] < c.distortion_probability else None)
        seed = int(rng.integers(2**63))
        # drawn after everything else, so the choices above stay those of earlier versions
        follow = (int(rng.integers(len(s.speech)))
                  if s.speech and rng.uniform() < c.follow_probability else None)
        pause = float(rng.uniform(*c.follow_pause_s)) if follow is not None else 0.0
        level = float(rng.uniform(*_FOLLOW_DB)) if follow is not None else 0.0
        span = None
        if noise is not None and rng.uniform() < c.noise_span_probability:
            a, b = float(rng.uniform(*_SPAN_START)), float(rng.uniform(*_SPAN_STOP))
            span = (min(a, b), max(a, b))
        formant = 1.0
        voice = effects.VoiceShift.of(c)
        if rng.uniform() < c.voice_probability:  # another voice replaces the pitch shift
            semitones, formant = voice.draw(rng)
        timbre = voice.timbre_gains(rng)
        names = {}
        if rir is not None:
            names["rir"] = s.rir_names[rir]
        if noise is not None:
            names["noise"] = s.noise_names[noise]
        return AugmentPlan(positive=positive, semitones=semitones, tempo=tempo, rir=rir,
                           noise=noise, snr_db=snr, eq=eq, gain_db=gain, distortion=dist,
                           seed=seed, follow=follow, follow_pause_s=pause, follow_db=level,
                           noise_span=span, formant=formant, timbre=timbre, names=names)

    def augment(self, audio: np.ndarray, rng: np.random.Generator, *,
                positive: bool = True) -> tuple[np.ndarray, AugmentPlan]:
        """Augmented int16 window and the plan that made it."""
        plan = self.plan(rng, positive=positive)
        return self.apply(audio, plan), plan

    def apply(self, audio: np.ndarray, plan: AugmentPlan) -> np.ndarray:
        """Run `plan` on `audio` (int16 or float) -> int16 of exactly `window_samples`."""
        return to_int16_clipped(self.apply_float(audio, plan))

    def apply_float(self, audio: np.ndarray, plan: AugmentPlan) -> np.ndarray:
        """`apply` before the int16 conversion: float32 in [-1, 1] unless distorted."""
        if np.ndim(audio) != 1:
            raise ValueError(f"expected mono 1-D audio, got shape {np.shape(audio)}")
        rng = np.random.default_rng(plan.seed)
        x = as_float(audio)
        if not plan.positive:  # long negatives: only the part that can end up in the window
            x = crop_or_pad(x, min(len(x), self._pre_crop_len(plan)), rng) if len(x) else x
        if plan.formant != 1.0:
            x = effects.new_voice(x, plan.semitones, plan.formant, plan.tempo)
        elif plan.semitones or plan.tempo != 1.0:
            x = effects.pitch_tempo(x, plan.semitones, plan.tempo)
        if plan.timbre is not None:
            x = effects.timbre(x, plan.timbre)
        x = self._place(x, plan, rng)
        if plan.rir is not None:
            x = self._reverb(x, plan.rir)
        if plan.noise is not None and plan.snr_db is not None:
            noisy = mix_at_snr(x, self.sources.noises[plan.noise], plan.snr_db, rng)
            if plan.noise_span is None:
                x = noisy
            else:  # noise that starts and/or stops inside the window
                n = len(x)
                x = blend_span(x, noisy, round(plan.noise_span[0] * n),
                               round(plan.noise_span[1] * n), round(_SPAN_RAMP_S * SAMPLE_RATE))
        if plan.eq is not None:
            x = effects.apply_eq(x, plan.eq)
        x = _gain(x, plan.gain_db, limit=plan.distortion is None)
        if plan.distortion is not None:
            x = effects.distort(x, plan.distortion)
        return x

    def _pre_crop_len(self, plan: AugmentPlan) -> int:
        return int(np.ceil(self.window_samples * max(plan.tempo, 1.0) * 1.2)) + 1

    def _place(self, x: np.ndarray, plan: AugmentPlan, rng: np.random.Generator) -> np.ndarray:
        """Positives end near the window's end; short negatives are placed like positives
        half of the time (so position alone never tells them apart), else anywhere.
        Speech after the phrase (`plan.follow`) goes into both kinds of end-placed window,
        so that neither silence nor speech after a phrase tells them apart."""
        n = self.window_samples
        end_like = plan.positive or (len(x) < n and rng.uniform() < 0.5)
        if not end_like:
            return crop_or_pad(x, n, rng)
        after = None
        if plan.follow is not None:
            level = active_rms(x) * 10.0 ** (plan.follow_db / 20.0) / FOLLOW_UP_RMS
            after = self.sources.speech[plan.follow][:n] * np.float32(level)
        return place_in_window(x, n, rng, tuple(self.config.end_jitter_s),  # type: ignore[arg-type]
                               after=after, pause_s=plan.follow_pause_s)

    def _reverb(self, x: np.ndarray, index: int) -> np.ndarray:
        """`ops.apply_rir` with the RIR's spectrum cached for this window length."""
        cached = self._rir_cache.get(index)
        if cached is None:
            h = self.sources.rirs[index]
            nfft = sfft.next_fast_len(self.window_samples + len(h) - 1, real=True)
            cached = (direct_path_index(h), nfft, sfft.rfft(np.asarray(h, np.float32), nfft))
            if len(self._rir_cache) < _MAX_RIR_CACHE:
                self._rir_cache[index] = cached
        d, nfft, spec = cached
        y = sfft.irfft(sfft.rfft(x, nfft) * spec, nfft)[d:d + len(x)]
        return match_rms(y.astype(np.float32), x)


def _gain(x: np.ndarray, gain_db: float, *, limit: bool) -> np.ndarray:
    y = x * np.float32(10.0 ** (gain_db / 20.0))
    peak = float(np.max(np.abs(y), initial=0.0))
    if limit and peak > _HEADROOM:  # gain stops at the headroom instead of clipping
        y *= np.float32(_HEADROOM / peak)
    out: np.ndarray = y.astype(np.float32)
    return out


def save_examples(augmenter: Augmenter, clips: Sequence[np.ndarray | Path], out_dir: Path,
                  n: int, seed: int, *, positive: bool = True) -> list[Path]:
    """Write `n` augmented examples (round-robin over `clips`) as WAVs for listening.

    Example i uses clip i % len(clips) in round i // len(clips), with the same
    (seed, clip, round) generator scheme as training, so it is what training sees.
    Returns the paths; each file name carries the plan's short description in a
    sidecar `examples.txt`.
    """
    from easy_oww.audio.io import load_audio, save_wav
    from easy_oww.fsutil import atomic_write_text
    from easy_oww.rng import item_rng

    if not clips or n <= 0:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, lines = [], []
    for i in range(n):
        clip = clips[i % len(clips)]
        audio = load_audio(clip) if isinstance(clip, Path) else clip
        rng = item_rng(seed, f"example-{i % len(clips)}", i // len(clips), stream="augment")
        y, plan = augmenter.augment(audio, rng, positive=positive)
        path = save_wav(out_dir / f"example_{i:03d}.wav", y)
        paths.append(path)
        lines.append(f"{path.name}\t{plan.describe()}")
    atomic_write_text(out_dir / "examples.txt", "\n".join(lines) + "\n")
    return paths
