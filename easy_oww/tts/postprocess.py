"""What every engine's audio goes through: 16 kHz, edges trimmed, padded, peak-normalised.

Engines return float audio at their own rate (espeak-ng 22.05 kHz, Piper 16-22.05 kHz x
pitch, OpenAI 24 kHz x pitch); `postprocess` makes the clip that is cached and trained on:
resampled to 16 kHz, leading/trailing silence cut (10 ms frames below peak - 40 dB) with
100 ms of padding kept (digital silence where the engine gave less), peak at 0.9, int16.
Changing any of this changes every clip: bump `easy_oww.tts.synth.CACHE_VERSION`.
"""

from __future__ import annotations

import numpy as np

from easy_oww.audio.io import resample, to_int16
from easy_oww.contract import SAMPLE_RATE

PAD_SECONDS = 0.1
PEAK = 0.9
TRIM_DB = 40.0  # frames quieter than peak-40 dB at the edges are silence


def trim_silence(audio: np.ndarray, sr: int = SAMPLE_RATE, pad_s: float = PAD_SECONDS,
                 db: float = TRIM_DB) -> np.ndarray:
    """Cut leading/trailing silence (10 ms frames below peak - `db`), keep `pad_s` around."""
    frame = max(1, sr // 100)
    n = len(audio) // frame
    if n == 0:
        return audio
    frames = audio[: n * frame].astype(np.float64).reshape(n, frame)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    peak = float(rms.max())
    if peak <= 1e-6:
        return audio
    loud = np.flatnonzero(rms >= peak * 10 ** (-db / 20))
    pad = int(pad_s * sr)
    start = max(0, loud[0] * frame - pad)
    end = min(len(audio), (loud[-1] + 1) * frame + pad)
    out = audio[start:end]
    # pad with digital silence where the clip had less than `pad` around the speech
    before = pad - (loud[0] * frame - start)
    after = pad - (end - (loud[-1] + 1) * frame)
    zeros = np.zeros
    return np.concatenate([zeros(before, audio.dtype), out, zeros(max(0, after), audio.dtype)])


def postprocess(audio: np.ndarray, sr: int) -> np.ndarray:
    """Float audio at any rate -> 16 kHz int16, trimmed, padded, peak-normalised."""
    x = resample(np.asarray(audio, dtype=np.float32), sr, SAMPLE_RATE)
    x = trim_silence(x)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 1e-6:
        x = x * (PEAK / peak)
    return to_int16(x)
