"""Load any audio soundfile reads as 16 kHz mono int16; save WAV atomically."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from easy_oww.contract import INT16_MAX, INT16_MIN, SAMPLE_RATE
from easy_oww.errors import AudioError
from easy_oww.fsutil import atomic_write_bytes

SUPPORTED_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".oga", ".opus", ".aiff", ".aif")


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] (or int16) to int16, clipped, without wrap-around."""
    if audio.dtype == np.int16:
        return audio
    if np.issubdtype(audio.dtype, np.integer):
        info = np.iinfo(audio.dtype)
        audio = audio.astype(np.float64) / max(abs(info.min), info.max)
    scaled = np.rint(np.asarray(audio, dtype=np.float64) * 32768.0)
    return np.clip(scaled, INT16_MIN, INT16_MAX).astype(np.int16)


def resample(audio: np.ndarray, orig_sr: int, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """High-quality resampling with soxr (float32 in, float32 out)."""
    if orig_sr == target_sr:
        return audio
    import soxr

    out: np.ndarray = soxr.resample(audio, orig_sr, target_sr, quality="HQ")
    return out.astype(np.float32)


def load_audio(path: str | os.PathLike[str], target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Read `path` and return mono int16 samples at `target_sr`.

    Raises AudioError (naming the file) for missing, empty, corrupt or unsupported files.
    """
    p = Path(path)
    if not p.exists():
        raise AudioError(f"audio file not found: {p}", "check the path")
    if p.is_dir():
        raise AudioError(f"{p} is a directory, not an audio file", "give a file path")
    if p.stat().st_size == 0:
        raise AudioError(f"audio file is empty (0 bytes): {p}", "record or export it again")
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except sf.LibsndfileError as exc:
        ext = p.suffix.lower()
        if ext and ext not in SUPPORTED_EXTENSIONS:
            raise AudioError(f"unsupported audio format '{ext}': {p}",
                             f"convert it to one of {', '.join(SUPPORTED_EXTENSIONS)}") from None
        raise AudioError(f"cannot decode audio file {p}: {exc.error_string}",
                         "the file may be corrupt; re-export it as WAV or FLAC") from None
    except (RuntimeError, OSError) as exc:
        raise AudioError(f"cannot read audio file {p}: {exc}",
                         "the file may be corrupt; re-export it as WAV or FLAC") from None
    if data.shape[0] == 0:
        raise AudioError(f"audio file has no samples: {p}", "record or export it again")
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"audio file contains NaN or infinite samples: {p}",
                         "re-export it as 16-bit WAV")
    return to_int16(resample(mono, sr, target_sr))


def wav_bytes(audio: np.ndarray, sr: int = SAMPLE_RATE) -> bytes:
    """16-bit PCM WAV bytes of mono `audio` (int16 or float in [-1, 1])."""
    buf = io.BytesIO()
    sf.write(buf, to_int16(np.asarray(audio)), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def save_wav(path: str | os.PathLike[str], audio: np.ndarray, sr: int = SAMPLE_RATE) -> Path:
    """Write a 16-bit mono WAV atomically (temp file + rename)."""
    p = Path(path)
    atomic_write_bytes(p, wav_bytes(audio, sr))
    return p


def duration_s(audio: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    return float(len(audio)) / sr


def channels_cancel(path: str | os.PathLike[str]) -> bool:
    """Whether a multichannel file's channels cancel when mixed to mono (one of them
    phase-inverted): the mix is 30 dB below the channels, which are not silent."""
    try:
        if sf.info(str(path)).channels < 2:
            return False
        data, _ = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError):
        return False
    channel_rms = float(np.sqrt(np.mean(data.astype(np.float64) ** 2)))
    mix_rms = float(np.sqrt(np.mean(data.mean(axis=1).astype(np.float64) ** 2)))
    return channel_rms > 1e-4 and mix_rms < channel_rms * 10 ** (-30 / 20)


def wav_truncation(path: str | os.PathLike[str]) -> tuple[float, float] | None:
    """(seconds the WAV header promises, seconds the file holds) when the file was cut
    short (an interrupted copy or download), else None; None for other formats too."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
            size = os.fstat(fh.fileno()).st_size
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(head):
        chunk, n = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], "little")
        if chunk == b"fmt " and pos + 16 <= len(head):
            byte_rate = int.from_bytes(head[pos + 16:pos + 20], "little")
        elif chunk == b"data":
            held = size - (pos + 8)
            if byte_rate <= 0 or n in (0, 0xFFFFFFFF) or held >= n:
                return None  # streaming placeholders (0, 0xFFFFFFFF) promise nothing
            return n / byte_rate, max(0, held) / byte_rate
        pos += 8 + n + (n & 1)
    return None
