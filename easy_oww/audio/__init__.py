"""Audio loading, saving, resampling and quality checks (16 kHz mono int16)."""

from easy_oww.audio.io import load_audio, save_wav, to_int16
from easy_oww.audio.quality import QualityReport, check_quality

__all__ = ["QualityReport", "check_quality", "load_audio", "save_wav", "to_int16"]
