"""run_eval on openWakeWord's pretrained hey_jarvis model gives sensible numbers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from easy_oww.audio.io import load_audio, save_wav
from easy_oww.config import EvaluationConfig
from easy_oww.errors import EasyOWWError
from easy_oww.evaluate.card import ModelCard, write_model_card
from easy_oww.evaluate.report import run_eval
from easy_oww.evaluate.result import EvalReport

openwakeword = pytest.importorskip("openwakeword")
JARVIS = Path(os.path.dirname(openwakeword.__file__)) / "resources" / "models" / \
    "hey_jarvis_v0.1.onnx"
ESPEAK_VOICES = ["en", "en+Alex", "en+Andy", "en+Denis", "en+Diogo", "en+Gene", "en+Henrique",
                 "en-us", "en-us+m3", "en-gb-x-rp", "en+f2", "en+m7"]
SENTENCES = ["good morning, how did you sleep", "the weather is lovely today",
             "please close the kitchen door", "what is on television tonight",
             "I will call my sister after lunch", "the car needs new tyres soon"]


def _say(text: str, voice: str, speed: float = 1.0) -> np.ndarray:
    from easy_oww.tts import SynthesisRequest, Voice, synthesize

    return synthesize(SynthesisRequest(text, Voice("espeak", voice), speed=speed))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("evaldata")
    out: dict[str, list[Path]] = {"pos": [], "neg": [], "long": []}
    for d in ("pos", "neg"):
        (root / d).mkdir()
    for i, v in enumerate(ESPEAK_VOICES):
        for speed in (0.9, 1.1):
            p = root / "pos" / f"{i:02d}_{speed}.wav"
            save_wav(p, _say("hey jarvis", v, speed))
            out["pos"].append(p)
    for i, s in enumerate(SENTENCES):
        p = root / "neg" / f"{i:02d}.wav"
        save_wav(p, _say(s, ESPEAK_VOICES[i]))
        out["neg"].append(p)
    rng = np.random.default_rng(1)
    pieces = []
    for i in range(4):
        for s in SENTENCES:
            pieces += [_say(s, ESPEAK_VOICES[(i * 3 + len(s)) % len(ESPEAK_VOICES)]),
                       (rng.standard_normal(int(16000 * rng.uniform(0.3, 1.5))) * 200)
                       .astype(np.int16)]
    long = root / "long_speech.wav"
    save_wav(long, np.concatenate(pieces))
    out["long"] = [long]
    return out


def test_pretrained_model_has_high_recall_and_few_false_positives(data, tmp_path):
    cfg = EvaluationConfig(threshold=0.5, debounce_s=1.0, target_fp_per_hour=0.5)
    report = run_eval(JARVIS, positives=data["pos"], negatives=data["neg"],
                      long_audio=data["long"], config=cfg, out_dir=tmp_path / "out",
                      threshold=0.5, wake_word="hey jarvis")
    assert report.n_positive == 24
    assert report.recall is not None and report.recall >= 0.8
    assert report.negative_hours > 0.01  # about a minute of speech
    assert report.false_positives is not None and report.false_positives <= 1
    assert report.negative_clip_false_accept_rate == 0.0
    assert report.clip_report is not None and report.clip_report["precision"] == 1.0
    assert report.threshold == 0.5 and report.threshold_source == "given"
    assert report.recommended is None  # a minute of audio cannot back a recommendation
    assert report.det is not None and 0.0 <= report.det.area <= 0.2

    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    for key in ("recall", "fp_per_hour", "threshold", "date", "det", "recommended"):
        assert key in saved
    assert saved["recall"] == pytest.approx(report.recall)
    png = tmp_path / "out" / "det_curve.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_speech_without_the_phrase_gives_few_activations(data, tmp_path):
    from easy_oww.evaluate.detector import Detector

    det = Detector(JARVIS, threshold=0.5, debounce_s=1.0)
    audio = load_audio(data["long"][0])
    fired = det.detect_audio(audio)
    minutes = len(audio) / 16000 / 60
    assert minutes > 0.5 and len(fired) <= 1
    wake = np.concatenate([np.zeros(16000, np.int16), _say("hey jarvis", "en"), audio[:32000]])
    assert len(det.detect_audio(wake)) == 1


def test_recommendation_needs_enough_negative_audio(data, tmp_path):
    report = run_eval(JARVIS, positives=data["pos"][:6], long_audio=data["long"],
                      out_dir=tmp_path, plot=False)
    assert report.recommended is None  # ~1 minute cannot back a recommendation
    assert "too little" in report.data["recommendation"]
    assert report.threshold_source == "config"
    assert report.det_plot is None and report.det is not None


def test_nothing_to_evaluate_is_a_user_error(tmp_path):
    with pytest.raises(EasyOWWError, match="nothing to evaluate"):
        run_eval(JARVIS, out_dir=tmp_path)


def test_model_card_from_a_report_renders_markdown(data, tmp_path):
    report = run_eval(JARVIS, positives=data["pos"][:4], near_miss=data["neg"][:2],
                      out_dir=tmp_path / "out", wake_word="hey jarvis", plot=False)
    card_path = tmp_path / "models" / "hey_jarvis.json"
    card = ModelCard.from_report(report, model_file="hey_jarvis.onnx",
                                 training_data={"clips": 600})
    write_model_card(card, card_path)
    saved = json.loads(card_path.read_text())
    assert saved == json.loads(json.dumps(card.to_json()))
    assert saved["wake_word"] == "hey jarvis" and saved["model_file"] == "hey_jarvis.onnx"
    assert saved["recall"] == report.recall and saved["fp_per_hour"] is None
    assert saved["recommended_threshold"] == report.threshold
    assert saved["near_miss_false_accept_rate"] == 0.0
    assert saved["evaluation_data"]["positive_clips"] == 4
    assert saved["tool_version"] and saved["date"]
    md = card_path.with_suffix(".md").read_text()
    assert "hey jarvis" in md and "recommended threshold" in md and "clips: 600" in md


def test_report_json_round_trips_and_reads_the_earlier_train_shape(data, tmp_path):
    report = run_eval(JARVIS, positives=data["pos"][:4], long_audio=data["long"],
                      out_dir=tmp_path, plot=False)
    saved = json.loads((tmp_path / "results.json").read_text())
    again = EvalReport.from_json(saved)
    assert again.to_json() == json.loads(json.dumps(report.to_json()))
    # both names of the clip counts, for readers of either earlier shape
    assert saved["positives"] == saved["n_positive"] == 4
    old = {"wake_word": "x", "model": "m.onnx", "threshold": 0.5, "recall": 0.9,
           "fp_per_hour": 0.1, "near_miss_false_accept_rate": None, "positives": 12,
           "near_miss_clips": 3, "negative_hours": 2.0, "debounce_s": 1.0,
           "target_fp_per_hour": 0.5, "meets_target": True, "quality": ["a line"]}
    r = EvalReport.from_json(old)
    assert (r.n_positive, r.n_near_miss, r.meets_target, r.quality) == (12, 3, True, ("a line",))


def test_precomputed_embedding_stream_equals_audio_file(data, tmp_path):
    from easy_oww.features.streaming import stream_embeddings

    stream = stream_embeddings(load_audio(data["long"][0]))
    a = run_eval(JARVIS, positives=data["pos"][:4], long_audio=data["long"],
                 out_dir=tmp_path / "a", plot=False, threshold=0.01)
    b = run_eval(JARVIS, positives=data["pos"][:4], long_audio=stream,
                 out_dir=tmp_path / "b", plot=False, threshold=0.01)
    assert a.negative_hours == b.negative_hours > 0
    assert a.false_positives == b.false_positives
    assert np.allclose(a.det.fp_per_hour, b.det.fp_per_hour)
