"""The streaming detector scores exactly as openWakeWord 0.4.0 does."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from easy_oww.contract import FRAME_SAMPLES, SAMPLE_RATE
from easy_oww.errors import EasyOWWError
from easy_oww.evaluate import metrics
from easy_oww.evaluate.detector import WARMUP_FRAMES, Detector, WakeWordModel

openwakeword = pytest.importorskip("openwakeword")
OWW_MODELS = Path(os.path.dirname(openwakeword.__file__)) / "resources" / "models"
JARVIS = OWW_MODELS / "hey_jarvis_v0.1.onnx"


def _speech(text: str, voice: str = "en", speed: float = 1.0) -> np.ndarray:
    from easy_oww.tts import SynthesisRequest, Voice, synthesize

    return synthesize(SynthesisRequest(text, Voice("espeak", voice), speed=speed))


@pytest.fixture(scope="module")
def mixed_audio() -> np.ndarray:
    """Silence, the wake phrase, noise and other speech: exercises every part of the stream."""
    rng = np.random.default_rng(7)
    sil = np.zeros(SAMPLE_RATE, dtype=np.int16)
    noise = (rng.standard_normal(SAMPLE_RATE) * 800).astype(np.int16)
    parts = [sil, _speech("hey jarvis"), sil, noise, _speech("what time is it", "en+Alex"),
             _speech("hey jarvis", "en+Denis", 1.1), sil[:5000]]
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def oww_scores(mixed_audio: np.ndarray) -> np.ndarray:
    model = openwakeword.Model(wakeword_model_paths=[str(JARVIS)])
    out = [model.predict(mixed_audio[i:i + FRAME_SAMPLES])["hey_jarvis_v0.1"]
           for i in range(0, len(mixed_audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES)]
    return np.asarray(out, dtype=np.float32)


def test_streaming_scores_match_openwakeword(mixed_audio, oww_scores):
    det = Detector(JARVIS, threshold=0.5)
    for i in range(0, len(mixed_audio), 1000):  # odd chunk sizes are re-framed to 80 ms
        det.process(mixed_audio[i:i + 1000])
    ours = np.asarray(det.scores)
    assert ours.shape == oww_scores.shape == (len(mixed_audio) // FRAME_SAMPLES,)
    assert np.abs(ours - oww_scores).max() < 1e-4
    assert np.all(ours[:WARMUP_FRAMES] == 0.0)  # openWakeWord's warm-up zeros
    assert ours.max() > 0.9  # the wake phrase is really in there


def test_batch_scores_equal_streaming(mixed_audio, oww_scores):
    det = Detector(JARVIS)
    batch = det.score_audio(mixed_audio)
    assert np.abs(batch - oww_scores).max() < 1e-4


def test_detections_follow_metrics_definition(mixed_audio):
    det = Detector(JARVIS, threshold=0.5, patience=2, debounce_s=0.4)
    found = []
    for i in range(0, len(mixed_audio), FRAME_SAMPLES * 3):
        found += det.process(mixed_audio[i:i + FRAME_SAMPLES * 3])
    expected = metrics.activations(np.asarray(det.scores), 0.5, patience=2,
                                   debounce_frames=metrics.debounce_frames_for(0.4))
    assert [d.frame for d in found] == expected.tolist()
    assert len(found) >= 2  # both wake phrases
    assert all(d.score >= 0.5 for d in found)
    assert found[0].time_s == pytest.approx((found[0].frame + 1) * 0.08)
    assert [d.frame for d in det.detect_audio(mixed_audio)] == expected.tolist()
    det.reset()
    assert det.frames == 0 and det.scores == []


def test_wake_word_model_windows_and_bad_models(tmp_path):
    model = WakeWordModel(JARVIS)
    assert model.n_frames == 16
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 16, 96)).astype(np.float32)
    batch = model.score_windows(x)
    one_by_one = np.concatenate([model.score_windows(x[i:i + 1]) for i in range(5)])
    assert batch.shape == (5,) and np.allclose(batch, one_by_one)
    assert np.all((batch >= 0) & (batch <= 1))
    with pytest.raises(ValueError):
        model.score_windows(np.zeros((2, 10, 96), np.float32))
    with pytest.raises(EasyOWWError, match="not found"):
        WakeWordModel(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(EasyOWWError, match="cannot load"):
        WakeWordModel(bad)
    with pytest.raises(EasyOWWError, match="not an openWakeWord model"):
        WakeWordModel(OWW_MODELS / "melspectrogram.onnx")
    with pytest.raises(EasyOWWError, match="single-score"):
        WakeWordModel(OWW_MODELS / "timer_v0.1.onnx")


def test_dynamic_batch_and_longer_window_models():
    """hey_mycroft has a dynamic batch; weather needs 22 frames: both score like oww."""
    rng = np.random.default_rng(3)
    audio = np.concatenate([np.zeros(8000, np.int16),
                            (rng.standard_normal(SAMPLE_RATE * 3) * 2000).astype(np.int16)])
    for name in ("hey_mycroft_v0.1", "weather_v0.1"):
        path = OWW_MODELS / f"{name}.onnx"
        ref_model = openwakeword.Model(wakeword_model_paths=[str(path)])
        ref = [ref_model.predict(audio[i:i + FRAME_SAMPLES])[name]
               for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES)]
        ours = Detector(path).score_audio(audio)
        assert np.abs(ours - np.asarray(ref)).max() < 1e-4, name
