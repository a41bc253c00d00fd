"""What the negative-audio stage hands on: named embedding streams cached on disk.

`LongAudio` is one long recording with its cached embedding stream; `NegativeAudio` is a
set of them (generated chunks, DiPCo sessions). Evaluation reads them through the
`FeatureSource` protocol of `easy_oww.evaluate.report` and never imports this stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from easy_oww.contract import EMBEDDING_DIM


@dataclass(frozen=True)
class LongAudio:
    """One long recording and its cached embedding stream ([frames, 96] float32 .npy)."""

    name: str
    audio: Path | None  # None: only the embeddings were kept
    features: Path
    hours: float
    kind: str = "file"  # "generated" (TTS + noise), "dipco" or "file"

    def load_features(self) -> np.ndarray:
        """The embedding stream, memory-mapped read-only."""
        out: np.ndarray = np.load(self.features, mmap_mode="r")
        return out


@dataclass(frozen=True)
class NegativeAudio:
    root: Path
    parts: tuple[LongAudio, ...]
    summary: dict[str, Any]

    @property
    def hours(self) -> float:
        return float(sum(p.hours for p in self.parts))

    def embeddings(self, *, include_dipco: bool = False) -> np.ndarray:
        """The generated chunks' embedding streams, concatenated in order: [frames, 96].

        DiPCo parts (possibly many hours) are added only with `include_dipco`. Frames are
        those of a fresh stream per chunk (`stream_embeddings`), so score windows that
        straddle two chunks mix unrelated audio; that is a few frames per 5 minutes.
        """
        parts = [np.asarray(p.load_features()) for p in self.parts
                 if p.kind == "generated" or (include_dipco and p.kind == "dipco")]
        if not parts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def describe(self) -> str:
        gen = sum(p.hours for p in self.parts if p.kind == "generated")
        dip = sum(p.hours for p in self.parts if p.kind == "dipco")
        text = (f"{gen:.2f} h generated negative audio ({self.summary.get('sentences', '?')} "
                f"TTS sentences, {self.summary.get('voices', '?')} held-out voices, noise)")
        return text + (f" + {dip:.2f} h DiPCo" if dip else "")
