"""The TTS backend seam: every engine behind `Backend`, dispatch by declared properties."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from easy_oww import parallel
from easy_oww.audio.io import load_audio
from easy_oww.tts import (
    Availability,
    Concurrency,
    SynthesisRequest,
    Voice,
    list_voices,
    make_registry,
    plan_requests,
    synthesize_many,
)
from easy_oww.tts import synth as synth_mod
from easy_oww.tts.postprocess import postprocess
from easy_oww.tts.types import Raw, one_by_one
from easy_oww.workspace import Workspace

TTS_DIR = Path(synth_mod.__file__).parent
THREADS = Concurrency("threads", workers=3)


@dataclass(frozen=True)
class ToneBackend:
    """A fake remote engine: tones, run in "threads", recording what it was asked."""

    log: list[str]
    name: str = "tone"
    concurrency: Concurrency = THREADS
    cheap: bool = True
    cache_version: int | None = None
    relative_cost: float = 1.0

    def availability(self) -> Availability:
        return Availability(True)

    def list_voices(self, workspace: Workspace | None = None) -> list[Voice]:
        return [Voice("tone", f"hz{f}") for f in (200, 300)]

    def init_worker(self, threads: int) -> None:
        raise AssertionError("a threads backend never gets a worker process")

    def synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, int]:
        hz = int(request.voice.name[2:])
        t = np.arange(8000) / 8000
        return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32), 8000

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> Iterator[Raw]:
        self.log.append(f"batch of {len(requests)}")
        return reversed(list(one_by_one(self.synthesize, requests)))  # any order


def test_every_engine_implements_the_protocol() -> None:
    registry = make_registry()
    assert list(registry) == ["espeak", "piper", "kokoro", "openai"]
    for name, backend in registry.items():
        assert backend.name == name
        assert backend.concurrency.kind in ("processes", "threads")
        assert isinstance(backend.availability(), Availability)
        assert callable(backend.synthesize_batch) and callable(backend.init_worker)
    assert registry["espeak"].cheap and not registry["piper"].cheap
    assert not registry["kokoro"].cheap and registry["kokoro"].relative_cost > 1.0
    assert registry["openai"].concurrency == Concurrency("threads", workers=5)


def test_a_registered_engine_is_dispatched_by_what_it_declares(tmp_path: Path) -> None:
    seen: list[str] = []
    registry = {**make_registry(), "tone": ToneBackend(seen)}
    voices = list_voices(backends=("tone",), registry=registry)
    reqs = [SynthesisRequest(f"text {i}", voices[i % 2], seed=i) for i in range(5)]
    paths = synthesize_many(reqs, tmp_path / "c", registry=registry)
    assert seen == ["batch of 5"]  # one batch through its own threads, not a process pool
    for p, r in zip(paths, reqs):
        assert np.array_equal(load_audio(p), postprocess(*registry["tone"].synthesize(r)))
    # cheap: plans do not cap its distinct clips
    plan = plan_requests(["a", "b", "c"], voices, 12, seed=0, speed=(1, 1), pitch=(1, 1),
                         family_cap=2, registry=registry)
    assert len(set(plan)) == 12


def test_a_dear_backend_gets_the_family_cap_over_its_cost(tmp_path: Path) -> None:
    """Kokoro costs ~5x Piper a clip: a plan synthesises a fifth as many distinct clips of
    its family and reuses them (augmented afresh downstream)."""
    registry = {"tone": ToneBackend([], cheap=False),
                "dear": ToneBackend([], name="dear", cheap=False, relative_cost=5.0)}
    voices = [Voice("tone", "hz200"), Voice("dear", "hz300")]
    plan = plan_requests(["a", "b", "c"], voices, 400, seed=0, speed=(1, 1), pitch=(1, 1),
                         balance_families=True, family_cap=40, registry=registry)
    distinct = {b: len({r for r in plan if r.voice.backend == b}) for b in ("tone", "dear")}
    assert distinct == {"tone": 40, "dear": 8}
    assert sum(r.voice.backend == "dear" for r in plan) == 200  # its share is kept
    assert synth_mod.scaled_cap(40, registry["dear"]) == 8
    assert synth_mod.scaled_cap(3, registry["dear"]) == 1
    assert synth_mod.scaled_cap(40, None) == 40


def test_cache_keys_are_unchanged() -> None:
    """Cached clips in users' workspaces stay valid: same names as before the seam."""
    keys = {
        "a35407093b201c17": SynthesisRequest("hey jarvis", Voice("espeak", "en-us+m3"),
                                             speed=1.1, pitch=0.9, variation=0.5, seed=3),
        "e2203a36b317b45d": SynthesisRequest("hey jarvis", Voice("piper", "en_US-joe-medium",
                                                                 path="/x/y.onnx"), seed=7),
        "b1754e2fe7f51f49": SynthesisRequest("hey jarvis", Voice("piper", "en_US-libritts-high",
                                                                 speaker=12), seed=7),
        "46231199c9a3c1e3": SynthesisRequest("hey jarvis", Voice("openai",
                                                                 "gpt-4o-mini-tts/alloy"), seed=1),
    }
    assert {synth_mod.cache_key(r): k for k, r in keys.items()} == {k: k for k in keys}


def test_process_count_follows_declared_clip_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "usable_cores", lambda: 8)
    reg = make_registry()
    espeak, piper = reg["espeak"], reg["piper"]
    count = synth_mod._process_count
    assert count([(espeak, list(range(1000)))], 63, 0) == 2  # a worker per 500 cheap clips
    assert count([(espeak, list(range(100)))], 7, 0) == 1
    assert count([(piper, list(range(40)))], 3, 0) == 3  # one per batch
    assert count([(espeak, list(range(1000))), (piper, list(range(40)))], 66, 0) == 8
    assert count([(espeak, list(range(1000)))], 63, 3) == 3  # asked for: as asked


def _imports(path: Path) -> set[str]:
    """easy_oww.tts modules that `path` imports anywhere (module or function level)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n.rsplit(".", 1)[-1] for n in names if n.startswith("easy_oww.tts.")}
    return found


def test_tts_modules_import_no_cycle() -> None:
    """synth and openai_backend imported each other (inside a function)."""
    mods = {p.stem for p in TTS_DIR.glob("*.py")}
    graph = {m: _imports(TTS_DIR / f"{m}.py") & mods - {m} for m in mods}
    assert "synth" not in graph["openai_backend"]
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        if state.get(m) == 2:
            return
        assert state.get(m) != 1, f"import cycle: {' -> '.join([*path, m])}"
        state[m] = 1
        for n in graph[m]:
            visit(n, [*path, m])
        state[m] = 2

    for m in graph:
        if m != "__init__":
            visit(m, [])
