"""The downloadable datasets: where they live, how big they are, what they are for.

Nothing here is needed for easy-oww to work (DESIGN.md, contract 4); these make models
better. Tiers:

- ``required``: what openWakeWord's own best models are trained with (precomputed negative
  features and the false-positive validation features). Training without them works on
  the embedded defaults, but recall / false-accept figures are worse.
- ``recommended``: small and clearly useful (real room impulse responses, real speech).
- ``optional``: large extras (noise library, far-field evaluation corpus).

Sizes and checksums: values marked in ``notes`` as approximate were not read from the host;
a checksum of None means none is published or known, and the file is then checked by its
size only. Sources for the known values are given beside each entry.

URLs are rewritten for mirrors (and tests) by `mirror_url`: the environment variable
``EASY_OWW_DATASET_MIRROR=http://host:port/prefix`` replaces the scheme and host of every
dataset URL, keeping the path.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass
from typing import Literal

from easy_oww.errors import DownloadError

Tier = Literal["required", "recommended", "optional"]
Kind = Literal["precomputed_features", "rir", "noise", "speech", "eval_audio"]
Extraction = Literal["none", "npy", "zip", "tar", "split_zip"]

TIERS: tuple[Tier, ...] = ("required", "recommended", "optional")
MIRROR_ENV = "EASY_OWW_DATASET_MIRROR"

HF_FEATURES = "https://huggingface.co/datasets/davidscripka/openwakeword_features/resolve/main"
ZENODO_FSD50K = "https://zenodo.org/records/4060432/files"


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch. `size` in bytes; checksums lower-case hex, None when unknown."""

    url: str
    filename: str
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset in the registry.

    `folder` is the directory under ``workspace.datasets``; `extraction` says what happens
    after the download: ``npy``/``none`` keep the file as is (in `folder`), ``zip``/``tar``
    unpack the archive into `folder`, ``split_zip`` joins a multi-part zip first (needs the
    ``zip`` or ``7z`` tool). `members` (glob patterns) limits what is unpacked.
    `extracted_size` estimates the bytes on disk after extraction (free-space check).
    """

    name: str
    description: str
    files: tuple[RemoteFile, ...]
    licence: str
    tier: Tier
    kind: Kind
    extraction: Extraction
    folder: str
    homepage: str
    extracted_size: int | None = None
    members: tuple[str, ...] = ()
    notes: str = ""

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(f.url for f in self.files)

    @property
    def size(self) -> int | None:
        """Total download size in bytes (None when any file's size is unknown)."""
        sizes = [f.size for f in self.files]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)

    @property
    def sha256(self) -> str | None:
        """The sha256 of a single-file dataset (None for multi-file or unknown)."""
        return self.files[0].sha256 if len(self.files) == 1 else None

    @property
    def disk_size(self) -> int | None:
        """Bytes this dataset occupies once installed (archives are removed afterwards)."""
        if self.extraction in ("none", "npy"):
            return self.size
        return self.extracted_size

    @property
    def archive(self) -> bool:
        return self.extraction in ("zip", "tar", "split_zip")


ACAV100M_FEATURES = DatasetSpec(
    name="acav100m_features",
    description="openWakeWord's precomputed negative features: ~2,000 hours of ACAV100M "
                "speech, music and noise as float16 [5625000, 16, 96] embedding windows",
    files=(RemoteFile(
        url=f"{HF_FEATURES}/openwakeword_features_ACAV100M_2000_hrs_16bit.npy",
        filename="openwakeword_features_ACAV100M_2000_hrs_16bit.npy",
        size=17_280_000_128,
        sha256="721a66d0682c65a1b5c1da0aa109409cede1d20e28b15235c344b000cbb7654f"),),
    licence="CC-BY-NC-SA-4.0 (non-commercial)",
    tier="required",
    kind="precomputed_features",
    extraction="npy",
    folder="openwakeword_features",
    homepage="https://huggingface.co/datasets/davidscripka/openwakeword_features",
    notes="size and sha256 as recorded by several independent openWakeWord training setups",
)

VALIDATION_FEATURES = DatasetSpec(
    name="validation_features",
    description="openWakeWord's false-positive validation set: ~10.7 hours of varied audio "
                "as one float32 [481345, 96] embedding stream (false accepts per hour)",
    files=(RemoteFile(
        url=f"{HF_FEATURES}/validation_set_features.npy",
        filename="validation_set_features.npy",
        size=184_836_608,
        sha256="a56a8a0f8e0efb91900acc6de4c0cdf4c564842e8475a7d49b36c039e17a690f"),),
    licence="CC-BY-NC-SA-4.0 (non-commercial)",
    tier="required",
    kind="precomputed_features",
    extraction="npy",
    folder="openwakeword_features",
    homepage="https://huggingface.co/datasets/davidscripka/openwakeword_features",
    notes="size and sha256 as recorded by independent openWakeWord training setups",
)

MIT_RIRS = DatasetSpec(
    name="mit_rirs",
    description="MIT Acoustical Reverberation Scene Statistics Survey: 271 real-world room "
                "impulse responses (32 kHz WAV), for reverberation in augmentation",
    files=(RemoteFile(url="https://mcdermottlab.mit.edu/Reverb/IRMAudio/Audio.zip",
                      filename="mit_rirs_Audio.zip", size=11_660_005),),
    licence="unstated by the authors (cite Traer & McDermott, PNAS 2016)",
    tier="recommended",
    kind="rir",
    extraction="zip",
    folder="mit_rirs",
    homepage="https://mcdermottlab.mit.edu/Reverb/IR_Survey.html",
    extracted_size=30_000_000,
    notes="size from a third-party record (may change); no checksum published; "
          "extracted size approximate",
)

LIBRISPEECH_DEV_CLEAN = DatasetSpec(
    name="librispeech_dev_clean",
    description="LibriSpeech dev-clean: 5.4 hours of read English speech (40 speakers, FLAC), "
                "real negative speech",
    files=(RemoteFile(
        url="https://www.openslr.org/resources/12/dev-clean.tar.gz",
        filename="librispeech-dev-clean.tar.gz",
        size=337_926_286,
        sha256="76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3"),),
    licence="CC-BY-4.0",
    tier="recommended",
    kind="speech",
    extraction="tar",
    folder="librispeech",
    homepage="https://www.openslr.org/12",
    extracted_size=360_000_000,
    notes="sha256 as in torchaudio's LibriSpeech recipe; extracted size approximate",
)

FSD50K_EVAL = DatasetSpec(
    name="fsd50k",
    description="FSD50K evaluation split: 10,231 Freesound clips of everyday sounds "
                "(~13.5 hours, 44.1 kHz WAV), background noise for augmentation",
    files=(
        RemoteFile(url=f"{ZENODO_FSD50K}/FSD50K.eval_audio.z01?download=1",
                   filename="FSD50K.eval_audio.z01",
                   md5="3090670eaeecc013ca1ff84fe4442aeb"),
        RemoteFile(url=f"{ZENODO_FSD50K}/FSD50K.eval_audio.zip?download=1",
                   filename="FSD50K.eval_audio.zip",
                   md5="6fa47636c3a3ad5c7dfeba99f2637982"),
    ),
    licence="CC-BY-4.0 (clips under individual CC licences, see the dataset)",
    tier="optional",
    kind="noise",
    extraction="split_zip",
    folder="fsd50k",
    homepage="https://zenodo.org/records/4060432",
    extracted_size=4_600_000_000,
    notes="md5 from the Zenodo record (as used by soundata); sizes unknown here, read from "
          "the server before downloading; the larger dev split (~24 GB) is not included",
)

DIPCO = DatasetSpec(
    name="dipco",
    description="DiPCo (Dinner Party Corpus): 10 dinner-party sessions recorded far-field; "
                "only channel 1 of each device array is kept, for false-accept evaluation",
    files=(RemoteFile(
        url="https://zenodo.org/records/8122551/files/DipCo.tgz?download=1",
        filename="DipCo.tgz",
        size=13_415_522_146,
        sha256="b7679824adb96544e1fd6e69e97d3bdebd444d5af22adaa27681a3db4a3aeb5d",
        md5="2297eb9334f3b90e02b54b708e501b24"),),
    licence="CDLA-Permissive-1.0",
    tier="optional",
    kind="eval_audio",
    extraction="tar",
    folder="dipco",
    homepage="https://zenodo.org/records/8122551",
    extracted_size=3_500_000_000,
    members=("*/audio/*/S[0-9][0-9]_U[0-9][0-9].CH1.wav", "*/transcriptions/*"),
    notes="size/md5 from the Zenodo record, sha256 from a third-party record; extracted "
          "size (far-field CH1 only) approximate",
)

REGISTRY: tuple[DatasetSpec, ...] = (ACAV100M_FEATURES, VALIDATION_FEATURES, MIT_RIRS,
                                     LIBRISPEECH_DEV_CLEAN, FSD50K_EVAL, DIPCO)


def dataset_names() -> list[str]:
    return [d.name for d in REGISTRY]


def get_dataset(name: str) -> DatasetSpec:
    """The registry entry called `name`; DownloadError listing the names otherwise."""
    for spec in REGISTRY:
        if spec.name == name:
            return spec
    raise DownloadError(f"unknown dataset {name!r}",
                        f"choose from: {', '.join(dataset_names())} (see: easy-oww download --list)")


def select_datasets(names: list[str] | tuple[str, ...] | None = None, *,
                    required_only: bool = False) -> list[DatasetSpec]:
    """Datasets to fetch: the named ones, else the required ones, else required+recommended.

    With no names, optional datasets are left out (they are large); name them to get them.
    """
    if names:
        return [get_dataset(n) for n in dict.fromkeys(names)]
    wanted = ("required",) if required_only else ("required", "recommended")
    return [d for d in REGISTRY if d.tier in wanted]


def mirror_url(url: str, base: str | None = None) -> str:
    """Rewrite `url` onto a mirror: `base` (or $EASY_OWW_DATASET_MIRROR) replaces scheme+host.

    ``mirror_url("https://zenodo.org/records/1/files/x.zip", "http://127.0.0.1:8000/m")``
    gives ``http://127.0.0.1:8000/m/records/1/files/x.zip``.
    """
    base = base if base is not None else os.environ.get(MIRROR_ENV, "").strip() or None
    if not base:
        return url
    mirror = urllib.parse.urlsplit(base)
    if mirror.scheme not in ("http", "https") or not mirror.netloc:
        raise DownloadError(f"invalid dataset mirror {base!r}",
                            f"use a URL such as http://host:8000/prefix in {MIRROR_ENV}")
    parts = urllib.parse.urlsplit(url)
    path = mirror.path.rstrip("/") + parts.path
    return urllib.parse.urlunsplit((mirror.scheme, mirror.netloc, path, parts.query, ""))
