"""Choosing the checkpoint to ship, and averaging checkpoints.

Rule: among validated checkpoints, those that meet the false-positive target (with at
least one positive caught) compete on their selection score (mean recall at the target
and at a few higher false-positive rates, `validation.selection_score`), then on recall
at the target, then on fewer false positives, then on the later step. When none meets
it, the one with the fewest false positives per hour at the default threshold wins
(ties: higher recall there, then the later step). With checkpoint averaging on, the
trainer ships the mean of the last checkpoints instead whenever that mean meets the target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch


def rank_key(entry: Mapping[str, Any]) -> tuple[float, ...]:
    """Sort key: larger is better (see the module docstring)."""
    if entry["met"]:
        return (1.0, entry.get("selection_score", 0.0), entry["recall"], -entry["fp_per_hour"],
                entry["step"])
    return (0.0, 0.0, -entry["fp_per_hour_at_default"], entry["recall_at_default"], entry["step"])


def best_entry(history: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The winning validation entry of `history` (non-empty)."""
    if not history:
        raise ValueError("no validated checkpoints to choose from")
    return max(history, key=rank_key)


def last_entries(history: Sequence[Mapping[str, Any]], k: int) -> list[Mapping[str, Any]]:
    """The `k` latest validated entries, in step order."""
    return sorted(history, key=lambda e: e["step"])[-k:] if k > 0 else []


def average_state_dicts(states: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Element-wise mean of state dicts with the same keys (floating tensors only averaged)."""
    if not states:
        raise ValueError("nothing to average")
    out: dict[str, torch.Tensor] = {}
    for key, first in states[0].items():
        if torch.is_floating_point(first):
            total = torch.zeros_like(first, dtype=torch.float64)
            for s in states:
                total += s[key].to(torch.float64)
            out[key] = (total / len(states)).to(first.dtype)
        else:
            out[key] = first.clone()
    return out
