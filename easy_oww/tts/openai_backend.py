"""OpenAI speech API backend (optional extra `openai`, needs httpx and OPENAI_API_KEY).

Voices are named "<model>/<voice>" (e.g. "gpt-4o-mini-tts/alloy") so the model is part of
the clip cache key. Audio is requested as raw 24 kHz 16-bit PCM. Pitch uses the same trick
as Piper: ask for speech `pitch` times faster and read it at `pitch` times the rate.
Requests run in threads (`tts.openai_concurrency`, default 5 at once) with exponential
backoff on 429 and 5xx; the cost is estimated before a batch and reported after it (log
records). `OpenAIBackend` is the `Backend` that `easy_oww.tts.synth` drives; the model it
lists voices for is `tts.openai_model`.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from easy_oww.errors import EasyOWWError, require
from easy_oww.rng import item_rng
from easy_oww.tts.types import Availability, Concurrency, Raw, SynthesisRequest, Voice

if TYPE_CHECKING:
    from easy_oww.workspace import Workspace

log = logging.getLogger(__name__)

BACKEND = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini-tts"
DEFAULT_CONCURRENCY = 5
PCM_RATE = 24000
VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer",
          "verse")
CLASSIC_VOICES = ("alloy", "ash", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer")
# USD. tts-1/-hd are billed per character; gpt-4o-mini-tts per token, which OpenAI
# estimates at about $0.015 per minute of audio.
PRICE_PER_CHAR = {"tts-1": 15e-6, "tts-1-hd": 30e-6}
PRICE_PER_MINUTE = {"gpt-4o-mini-tts": 0.015}
CHARS_PER_SECOND = 14.0  # typical speaking rate, for estimates
STYLES = ("Speak casually, as if to a friend.", "Speak quickly and a little impatiently.",
          "Speak slowly and clearly.", "Speak quietly, almost whispering.",
          "Speak cheerfully.", "Speak as if tired after a long day.",
          "Speak with a strong regional accent.", "Speak like you are calling across a room.")


class TTSError(EasyOWWError):
    """A TTS service refused or failed a request."""


@dataclass(frozen=True)
class Settings:
    api_key: str
    base_url: str = DEFAULT_BASE_URL
    max_retries: int = 5
    backoff_s: float = 1.0
    timeout_s: float = 60.0

    @classmethod
    def from_env(cls, base_url: str | None = None, **kw: Any) -> Settings:
        key = os.environ.get("OPENAI_API_KEY", "").strip()
        if not key:
            raise TTSError("the OpenAI TTS backend needs an API key",
                           "set OPENAI_API_KEY, or remove 'openai' from tts.backends")
        url = base_url or os.environ.get("OPENAI_BASE_URL", "").strip() or DEFAULT_BASE_URL
        return cls(api_key=key, base_url=url.rstrip("/"), **kw)


@dataclass
class Usage:
    """What a batch cost: estimated before, actual after."""

    requests: int = 0
    chars: int = 0
    audio_seconds: float = 0.0
    retries: int = 0
    estimated_usd: float = 0.0
    model_chars: dict[str, int] = field(default_factory=dict)
    model_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def actual_usd(self) -> float:
        return sum(cost(m, c, self.model_seconds.get(m, 0.0)) for m, c in self.model_chars.items())


def available() -> bool:
    """True when httpx is installed and OPENAI_API_KEY is set (`OpenAIBackend.availability`
    says which is missing)."""
    return bool(OpenAIBackend().availability())


def list_voices(model: str = DEFAULT_MODEL) -> list[Voice]:
    names = VOICES if model.startswith("gpt-4o") else CLASSIC_VOICES
    return [Voice(BACKEND, f"{model}/{v}", language="en") for v in names]


def split_name(voice: Voice) -> tuple[str, str]:
    model, _, name = voice.name.rpartition("/")
    return model or DEFAULT_MODEL, name


def cost(model: str, chars: int, seconds: float) -> float:
    if model in PRICE_PER_CHAR:
        return chars * PRICE_PER_CHAR[model]
    return seconds / 60.0 * PRICE_PER_MINUTE.get(model, PRICE_PER_MINUTE[DEFAULT_MODEL])


def estimate_cost(requests: Sequence[SynthesisRequest]) -> float:
    """USD estimate for synthesising `requests` (before any call)."""
    total = 0.0
    for r in requests:
        model, _ = split_name(r.voice)
        chars = len(r.text)
        total += cost(model, chars, chars / CHARS_PER_SECOND / max(r.speed, 0.25))
    return total


def payload(request: SynthesisRequest) -> dict[str, Any]:
    model, voice = split_name(request.voice)
    body: dict[str, Any] = {
        "model": model, "input": request.text, "voice": voice, "response_format": "pcm",
        "speed": float(np.clip(request.speed * request.pitch, 0.25, 4.0)),
    }
    rng = item_rng(request.seed, request.text, 0, stream="openai-variation")
    if model.startswith("gpt-4o") and rng.random() < request.variation:
        body["instructions"] = STYLES[int(rng.integers(len(STYLES)))]
    return body


def _post(client: Any, settings: Settings, body: dict[str, Any], usage: Usage | None,
          lock: threading.Lock) -> bytes:
    httpx = require("httpx", "openai", "OpenAI speech synthesis")
    url = f"{settings.base_url}/audio/speech"
    headers = {"Authorization": f"Bearer {settings.api_key}"}
    last = ""
    for attempt in range(settings.max_retries + 1):
        try:
            resp = client.post(url, json=body, headers=headers, timeout=settings.timeout_s)
        except httpx.TransportError as exc:
            status, last = 0, f"{type(exc).__name__}: {exc}"
        else:
            if resp.status_code == 200:
                return bytes(resp.content)
            status, last = resp.status_code, f"HTTP {resp.status_code}: {resp.text[:200]}"
            if status not in (429,) and status < 500:
                raise TTSError(f"OpenAI speech request failed ({last})",
                               "check OPENAI_API_KEY, the model and the voice name")
        if attempt == settings.max_retries:
            break
        delay = settings.backoff_s * 2**attempt
        log.debug("OpenAI TTS: %s; retrying in %.2fs", last, delay)
        if usage is not None:
            with lock:
                usage.retries += 1
        time.sleep(delay)
    raise TTSError(f"OpenAI speech request failed after {settings.max_retries + 1} tries ({last})",
                   "the service is busy or down; run the command again later "
                   "(finished clips are kept)")


def _decode(data: bytes, request: SynthesisRequest) -> tuple[np.ndarray, int]:
    pcm = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, round(PCM_RATE * request.pitch)


def synthesize(request: SynthesisRequest,
               settings: Settings | None = None) -> tuple[np.ndarray, int]:
    httpx = require("httpx", "openai", "OpenAI speech synthesis")
    settings = settings or Settings.from_env()
    with httpx.Client() as client:
        data = _post(client, settings, payload(request), None, threading.Lock())
    return _decode(data, request)


def synthesize_batch(requests: Sequence[SynthesisRequest], *, concurrency: int = DEFAULT_CONCURRENCY,
                     settings: Settings | None = None, usage: Usage | None = None) -> Iterator[Raw]:
    """Each request's audio as (position, float audio, rate), as the `concurrency` threads
    finish them (one connection each). The cost is logged before (estimate) and after
    (actual); `usage` collects it. Closing the iterator cancels the requests not started."""
    httpx = require("httpx", "openai", "OpenAI speech synthesis")
    settings = settings or Settings.from_env()
    usage = usage if usage is not None else Usage()
    estimate = estimate_cost(requests)
    usage.estimated_usd += estimate
    log.info("OpenAI TTS: %d requests, %d characters, estimated cost $%.4f", len(requests),
             sum(len(r.text) for r in requests), estimate)
    lock = threading.Lock()

    def one(k: int) -> Raw:
        r = requests[k]
        audio, sr = _decode(_post(client, settings, payload(r), usage, lock), r)
        model, _ = split_name(r.voice)
        with lock:
            usage.requests += 1
            usage.chars += len(r.text)
            usage.audio_seconds += len(audio) / PCM_RATE
            usage.model_chars[model] = usage.model_chars.get(model, 0) + len(r.text)
            usage.model_seconds[model] = usage.model_seconds.get(model, 0.0) + len(audio) / PCM_RATE
        return k, audio, sr

    limits = httpx.Limits(max_connections=concurrency)
    with httpx.Client(limits=limits) as client, cf.ThreadPoolExecutor(concurrency) as pool:
        futures = [pool.submit(one, k) for k in range(len(requests))]
        try:
            for fut in cf.as_completed(futures):
                yield fut.result()
        except BaseException:  # an error, Ctrl-C, or the caller closed the iterator
            for f in futures:
                f.cancel()
            raise
        finally:
            log.info("OpenAI TTS: %d requests done (%d retries), %.1f s of audio, cost $%.4f",
                     usage.requests, usage.retries, usage.audio_seconds, usage.actual_usd)


@dataclass(frozen=True)
class OpenAIBackend:
    """The OpenAI speech API as a `Backend`: `model` names the voices it lists (and so the
    model each request asks for), `concurrency` requests run at once in threads.
    `settings`: the key and URL (default: OPENAI_API_KEY / OPENAI_BASE_URL when used)."""

    model: str = DEFAULT_MODEL
    threads: int = DEFAULT_CONCURRENCY
    settings: Settings | None = field(default=None, repr=False)
    name: str = BACKEND
    cheap: bool = False
    cache_version: int | None = None
    relative_cost: float = 1.0

    @property
    def concurrency(self) -> Concurrency:
        return Concurrency("threads", workers=self.threads)

    def availability(self) -> Availability:
        try:
            import httpx  # noqa: F401
        except ImportError:
            return Availability(False, "httpx is not installed", "pip install 'easy-oww[openai]'")
        if self.settings is None and not os.environ.get("OPENAI_API_KEY", "").strip():
            return Availability(False, "OPENAI_API_KEY is not set",
                                "set OPENAI_API_KEY to use OpenAI voices")
        return Availability(True)

    def list_voices(self, workspace: Workspace | None = None) -> list[Voice]:
        return list_voices(self.model)

    def init_worker(self, threads: int) -> None:
        """Nothing to set: requests run in threads of this process."""

    def synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, int]:
        return synthesize(request, self.settings)

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> Iterator[Raw]:
        return synthesize_batch(requests, concurrency=self.threads, settings=self.settings)
