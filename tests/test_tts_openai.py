"""OpenAI speech backend against a fake server on 127.0.0.1 (never the real service)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from easy_oww.audio.io import load_audio
from easy_oww.config import ProjectConfig
from easy_oww.contract import SAMPLE_RATE
from easy_oww.tts import SynthesisRequest, list_voices, make_registry, synthesize_many
from easy_oww.tts import openai_backend as oa

pytest.importorskip("httpx")


class FakeSpeech:
    """Scripted /v1/audio/speech: text containing "busy" gets one 429 first, "down" always
    503, "denied" 401; otherwise 0.5 s of 24 kHz PCM tone."""

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []
        self.auth: list[str] = []
        self.busy_seen: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def respond(self, body: dict[str, object]) -> tuple[int, bytes]:
        text = str(body["input"])
        if "down" in text:
            return 503, b'{"error": "overloaded"}'
        if "denied" in text:
            return 401, b'{"error": "bad key"}'
        if "busy" in text and text not in self.busy_seen:
            self.busy_seen.add(text)
            return 429, b'{"error": "rate limited"}'
        t = np.arange(int(0.5 * oa.PCM_RATE)) / oa.PCM_RATE
        tone = 0.5 * np.sin(2 * np.pi * 220 * t) * np.hanning(len(t))
        return 200, (tone * 32767).astype("<i2").tobytes()


@pytest.fixture
def fake() -> Iterator[tuple[FakeSpeech, str]]:
    state = FakeSpeech()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.calls.append(body)
                state.auth.append(self.headers.get("Authorization", ""))
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            time.sleep(0.05)
            status, payload = state.respond(body) if self.path == "/v1/audio/speech" else (404, b"")
            with state.lock:
                state.in_flight -= 1
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _settings(url: str, retries: int = 3) -> oa.Settings:
    return oa.Settings(api_key="sk-test", base_url=url, max_retries=retries, backoff_s=0.01)


def _registry(url: str, **kw: Any) -> dict[str, Any]:
    return {**make_registry(), "openai": oa.OpenAIBackend(settings=_settings(url), **kw)}


def _request(text: str, **kw: object) -> SynthesisRequest:
    return SynthesisRequest(text, oa.list_voices()[0], **kw)  # type: ignore[arg-type]


def test_success_gives_16k_audio_and_sends_the_request(fake: Any) -> None:
    state, url = fake
    audio, sr = oa.synthesize(_request("hey jarvis", speed=1.2), _settings(url))
    assert sr == oa.PCM_RATE and abs(len(audio) - 0.5 * sr) < 2
    (call,) = state.calls
    assert call["model"] == "gpt-4o-mini-tts" and call["voice"] == "alloy"
    assert call["input"] == "hey jarvis" and call["response_format"] == "pcm"
    assert call["speed"] == pytest.approx(1.2)
    assert state.auth == ["Bearer sk-test"]


def test_429_then_success_retries_with_backoff(fake: Any) -> None:
    state, url = fake
    audio, _ = oa.synthesize(_request("busy jarvis"), _settings(url))
    assert len(audio) > 0 and len(state.calls) == 2


def test_persistent_failure_and_client_errors_raise(fake: Any) -> None:
    state, url = fake
    with pytest.raises(oa.TTSError, match="after 3 tries"):
        oa.synthesize(_request("service down"), _settings(url, retries=2))
    assert len(state.calls) == 3
    with pytest.raises(oa.TTSError, match="HTTP 401"):
        oa.synthesize(_request("denied"), _settings(url))
    assert len(state.calls) == 4  # no retry on 4xx other than 429


def test_batch_runs_in_parallel_with_cost_and_cache(fake: Any, tmp_path: Path) -> None:
    state, url = fake
    reqs = [_request(f"phrase number {i}" + (" busy" if i == 3 else ""), seed=i)
            for i in range(12)]
    estimate = oa.estimate_cost(reqs)
    assert 0 < estimate < 0.01
    registry = _registry(url)
    paths = synthesize_many(reqs, tmp_path / "cache", registry=registry)
    assert len(state.calls) == 13  # one 429 retried
    assert 2 <= state.max_in_flight <= 5
    audio = load_audio(paths[0])
    assert 0.3 < len(audio) / SAMPLE_RATE < 0.9 and np.abs(audio).max() > 10000
    again = synthesize_many(reqs, tmp_path / "cache", registry=registry)
    assert again == paths and len(state.calls) == 13  # cached: no new requests


def test_usage_reports_actual_cost(fake: Any) -> None:
    _, url = fake
    reqs = [_request("hello there"), _request("good morning")]
    usage = oa.Usage()
    done = list(oa.synthesize_batch(reqs, settings=_settings(url), usage=usage))
    assert sorted(k for k, _, _ in done) == [0, 1] and usage.requests == 2
    assert all(sr == oa.PCM_RATE for _, _, sr in done)
    assert usage.estimated_usd == pytest.approx(oa.estimate_cost(reqs))
    assert usage.audio_seconds == pytest.approx(1.0, abs=0.01)
    assert usage.actual_usd == pytest.approx(1.0 / 60 * 0.015)


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(oa.TTSError, match="API key") as exc:
        oa.Settings.from_env()
    assert "OPENAI_API_KEY" in (exc.value.hint or "")
    assert not oa.available()
    missing = oa.OpenAIBackend().availability()
    assert not missing and "OPENAI_API_KEY" in missing.reason
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    assert oa.Settings.from_env().base_url == "http://127.0.0.1:9/v1"


def test_variation_adds_style_instructions() -> None:
    with_style = [oa.payload(_request("hi", variation=1.0, seed=s)) for s in range(5)]
    plain = oa.payload(_request("hi", variation=0.0))
    assert all("instructions" in p for p in with_style) and "instructions" not in plain
    assert oa.payload(_request("hi", pitch=1.2, speed=1.0))["speed"] == pytest.approx(1.2)


def test_configured_model_and_concurrency_reach_the_service(
        fake: Any, tmp_path: Path, workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """tts.openai_model and tts.openai_concurrency were validated and then ignored."""
    from easy_oww.pipeline.clips import select_voices

    state, url = fake
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    config = ProjectConfig(name="p", wake_word="hey jarvis",
                           tts={"backends": ["openai"], "openai_model": "tts-1",
                                "openai_concurrency": 2})
    voices = select_voices(config, workspace)  # what `train` synthesises with
    assert voices and {v.name.split("/")[0] for v in voices} == {"tts-1"}
    registry = make_registry(config.tts)
    assert registry["openai"].concurrency.workers == 2
    reqs = [SynthesisRequest(f"phrase {i}", voices[i % len(voices)], seed=i) for i in range(8)]
    synthesize_many(reqs, tmp_path / "cache", registry=registry)
    assert len(state.calls) == 8 and {c["model"] for c in state.calls} == {"tts-1"}
    assert state.max_in_flight == 2
    assert list_voices(backends=("openai",))[0].name == "gpt-4o-mini-tts/alloy"  # default
