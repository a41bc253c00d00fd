"""Downloadable datasets: registry, resumable downloads, and what is present locally.

Training, augmentation and evaluation ask `easy_oww.datasets` what is there
(`precomputed_negative_features`, `validation_features`, `rir_files`, `noise_files`,
`speech_files`, `dipco_audio`) and fall back to the embedded defaults when nothing is.
"""

from __future__ import annotations

from easy_oww.datasets.download import download_file
from easy_oww.datasets.fetch import DownloadOutcome, download_datasets
from easy_oww.datasets.local import (
    DatasetStatus,
    dataset_path,
    dataset_status,
    dipco_audio,
    feature_windows,
    noise_files,
    open_features,
    open_negative_features,
    precomputed_negative_features,
    rir_files,
    speech_files,
    validation_features,
)
from easy_oww.datasets.registry import REGISTRY, DatasetSpec, RemoteFile, get_dataset

__all__ = [
    "REGISTRY",
    "DatasetSpec",
    "DatasetStatus",
    "DownloadOutcome",
    "RemoteFile",
    "dataset_path",
    "dataset_status",
    "dipco_audio",
    "download_datasets",
    "download_file",
    "feature_windows",
    "get_dataset",
    "noise_files",
    "open_features",
    "open_negative_features",
    "precomputed_negative_features",
    "rir_files",
    "speech_files",
    "validation_features",
]
