"""Acoustic augmentation: rooms, noise, microphones, pitch/tempo and clip placement.

Build the sources once (`build_sources`), construct one `Augmenter` in the parent, and call
it in feature-extraction workers with a generator from `easy_oww.rng.item_rng(seed,
clip_id, round_, stream="augment")`. Nothing here is written to disk except by
`save_examples` and the preview.
"""

from easy_oww.augment.augmenter import Augmenter, AugmentPlan, save_examples
from easy_oww.augment.ops import active_rms, apply_rir, mix_at_snr, place_in_window
from easy_oww.augment.sources import (
    AcousticSources,
    _find_downloaded,
    build_sources,
    with_babble,
)

__all__ = [
    "AcousticSources",
    "AugmentPlan",
    "Augmenter",
    "_find_downloaded",
    "active_rms",
    "apply_rir",
    "build_sources",
    "mix_at_snr",
    "place_in_window",
    "save_examples",
    "with_babble",
]
