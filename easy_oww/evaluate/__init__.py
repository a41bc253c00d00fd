"""Evaluation: streaming detector, metrics (recall, false positives per hour, DET), reports
and the live microphone test.

Submodules are imported on first use so that ``import easy_oww.evaluate`` stays light:
`metrics` needs only numpy; `detector` needs onnxruntime; plotting needs matplotlib.
"""

from __future__ import annotations
