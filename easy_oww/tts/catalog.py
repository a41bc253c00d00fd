"""The public Piper voice catalogue (rhasspy/piper-voices on Hugging Face) and downloads.

`voices.json` lists every voice with its files, sizes and md5 sums; we cache it in the
workspace's voices/ folder and download chosen voices beside it (voices/<key>/), where
`list_voices` finds them. Downloads are resumable and checksummed (easy_oww.datasets).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from easy_oww.errors import DownloadError, EasyOWWError
from easy_oww.fsutil import read_json
from easy_oww.progress import ProgressFn
from easy_oww.workspace import Workspace

log = logging.getLogger(__name__)

PIPER_VOICES_URL = "https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0"
CATALOG_FILE = "voices.json"
URL_ENV = "EASY_OWW_PIPER_VOICES_URL"  # a mirror (or a test server) instead of Hugging Face
QUALITY_RANK = {"medium": 0, "high": 1, "low": 2, "x_low": 3}
OFFLINE_HINT = ("the embedded voices work offline: espeak-ng (all English accents and "
                "variants) and the packaged Piper voice en_US-joe-medium; "
                "see `easy-oww voices list`")


@dataclass(frozen=True)
class CatalogVoice:
    key: str  # e.g. "en_US-libritts_r-medium"
    language: str  # e.g. "en_US"
    quality: str
    num_speakers: int
    files: dict[str, dict[str, Any]]  # repo path -> {"size_bytes", "md5_digest"}

    @property
    def size_bytes(self) -> int:
        return sum(int(f.get("size_bytes", 0)) for f in self.files.values())

    def model_files(self) -> list[str]:
        return [p for p in self.files if p.endswith((".onnx", ".onnx.json"))]


def base_url(explicit: str | None = None) -> str:
    return (explicit or os.environ.get(URL_ENV, "").strip() or PIPER_VOICES_URL).rstrip("/")


def catalog_path(workspace: Workspace) -> Path:
    return workspace.voices / CATALOG_FILE


def parse_catalog(data: dict[str, Any]) -> list[CatalogVoice]:
    voices = []
    for key, entry in sorted(data.items()):
        try:
            voices.append(CatalogVoice(
                key=key, language=str(entry["language"]["code"]),
                quality=str(entry.get("quality", "")),
                num_speakers=int(entry.get("num_speakers", 1)),
                files=dict(entry.get("files", {}))))
        except (KeyError, TypeError, ValueError):
            log.debug("skipping malformed catalogue entry %s", key)
    return voices


def load_catalog(workspace: Workspace, *, refresh: bool = False, url: str | None = None,
                 progress: ProgressFn | None = None) -> list[CatalogVoice]:
    """The catalogue, from the workspace cache or (if absent or `refresh`) downloaded."""
    from easy_oww.datasets.download import download_file

    path = catalog_path(workspace)
    if refresh or not path.is_file():
        tmp = path.with_name(CATALOG_FILE + ".new")
        try:
            download_file(f"{base_url(url)}/{CATALOG_FILE}", tmp, progress=progress, retries=1)
        except DownloadError as exc:
            if path.is_file():
                log.warning("could not refresh the Piper voice catalogue (%s); using the cached "
                            "copy", exc.message)
                return parse_catalog(read_json(path))
            raise DownloadError(f"cannot download the Piper voice catalogue: {exc.message}",
                                OFFLINE_HINT) from None
        os.replace(tmp, path)
    try:
        return parse_catalog(read_json(path))
    except ValueError as exc:
        path.unlink(missing_ok=True)
        raise EasyOWWError(f"the cached Piper voice catalogue was corrupt ({exc})",
                           "run the command again to download it afresh") from None


def cached_catalog(workspace: Workspace) -> list[CatalogVoice]:
    """The cached catalogue, or [] when it was never downloaded (no network)."""
    path = catalog_path(workspace)
    try:
        return parse_catalog(read_json(path)) if path.is_file() else []
    except ValueError:
        return []


def matches_language(voice: CatalogVoice, language: str) -> bool:
    """"en_US" matches exactly; "en" matches every English variety."""
    lang = language.replace("-", "_")
    return voice.language.lower() == lang.lower() or (
        "_" not in lang and voice.language.split("_")[0].lower() == lang.lower())


def installed_keys(workspace: Workspace) -> set[str]:
    from easy_oww.tts.piper_backend import package_models, workspace_models

    models = package_models() + workspace_models(workspace.voices)
    return {m.name[: -len(".onnx")] for m in models}


def choose(catalog: list[CatalogVoice], language: str, count: int,
           skip: set[str]) -> list[CatalogVoice]:
    """The `count` most useful voices: most speakers first, then medium/high quality."""
    pool = [v for v in catalog if matches_language(v, language) and v.key not in skip]
    pool.sort(key=lambda v: (-v.num_speakers, QUALITY_RANK.get(v.quality, 9), v.key))
    return pool[:count]


def download_voice(voice: CatalogVoice, workspace: Workspace, *, url: str | None = None,
                   progress: ProgressFn | None = None) -> Path:
    """Download the model and its config into voices/<key>/; return the model path."""
    from easy_oww.datasets.download import download_file

    folder = workspace.voices / voice.key
    model: Path | None = None
    # config first: a model without its .onnx.json is never picked up half-done
    for repo_path in sorted(voice.model_files(), key=lambda p: not p.endswith(".json")):
        info = voice.files[repo_path]
        dest = folder / Path(repo_path).name
        download_file(f"{base_url(url)}/{repo_path}", dest, size=info.get("size_bytes"),
                      md5=info.get("md5_digest"), progress=progress)
        if dest.suffix == ".onnx":
            model = dest
    if model is None:
        raise DownloadError(f"the catalogue lists no .onnx model for {voice.key}",
                            "choose another voice")
    return model
