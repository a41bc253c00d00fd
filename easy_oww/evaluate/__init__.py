"""Evaluation: streaming detector, metrics (recall, false positives per hour, DET), reports
and the live microphone test.

One evaluation path: `windows` cuts streams and clips into model windows, `measure`'s
`evaluate_features` turns embeddings and a model into one `result.EvalReport` (train's
evaluation phase and `eval` both call it), `card` makes the model card from it, and
`report.run_eval` is the same evaluation for audio files.

Submodules are imported on first use so that ``import easy_oww.evaluate`` stays light:
`metrics` needs only numpy; `detector` needs onnxruntime; plotting needs matplotlib.
"""

from __future__ import annotations
