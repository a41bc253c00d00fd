"""The `train` pipeline: clips -> features -> training -> export -> evaluation.

Each phase records a manifest when it completes, keyed by a hash of everything that affects
it; a rerun skips matching phases, `force` redoes them, and a killed run continues.
"""

from easy_oww.pipeline.run import PhaseTiming, TrainReport, run_train

__all__ = ["PhaseTiming", "TrainReport", "run_train"]
