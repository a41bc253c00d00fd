"""Front end: parity with openWakeWord 0.4.0 (batch and streaming), model checks, errors."""

from __future__ import annotations

import importlib.metadata
import warnings
from pathlib import Path

import numpy as np
import pytest

from easy_oww.contract import EMBEDDING_DIM, FRAME_SAMPLES, MEL_BINS, embedding_frames_for
from easy_oww.errors import AudioError, ConfigError, DeviceError, EasyOWWError
from easy_oww.features import models
from easy_oww.features.frontend import FrontEnd
from easy_oww.features.streaming import StreamingFeatures, silence_history, stream_embeddings

TOL = 1e-4


@pytest.fixture(scope="module")
def frontend() -> FrontEnd:
    return FrontEnd()


@pytest.fixture(scope="module")
def reference():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # upstream asks for CUDA and warns when absent
        from openwakeword.utils import AudioFeatures

        return AudioFeatures(ncpu=1)


def speech_like(n: int, level: float, seed: int) -> np.ndarray:
    """Voiced bursts with pauses and a little noise, int16 at `level` of full scale."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    env = (np.sin(2 * np.pi * 2.5 * t) > 0.2).astype(np.float64)
    sig = env * np.sin(2 * np.pi * (150 + 80 * np.sin(2 * np.pi * 3 * t)) * t)
    sig += 0.01 * rng.standard_normal(n)
    sig = sig / np.max(np.abs(sig))
    return np.clip(sig * level * 32767, -32768, 32767).astype(np.int16)


def clip_batch(n_samples: int, seed: int) -> np.ndarray:
    """Clips that stress the front end: levels, silence, clipping, zero padding."""
    quiet = speech_like(n_samples, 0.001, seed)
    mid = speech_like(n_samples, 0.3, seed + 1)
    clipped = np.clip(speech_like(n_samples, 1.0, seed + 2).astype(np.int32) * 8,
                      -32768, 32767).astype(np.int16)
    padded = np.zeros(n_samples, dtype=np.int16)
    padded[n_samples // 2:] = speech_like(n_samples - n_samples // 2, 0.5, seed + 3)
    silence = np.zeros(n_samples, dtype=np.int16)
    noise = np.random.default_rng(seed).integers(-20000, 20000, n_samples).astype(np.int16)
    return np.stack([quiet, mid, clipped, padded, silence, noise])


# openWakeWord's embed_clips only accepts lengths whose ceil(n/160 - 3) equals the model's
# frame count (multiples of 160 and a few more); 12_720 is its shortest (1 frame).
@pytest.mark.parametrize("n_samples", [12_720, 16_000, 32_000, 32_080, 48_000])
def test_embed_clips_matches_openwakeword(frontend: FrontEnd, reference, n_samples: int) -> None:  # type: ignore[no-untyped-def]
    audio = clip_batch(n_samples, seed=n_samples)
    expected = reference.embed_clips(audio, batch_size=4, ncpu=1)
    ours = frontend.embed_clips(audio)
    assert ours.shape == expected.shape == (6, embedding_frames_for(n_samples), EMBEDDING_DIM)
    assert ours.dtype == np.float32
    assert np.abs(ours - expected).max() <= TOL


def test_melspectrogram_matches_openwakeword(frontend: FrontEnd, reference) -> None:  # type: ignore[no-untyped-def]
    for clip in clip_batch(20_000, seed=3):
        ours = frontend.melspectrogram(clip)
        assert ours.shape == (122, MEL_BINS)
        assert np.abs(ours - reference._get_melspectrogram(clip)).max() <= TOL


def test_batching_clips_keeps_each_clips_own_floor(frontend: FrontEnd) -> None:
    loud = speech_like(32_000, 1.0, 1)
    padded = np.zeros(32_000, dtype=np.int16)
    padded[16_000:] = speech_like(16_000, 0.001, 2)
    together = frontend.embed_clips(np.stack([loud, padded]))
    assert np.array_equal(together[1], frontend.embed_clip(padded))
    assert np.array_equal(together[0], frontend.embed_clip(loud))


def test_fallback_window_path_gives_the_same_numbers(
    frontend: FrontEnd, monkeypatch: pytest.MonkeyPatch
) -> None:
    audio = clip_batch(24_000, seed=9)
    monkeypatch.setattr(models, "full_clip_embedding_model", lambda path: None)
    slow = FrontEnd()
    assert slow.embed_clips(audio).shape == (6, embedding_frames_for(24_000), EMBEDDING_DIM)
    assert not slow.full_clip and frontend.full_clip
    assert np.abs(slow.embed_clips(audio) - frontend.embed_clips(audio)).max() <= 1e-6


def test_short_and_empty_inputs(frontend: FrontEnd) -> None:
    assert frontend.melspectrogram(np.zeros(100, dtype=np.int16)).shape == (0, MEL_BINS)
    assert frontend.embed_clip(np.zeros(8000, dtype=np.int16)).shape == (0, EMBEDDING_DIM)
    assert frontend.embed_clips(np.zeros((0, 16000), dtype=np.int16)).shape[0] == 0


def test_float_audio_is_rejected(frontend: FrontEnd) -> None:
    with pytest.raises(AudioError, match="int16"):
        frontend.embed_clip(np.zeros(16000, dtype=np.float32))
    with pytest.raises(AudioError):
        frontend.embed_clips(np.zeros(16000, dtype=np.int16))  # 1-D where 2-D is needed


def test_device_selection() -> None:
    import onnxruntime as ort

    assert FrontEnd().providers == ["CPUExecutionProvider"]
    with pytest.raises(ConfigError):
        FrontEnd(device="tpu")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        assert FrontEnd(device="cuda").providers[0] == "CUDAExecutionProvider"
    else:
        with pytest.raises(DeviceError, match="CUDA"):
            FrontEnd(device="cuda")


def test_model_checksums_are_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = models.model_files()
    assert files.melspectrogram.name == "melspectrogram.onnx"
    bad = tmp_path / "embedding_model.onnx"
    bad.write_bytes(files.embedding.read_bytes()[:-1] + b"\0")
    with pytest.raises(EasyOWWError, match="sha256"):
        models._check(bad, models.EMBEDDING_SHA256)


def test_missing_model_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(EasyOWWError, match="not installed") as err:
        models.model_files()
    assert err.value.hint is not None and "openwakeword==0.4.0" in err.value.hint


# -- streaming -----------------------------------------------------------------------
def long_audio(seconds: float, seed: int) -> np.ndarray:
    n = int(seconds * 16000)
    audio = speech_like(n, 0.6, seed)
    audio[n // 4: n // 2] = 0  # digital silence: the per-segment floor matters here
    audio[n // 2: n // 2 + 3000] = np.clip(audio[n // 2: n // 2 + 3000].astype(np.int32) * 50,
                                            -32768, 32767).astype(np.int16)
    return audio


@pytest.fixture(scope="module")
def jarvis_path() -> str:
    dist = importlib.metadata.distribution("openwakeword")
    return str(dist.locate_file("openwakeword/resources/models/hey_jarvis_v0.1.onnx"))


@pytest.mark.parametrize("chunk", [FRAME_SAMPLES, 2 * FRAME_SAMPLES, 1000, 4000])
def test_streaming_matches_openwakeword_model(frontend: FrontEnd, jarvis_path: str,
                                              chunk: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import openwakeword

        oww = openwakeword.Model(wakeword_model_paths=[jarvis_path])
    ours = StreamingFeatures(frontend)
    assert np.abs(ours.features - oww.preprocessor.feature_buffer).max() <= TOL
    audio = long_audio(4.0, seed=chunk)
    made = 0
    for start in range(0, len(audio) - chunk + 1, chunk):
        piece = audio[start:start + chunk]
        oww.predict(piece)
        made += ours.process(piece)
        expected = oww.preprocessor.feature_buffer
        assert ours.features.shape == expected.shape
        assert np.abs(ours.features - expected).max() <= TOL
        assert np.abs(ours.window() - oww.preprocessor.get_features(16)[0]).max() <= TOL
    assert made > 0


def test_stream_embeddings_equals_streaming(frontend: FrontEnd) -> None:
    audio = long_audio(6.3, seed=5)
    streamer = StreamingFeatures(frontend)
    frames = []
    for start in range(0, len(audio), FRAME_SAMPLES):
        if streamer.process(audio[start:start + FRAME_SAMPLES]):
            frames.append(streamer.window(1))
    fast = stream_embeddings(audio, frontend)
    assert fast.shape == (len(audio) // FRAME_SAMPLES, EMBEDDING_DIM)
    assert np.array_equal(fast, np.concatenate(frames))
    with_history = stream_embeddings(audio, frontend, with_history=True)
    assert np.array_equal(with_history[:116], silence_history(frontend))
    assert np.array_equal(with_history[116:], fast)


def test_stream_embeddings_in_blocks(frontend: FrontEnd, monkeypatch: pytest.MonkeyPatch) -> None:
    from easy_oww.features import streaming

    audio = long_audio(3.0, seed=6)
    whole = stream_embeddings(audio, frontend)
    monkeypatch.setattr(streaming, "STREAM_BLOCK_FRAMES", 7)
    assert np.array_equal(stream_embeddings(audio, frontend), whole)
    assert stream_embeddings(audio[:1000], frontend).shape == (0, EMBEDDING_DIM)


def test_streaming_reset(frontend: FrontEnd) -> None:
    streamer = StreamingFeatures(frontend)
    start = streamer.features.copy()
    streamer.process(long_audio(1.0, seed=1))
    assert not np.array_equal(streamer.features, start)
    streamer.reset()
    assert np.array_equal(streamer.features, start)
    with pytest.raises(AudioError):
        streamer.process(np.zeros(1280, dtype=np.float32))
