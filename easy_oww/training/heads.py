"""Classifier heads that map a window of embeddings [batch, 16, 96] to one logit.

`dnn` is openWakeWord's own architecture (so results compare with upstream models);
`temporal` convolves over the 16 time steps; `temporal_attention` adds attention pooling.
Heads return logits; `ScoreModel` adds the sigmoid that the exported graph carries.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from easy_oww.contract import EMBEDDING_DIM, MODEL_INPUT_FRAMES

WINDOW_NORM_EPS = 0.01  # added to the variance: a dimension still over the window stays ~0


def normalise_window(x: torch.Tensor) -> torch.Tensor:
    """Each embedding dimension of each window [batch, frames, dim] centred on its mean
    over the window's frames and divided by its standard deviation there.

    What the speaker, the room, the microphone or a steady noise add to a dimension for
    the whole window is gone; how the dimension moves while the phrase is said stays.
    """
    centred = x - x.mean(dim=1, keepdim=True)
    return centred * torch.rsqrt((centred * centred).mean(dim=1, keepdim=True)
                                 + WINDOW_NORM_EPS)


WINDOW_NORM_ROWS = 64  # windows scaled at a time in place on a CPU: 393 kB, stays in cache


def normalise_window_(x: torch.Tensor) -> torch.Tensor:
    """`normalise_window` in place, on a batch the caller owns: the same arithmetic in the
    same order (so the same values), with one temporary instead of three, `WINDOW_NORM_ROWS`
    windows at a time on a CPU (measured 0.6-0.65x the time of a batch of 1024 at once; a
    GPU takes the batch whole)."""
    rows = WINDOW_NORM_ROWS if x.device.type == "cpu" else max(1, len(x))
    for part in torch.split(x, rows):
        part.sub_(part.mean(dim=1, keepdim=True))
        part.mul_(torch.rsqrt((part * part).mean(dim=1, keepdim=True) + WINDOW_NORM_EPS))
    return x


class _Head(nn.Module):
    """What every head shares: the optional scaling of each window over time."""

    window_norm = False  # heads pickled before the option existed did not normalise
    _input_normalised = False  # set by `input_normalised_by_caller` only

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        if self.window_norm and not self._input_normalised:
            return normalise_window(x)
        return x


def normalises_windows(model: nn.Module) -> bool:
    """Whether every head in `model` scales each window over time (and there is one)."""
    heads = [m for m in model.modules() if isinstance(m, _Head)]
    return bool(heads) and all(h.window_norm for h in heads)


@contextlib.contextmanager
def input_normalised_by_caller(model: nn.Module, normalised: bool = True) -> Iterator[None]:
    """Within the block the heads of `model` take their input as already scaled over time.

    For the training loop and validation, which own each batch they feed: scaling it in
    place (`normalise_window_`) costs a fraction of the head's out-of-place passes, and
    training and validation spend most of their time on batches of it. Only for a model
    that `normalises_windows`; with `normalised` False the block changes nothing.
    """
    heads = [m for m in model.modules() if isinstance(m, _Head)] if normalised else []
    if heads and not normalises_windows(model):
        raise ValueError("the model has heads that do not scale windows over time")
    for h in heads:
        h._input_normalised = True
    try:
        yield
    finally:
        for h in heads:
            h._input_normalised = False


class FCNBlock(nn.Module):
    """Linear -> LayerNorm -> ReLU, as openWakeWord's FCNBlock."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.fcn_layer = nn.Linear(width, width)
        self.layer_norm = nn.LayerNorm(width)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.relu(self.layer_norm(self.fcn_layer(x)))
        return out


class DNNHead(_Head):
    """openWakeWord's `dnn` model: Flatten -> Linear -> LayerNorm -> ReLU -> blocks -> Linear
    (with `window_norm`, each window is first scaled over time: `normalise_window`)."""

    def __init__(self, layer_size: int = 32, n_blocks: int = 1,
                 frames: int = MODEL_INPUT_FRAMES, dim: int = EMBEDDING_DIM,
                 window_norm: bool = False) -> None:
        super().__init__()
        self.window_norm = window_norm
        self.flatten = nn.Flatten()
        self.layer1 = nn.Linear(frames * dim, layer_size)
        self.layernorm1 = nn.LayerNorm(layer_size)
        self.relu1 = nn.ReLU()
        self.blocks = nn.ModuleList([FCNBlock(layer_size) for _ in range(n_blocks)])
        self.last_layer = nn.Linear(layer_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.layernorm1(self.layer1(self.flatten(self._input(x)))))
        for block in self.blocks:
            x = block(x)
        out: torch.Tensor = self.last_layer(x)
        return out


class _ConvStack(nn.Module):
    """Two 1-D convolutions over time (kernel 3, the second dilated) with LayerNorm + ReLU."""

    def __init__(self, channels: int, frames: int, dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(dim, channels, kernel_size=3, padding=1)
        self.norm1 = nn.LayerNorm([channels, frames])
        self.conv2 = nn.Conv1d(channels, channels, kernel_size=3, padding=2, dilation=2)
        self.norm2 = nn.LayerNorm([channels, frames])
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.norm1(self.conv1(x.transpose(1, 2))))  # [B, C, T]
        out: torch.Tensor = self.relu(self.norm2(self.conv2(h)) + h)
        return out


class TemporalHead(_Head):
    """1-D convolution over the 16 steps, then a small dense layer over the flattened map.

    Flattening (rather than pooling) keeps where in the window the phrase ends, which
    matters because training windows end shortly after the wake phrase.
    """

    def __init__(self, layer_size: int = 32, frames: int = MODEL_INPUT_FRAMES,
                 dim: int = EMBEDDING_DIM, window_norm: bool = False) -> None:
        super().__init__()
        self.window_norm = window_norm
        channels = max(8, layer_size // 2)
        self.convs = _ConvStack(channels, frames, dim)
        self.flatten = nn.Flatten()
        self.dense = nn.Linear(channels * frames, layer_size)
        self.norm = nn.LayerNorm(layer_size)
        self.relu = nn.ReLU()
        self.out = nn.Linear(layer_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.flatten(self.convs(self._input(x)))
        out: torch.Tensor = self.out(self.relu(self.norm(self.dense(h))))
        return out


class TemporalAttentionHead(_Head):
    """1-D convolution over time, then attention pooling (softmax weights over the steps).

    A learned position embedding lets the attention prefer the window's end.
    """

    def __init__(self, layer_size: int = 32, frames: int = MODEL_INPUT_FRAMES,
                 dim: int = EMBEDDING_DIM, window_norm: bool = False) -> None:
        super().__init__()
        self.window_norm = window_norm
        channels = max(8, layer_size)
        self.convs = _ConvStack(channels, frames, dim)
        self.position = nn.Parameter(torch.zeros(1, channels, frames))
        self.attn = nn.Conv1d(channels, 1, kernel_size=1)
        self.dense = nn.Linear(2 * channels, layer_size)
        self.norm = nn.LayerNorm(layer_size)
        self.relu = nn.ReLU()
        self.out = nn.Linear(layer_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.convs(self._input(x)) + self.position  # [B, C, T]
        weights = torch.softmax(self.attn(h), dim=2)  # [B, 1, T]
        pooled = (h * weights).sum(dim=2)
        peak = h.amax(dim=2)
        z = self.relu(self.norm(self.dense(torch.cat([pooled, peak], dim=1))))
        out: torch.Tensor = self.out(z)
        return out


class EnsembleHead(nn.Module):
    """Several trained heads; the output is their mean logit (plus a bias, which
    `calibrate_threshold` moves). Averaging logits of heads trained from different seeds
    cancels much of each head's own idiosyncratic errors (docs/training.md)."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one head")
        self.members = nn.ModuleList(members)
        self.combine = nn.Linear(len(members), 1)
        with torch.no_grad():
            self.combine.weight.fill_(1.0 / len(members))
            self.combine.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.combine(torch.cat([m(x) for m in self.members], dim=1))
        return out


class ScoreModel(nn.Module):
    """A head plus the sigmoid: float32 [batch, 16, 96] -> [batch, 1] in 0..1 (Contract 1)."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:
        z: torch.Tensor = self.head(x)
        return z if logits else torch.sigmoid(z)


def output_layer(head: nn.Module) -> nn.Linear:
    """The head's final one-unit Linear layer (every head ends in one; an ensemble's is
    its `combine` layer, registered after the members)."""
    layers = [m for m in head.modules() if isinstance(m, nn.Linear) and m.out_features == 1]
    if not layers or layers[-1].bias is None:
        raise ValueError("the head has no final one-unit Linear layer with a bias")
    return layers[-1]


CALIBRATION_MARGIN = 1e-5  # logits; float32 rounding at |logit| <= 20 is about 1e-6


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1.0 - 1e-6)
    return float(np.log(p / (1.0 - p)))


def calibrate_threshold(model: ScoreModel, threshold: float, target: float = 0.5) -> None:
    """Shift the output bias so that scores reach `target` where they reached `threshold`.

    The ranking of every window (and so recall, false positives and the DET curve at
    the mapped thresholds) is unchanged; only the scale moves, so the recommended
    threshold becomes `target` (openWakeWord's default of 0.5) and float32 keeps
    resolution there (a threshold of 0.9999 leaves little room between it and 1.0).
    """
    layer = output_layer(model.head)
    with torch.no_grad():  # a hair below: the clip that set the threshold stays caught
        layer.bias.sub_(_logit(threshold) - _logit(target) - CALIBRATION_MARGIN)


HEADS = ("dnn", "temporal", "temporal_attention")


def build_head(name: str, layer_size: int, n_blocks: int = 1,
               window_norm: bool = False) -> nn.Module:
    """A freshly initialised head by config name (uses torch's global RNG: seed around it)."""
    if name == "dnn":
        return DNNHead(layer_size=layer_size, n_blocks=n_blocks, window_norm=window_norm)
    if name == "temporal":
        return TemporalHead(layer_size=layer_size, window_norm=window_norm)
    if name == "temporal_attention":
        return TemporalAttentionHead(layer_size=layer_size, window_norm=window_norm)
    raise ValueError(f"unknown head {name!r}; choose one of {', '.join(HEADS)}")
