"""The DET curve as a PNG (matplotlib, extra `plot`, imported only here)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from easy_oww.errors import require
from easy_oww.evaluate.metrics import DetCurve, ThresholdChoice
from easy_oww.fsutil import atomic_write_bytes


def plot_det(curve: DetCurve, path: Path, *, title: str,
             operating: tuple[float, float, float] | None = None,
             choice: ThresholdChoice | None = None) -> Path:
    """Miss rate against false positives per hour; `operating` = (threshold, fp/h, miss)."""
    mpl = require("matplotlib", "plot", "drawing the DET curve")
    mpl.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.8), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    order = np.argsort(np.asarray(curve.fp_per_hour, dtype=float), kind="stable")
    fp = np.asarray(curve.fp_per_hour, dtype=float)[order]
    miss = np.minimum.accumulate(np.asarray(curve.miss_rate, dtype=float)[order])
    floor = 0.01  # plot zero false positives on the log axis at this value
    ax.step(np.maximum(fp, floor), miss * 100, where="post", color="tab:blue", lw=2,
            label=f"DET (area {curve.area:.3f} over 0-{curve.fp_range:g} FP/h)")
    if choice is not None:
        ax.axvline(max(choice.target_fp_per_hour, floor), color="tab:gray", ls="--", lw=1,
                   label=f"target {choice.target_fp_per_hour:g} FP/h")
    if operating is not None:
        t, f, m = operating
        ax.plot([max(f, floor)], [m * 100], "o", color="tab:red", ms=8,
                label=f"threshold {t:.3f}: {f:.2f} FP/h, miss {m * 100:.1f} %")
    ax.set_xscale("log")
    ax.set_xlim(floor * 0.8, max(100.0, float(fp.max()) * 1.2 if fp.size else 100.0))
    ax.set_ylim(-2, 102)
    ax.set_xlabel(f"false positives per hour (0 drawn at {floor:g})")
    ax.set_ylabel("miss rate (%)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(path, buf.getvalue())
    return path
