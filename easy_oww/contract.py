"""The audio and feature contract shared by every stage (openWakeWord's front end).

Every number that features, training, export and the live detector must agree on lives
here; derived values are computed, never retyped.
"""

from __future__ import annotations

SAMPLE_RATE = 16_000
"""Audio sample rate in Hz; all audio is 16 kHz mono int16 before feature extraction."""

FRAME_MS = 80
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 1280 samples: one streaming step
MEL_HOP_SAMPLES = 160  # the melspectrogram model emits one frame per 10 ms
MEL_WINDOW_SAMPLES = 512  # its STFT window
MEL_FRAMES_PER_FRAME = FRAME_SAMPLES // MEL_HOP_SAMPLES  # 8
MEL_BINS = 32
EMBEDDING_WINDOW = 76  # melspectrogram frames per embedding window
EMBEDDING_HOP = 8  # melspectrogram frames between embedding windows (== 80 ms)
EMBEDDING_DIM = 96
MODEL_INPUT_FRAMES = 16  # embedding frames a wake-word classifier sees

assert EMBEDDING_HOP == MEL_FRAMES_PER_FRAME

INT16_MAX = 32767
INT16_MIN = -32768


def mel_frames_for(num_samples: int) -> int:
    """Melspectrogram frames openWakeWord's model yields for `num_samples` of audio."""
    # The ONNX melspectrogram uses a 512-sample window and a 160-sample hop without
    # centre padding (1760 samples -> 8 frames, as openWakeWord's streaming code relies on).
    if num_samples < MEL_WINDOW_SAMPLES:
        return 0
    return (num_samples - MEL_WINDOW_SAMPLES) // MEL_HOP_SAMPLES + 1


def embedding_frames_for(num_samples: int) -> int:
    """Embedding frames (one per 80 ms) yielded by a whole clip of `num_samples`."""
    mel = mel_frames_for(num_samples)
    if mel < EMBEDDING_WINDOW:
        return 0
    return (mel - EMBEDDING_WINDOW) // EMBEDDING_HOP + 1


def samples_for_embedding_frames(frames: int) -> int:
    """Fewest samples whose clip yields exactly `frames` embedding frames (2 s for 16)."""
    mel = EMBEDDING_WINDOW + (frames - 1) * EMBEDDING_HOP
    return (mel - 1) * MEL_HOP_SAMPLES + MEL_WINDOW_SAMPLES
