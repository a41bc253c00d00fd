"""The training loop: balanced batches, negative-weight ramp, warm-up + cosine decay,
periodic validation, resumable checkpoints and checkpoint selection.

Deterministic per seed: the head is initialised from the seed, batches come from a numpy
generator whose state is checkpointed, and the thread count is fixed for the run, so the
same data + seed give the same state-dict bytes on the same machine, killed or not.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from easy_oww.compute import resolve_device
from easy_oww.config import EvaluationConfig, TrainingConfig
from easy_oww.errors import require
from easy_oww.fsutil import atomic_write_bytes, remove_stale_temps, stable_hash
from easy_oww.progress import ProgressFn, no_progress
from easy_oww.rng import item_rng
from easy_oww.training.data import BalancedBatches, RoundPairs, TrainingData

log = logging.getLogger(__name__)

STATE_FILE = "state.pt"
HARD_NEGATIVE_FLOOR = 0.001  # openWakeWord's hard-example thresholds
HARD_POSITIVE_CEIL = 0.999
FOCAL_GAMMA = 2.0
MIXUP_ALPHA = 0.2
DEFAULT_THREADS = 1  # these heads are tiny: one thread is fastest (and immune to load)

if TYPE_CHECKING:  # torch is imported lazily
    import torch
    from torch import nn


@dataclass(frozen=True)
class TrainResult:
    """The chosen model and how it was chosen.

    model: `ScoreModel` (sigmoid output) in eval mode on the CPU.
    selected_step: the validated step shipped (the last of the averaged ones, if averaged).
    threshold / val_recall / val_fp_per_hour: validation metrics at the recommended threshold.
    """

    model: Any
    selected_step: int
    threshold: float
    val_recall: float
    val_fp_per_hour: float
    met_target: bool
    history: list[dict[str, Any]]
    seconds: float
    averaged_steps: tuple[int, ...] = field(default=())
    val_adversarial_false_accept: float | None = None


def lr_at(step: int, steps: int, peak: float, warmup_fraction: float) -> float:
    """Linear warm-up to `peak`, then cosine decay to 1% of it at the last step."""
    warm = round(steps * warmup_fraction)
    if warm > 0 and step < warm:
        return peak * (step + 1) / warm
    span = max(1, steps - warm - 1)
    t = min(1.0, (step - warm) / span)
    floor = 0.01 * peak
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * t))


def negative_weight_at(step: int, steps: int, max_weight: float) -> float:
    """openWakeWord's schedule: negatives' weight ramps linearly from 1 to `max_weight`."""
    if steps <= 1:
        return max_weight
    return 1.0 + (max_weight - 1.0) * step / (steps - 1)


@contextlib.contextmanager
def _torch_settings(threads: int, device: str) -> Iterator[None]:
    """Fixed thread count and deterministic kernels for the run; restored afterwards."""
    import torch

    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    if device == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)


def _threads(config: TrainingConfig) -> int:
    return config.threads or DEFAULT_THREADS


def fingerprint(data: TrainingData, config: TrainingConfig, evaluation: EvaluationConfig,
                seed: int) -> str:
    """What a checkpoint belongs to; a mismatch means start afresh."""
    cfg = config.model_dump(mode="json")
    cfg.pop("device", None)
    cfg["threads"] = _threads(config)
    return stable_hash({"config": cfg, "evaluation": evaluation.model_dump(mode="json"),
                        "seed": seed, "data": data.describe()})


def _new_model(config: TrainingConfig, seed: int) -> nn.Module:
    import torch

    from easy_oww.training.heads import ScoreModel, build_head

    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
        torch.manual_seed(int(item_rng(seed, "head-init").integers(0, 2**62)))
        name = getattr(config.head, "value", config.head)  # enum, or str after model_copy
        head = build_head(str(name), config.layer_size, config.n_blocks, config.window_norm)
    return ScoreModel(head)


def _save(path: Path, obj: Any) -> None:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def _load(path: Path) -> Any:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def _val_file(checkpoint_dir: Path, step: int) -> Path:
    return checkpoint_dir / f"val_{step:08d}.pt"


class _Loop:
    """One training run's mutable state (model, optimiser, sampler, history)."""

    def __init__(self, data: TrainingData, config: TrainingConfig,
                 evaluation: EvaluationConfig, seed: int, checkpoint_dir: Path,
                 device: str) -> None:
        import torch

        from easy_oww.training.heads import normalises_windows

        self.data, self.config, self.evaluation = data, config, evaluation
        self.dir, self.device = checkpoint_dir, torch.device(device)
        self.key = fingerprint(data, config, evaluation, seed)
        self.model = _new_model(config, seed).to(self.device)
        self.normalise = normalises_windows(self.model)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.learning_rate,
                                           weight_decay=1e-2)
        self.batches = BalancedBatches(data, config.batch_size, item_rng(seed, "batches"),
                                       config.positive_fraction)
        self.dropout_rng = item_rng(seed, "input-dropout")  # its own stream: same batches
        self.pairs: RoundPairs | None = None
        if config.round_consistency > 0:
            if data.positive_groups is None:
                log.warning("round_consistency needs TrainingData.positive_groups; "
                            "training without it")
            else:
                self.pairs = RoundPairs(data.positives, data.positive_groups)
        self.pair_rng = item_rng(seed, "round-pairs")
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.losses: list[float] = []

    # -- checkpoints -------------------------------------------------------------------
    def try_resume(self) -> bool:
        path = self.dir / STATE_FILE
        if not path.exists():
            return False
        try:
            state = _load(path)
        except Exception as exc:  # noqa: BLE001 (a corrupt or foreign file: start afresh)
            log.warning("ignoring unreadable training checkpoint %s: %s", path, exc)
            return False
        if state.get("fingerprint") != self.key:
            log.info("training checkpoint is for other data or settings; starting afresh")
            return False
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.batches.set_state(state["rng"])
        self.dropout_rng.bit_generator.state = state["dropout_rng"]
        if "pair_rng" in state:
            self.pair_rng.bit_generator.state = state["pair_rng"]
        self.step, self.history = int(state["step"]), list(state["history"])
        log.info("resuming training at step %d of %d", self.step, self.config.steps)
        return True

    def save_state(self) -> None:
        _save(self.dir / STATE_FILE, {
            "fingerprint": self.key, "step": self.step, "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "rng": self.batches.get_state(),
            "dropout_rng": dict(self.dropout_rng.bit_generator.state),
            "pair_rng": dict(self.pair_rng.bit_generator.state),
            "history": self.history})

    def clear(self) -> None:
        for p in list(self.dir.glob("val_*.pt")) + [self.dir / STATE_FILE]:
            p.unlink(missing_ok=True)

    # -- one step ----------------------------------------------------------------------
    def train_step(self) -> None:
        import torch

        from easy_oww.training import heads
        from easy_oww.training.heads import input_normalised_by_caller, normalise_window_

        cfg = self.config
        x_np, y_np = self.batches.next()
        half = 0
        if self.pairs is not None:  # the first 2 * half positives: two rounds of `half` clips
            half = self.batches.n_pos // 2
            x_np[:2 * half] = self.pairs.sample(half, self.pair_rng)
        x = torch.from_numpy(x_np).to(self.device)
        y = torch.from_numpy(y_np).to(self.device)
        lr = lr_at(self.step, cfg.steps, cfg.learning_rate, cfg.warmup_fraction)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        neg_w = negative_weight_at(self.step, cfg.steps, cfg.max_negative_weight)
        weights = torch.where(y > 0.5, torch.ones_like(y), torch.full_like(y, neg_w))
        if cfg.mixup:
            x, y, weights = self._mixup(x, y, weights)
        if cfg.input_dropout > 0:  # x is this step's own batch: scaled in place
            x.mul_(self._dropout_mask(x.shape[0], x.shape[2], cfg.input_dropout))
        if self.normalise:  # what the head would do, in place (`input_normalised_by_caller`)
            normalise_window_(x)
        hidden: list[torch.Tensor] = []
        hook = (heads.output_layer(self.model.get_submodule("head")).register_forward_hook(
            lambda _m, inputs, _out: hidden.append(inputs[0])) if half else None)
        try:
            with input_normalised_by_caller(self.model, self.normalise):
                logits = self.model(x, logits=True).reshape(-1)
        finally:
            if hook is not None:
                hook.remove()
        loss = _loss(logits, y, weights, cfg.focal_loss)
        if half:
            loss = loss + cfg.round_consistency * round_distance(hidden[0], half)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()
        self.losses.append(float(loss.detach()))
        self.step += 1

    def _dropout_mask(self, rows: int, dims: int, p: float) -> torch.Tensor:
        """[rows, 1, dims] of 0 (dropped) or 1/(1-p): one draw per window and embedding
        dimension, shared by the window's frames, so a dimension is gone for the whole
        window; a head cannot lean on a few dimensions that another voice may not light."""
        import torch

        keep = self.dropout_rng.random((rows, 1, dims), dtype=np.float32) >= p
        return torch.from_numpy(keep.astype(np.float32) / (1.0 - p)).to(self.device)

    def _mixup(self, x: torch.Tensor, y: torch.Tensor,
               w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        import torch

        rng = self.batches.rng
        lam = torch.from_numpy(rng.beta(MIXUP_ALPHA, MIXUP_ALPHA, len(y)).astype(np.float32))
        lam = torch.maximum(lam, 1 - lam).to(self.device)  # keep each row's own label dominant
        perm = torch.from_numpy(rng.permutation(len(y))).to(self.device)
        x = lam[:, None, None] * x + (1 - lam[:, None, None]) * x[perm]
        return x, lam * y + (1 - lam) * y[perm], lam * w + (1 - lam) * w[perm]

    # -- validation --------------------------------------------------------------------
    def validate_and_checkpoint(self, started: float) -> None:
        from easy_oww.training.validation import validate

        result = validate(self.model, self.data, self.evaluation, self.device)
        entry: dict[str, Any] = {
            "step": self.step,
            "loss": float(np.mean(self.losses)) if self.losses else None,
            "lr": lr_at(self.step - 1, self.config.steps, self.config.learning_rate,
                        self.config.warmup_fraction),
            "negative_weight": negative_weight_at(self.step - 1, self.config.steps,
                                                  self.config.max_negative_weight),
            **result.to_json(),
            "seconds": round(time.monotonic() - started, 3),
        }
        self.losses = []
        self.history.append(entry)
        log.info("step %d: recall %.3f at %.3f FP/h (threshold %.4f, target met: %s)",
                 self.step, entry["recall"], entry["fp_per_hour"], entry["threshold"],
                 entry["met"])
        _save(_val_file(self.dir, self.step), self.model.state_dict())
        self.save_state()  # last: a kill before this re-runs the interval deterministically


def round_distance(hidden: torch.Tensor, half: int) -> torch.Tensor:
    """Mean cosine distance between the hidden vectors of rows i and half + i (two rounds
    of one clip): 0 when each pair points the same way."""
    import torch.nn.functional as F

    a = F.normalize(hidden[:half], dim=1)
    b = F.normalize(hidden[half:2 * half], dim=1)
    return (1.0 - (a * b).sum(dim=1)).mean()


def _loss(logits: torch.Tensor, y: torch.Tensor, weights: torch.Tensor,
          focal: bool) -> torch.Tensor:
    """Weighted BCE over the hard examples (openWakeWord drops easy ones), optional focal."""
    import torch
    import torch.nn.functional as F

    bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    p = torch.sigmoid(logits.detach())
    hard = ((y >= 0.5) & (p < HARD_POSITIVE_CEIL)) | ((y < 0.5) & (p >= HARD_NEGATIVE_FLOOR))
    if focal:
        p_t = torch.where(y >= 0.5, p, 1 - p)
        bce = bce * (1 - p_t) ** FOCAL_GAMMA
    mask = hard.to(bce.dtype)
    return (bce * weights * mask).sum() / mask.sum().clamp(min=1.0)


def train_classifier(data: TrainingData, config: TrainingConfig, evaluation: EvaluationConfig,
                     *, seed: int, checkpoint_dir: Path, progress: ProgressFn | None = None,
                     device: str = "cpu") -> TrainResult:
    """Train a head on `data`, validating every `config.validate_every` steps, and return
    the checkpoint that meets `evaluation.target_fp_per_hour` with the best recall.

    Resumable: state is saved atomically into `checkpoint_dir` at every validation; a
    rerun with the same data, config and seed continues and ends with the same model.
    """
    require("torch", "train", "training the classifier")
    data.validate()
    progress = progress or no_progress
    dev = resolve_device(device)
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(checkpoint_dir)
    started = time.monotonic()
    with _torch_settings(_threads(config), dev):
        loop = _Loop(data, config, evaluation, seed, checkpoint_dir, dev)
        if not loop.try_resume():
            loop.clear()
        loop.model.train()
        progress("training", loop.step, config.steps)
        while loop.step < config.steps:
            loop.train_step()
            if loop.step % config.validate_every == 0 or loop.step == config.steps:
                loop.validate_and_checkpoint(started)
            progress("training", loop.step, config.steps)
        result = _choose(loop)
    seconds = time.monotonic() - started
    log.info("training finished in %.1f s; shipping step %d", seconds, result.selected_step)
    return TrainResult(**{**result.__dict__, "seconds": seconds})


def _choose(loop: _Loop) -> TrainResult:
    """Selection (and optional checkpoint averaging) over the validated checkpoints."""
    from easy_oww.training.selection import average_state_dicts, best_entry, last_entries, rank_key
    from easy_oww.training.validation import validate

    history = loop.history
    best = dict(best_entry(history))
    if not best["met"]:
        log.warning("no checkpoint met %.2f false positives/hour; shipping the one with the "
                    "fewest at the default threshold", loop.evaluation.target_fp_per_hour)
    loop.model.load_state_dict(_load(_val_file(loop.dir, best["step"])))
    chosen: dict[str, Any] = best
    averaged: tuple[int, ...] = ()
    tail = last_entries(history, loop.config.average_last_k)
    if loop.config.checkpoint_averaging and len(tail) >= 2:
        states = [_load(_val_file(loop.dir, e["step"])) for e in tail]
        model = _new_model(loop.config, 0).to(loop.device)
        model.load_state_dict(average_state_dicts(states))
        res = validate(model, loop.data, loop.evaluation, loop.device)
        candidate = {**res.to_json(), "step": tail[-1]["step"]}
        # The average of the final checkpoints ships whenever it meets the target: the
        # differences validation sees between single checkpoints are mostly noise, and
        # the average was better on larger held-out data (docs/training.md).
        if candidate["met"] or (not best["met"] and rank_key(candidate) > rank_key(best)):
            log.info("shipping the mean of the last %d checkpoints", len(tail))
            loop.model, chosen = model, candidate
            averaged = tuple(int(e["step"]) for e in tail)
    model = loop.model.cpu().eval()
    if not chosen["met"]:
        threshold = loop.evaluation.threshold
        recall, fph = chosen["recall_at_default"], chosen["fp_per_hour_at_default"]
    else:
        threshold, recall, fph = chosen["threshold"], chosen["recall"], chosen["fp_per_hour"]
    return TrainResult(model=model, selected_step=int(chosen["step"]), threshold=float(threshold),
                       val_recall=float(recall), val_fp_per_hour=float(fph),
                       met_target=bool(chosen["met"]), history=[dict(h) for h in history],
                       seconds=0.0, averaged_steps=averaged,
                       val_adversarial_false_accept=chosen.get("adversarial_false_accept"))
