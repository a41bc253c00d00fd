"""Download registry datasets into a workspace: space check, fetch, verify, extract.

`download_datasets` is the entry point the CLI calls. For each selected dataset it skips
what is present, downloads each file with `download_file` (resumable, checksummed), then

- single ``.npy`` files: downloads straight to their final path and checks the header;
- archives: downloads into ``datasets/.downloads/``, extracts into a temporary folder
  beside the target, writes the completion marker there, and renames it onto the target
  folder (so a folder without a marker is never mistaken for a finished one). The
  archive is deleted afterwards unless ``keep_archives``.

Before anything is fetched, the total space still needed by every selected dataset is
checked against the free space. A failing dataset does not stop the others; each gets a
`DownloadOutcome`.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import shutil
import subprocess
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from filelock import FileLock, Timeout

from easy_oww.datasets.download import check_free_space, download_file, human_bytes, partial_path
from easy_oww.datasets.local import (
    check_feature_shape,
    dataset_path,
    downloads_dir,
    is_present,
    npy_header,
)
from easy_oww.datasets.registry import DatasetSpec, RemoteFile, mirror_url, select_datasets
from easy_oww.errors import DownloadError
from easy_oww.fsutil import atomic_write_json
from easy_oww.progress import ProgressFn
from easy_oww.workspace import Workspace

log = logging.getLogger(__name__)

Outcome = Literal["downloaded", "present", "failed"]


@dataclass(frozen=True)
class DownloadOutcome:
    name: str
    status: Outcome
    path: Path
    seconds: float = 0.0
    error: str | None = None  # one line, for failed ones
    hint: str | None = None


def download_datasets(workspace: Workspace, names: Sequence[str] | None = None, *,
                      required_only: bool = False, progress: ProgressFn | None = None,
                      base_url_override: str | None = None, keep_archives: bool = False,
                      retries: int = 4, timeout: float = 30.0, backoff: float = 1.0
                      ) -> list[DownloadOutcome]:
    """Fetch the named datasets (default: required + recommended; see `select_datasets`).

    `base_url_override` (or $EASY_OWW_DATASET_MIRROR) points every URL at a mirror.
    Raises DownloadError before downloading anything when the disk is too small for all
    of them; per-dataset failures are reported in the outcomes instead.
    """
    specs = select_datasets(list(names) if names else None, required_only=required_only)
    workspace.datasets.mkdir(parents=True, exist_ok=True)
    todo = [s for s in specs if not is_present(workspace, s)]
    check_space_for(workspace, todo)
    outcomes = []
    for spec in specs:
        if spec not in todo:
            outcomes.append(DownloadOutcome(spec.name, "present", dataset_path(workspace, spec)))
            continue
        start = time.monotonic()
        try:
            path = install_dataset(workspace, spec, progress=progress,
                                   base_url=base_url_override, keep_archives=keep_archives,
                                   retries=retries, timeout=timeout, backoff=backoff)
        except DownloadError as exc:
            log.error("%s: %s", spec.name, exc.message)
            outcomes.append(DownloadOutcome(spec.name, "failed", dataset_path(workspace, spec),
                                            time.monotonic() - start, exc.message, exc.hint))
            continue
        outcomes.append(DownloadOutcome(spec.name, "downloaded", path,
                                        time.monotonic() - start))
    return outcomes


def space_needed(workspace: Workspace, spec: DatasetSpec) -> int:
    """Bytes still to be written for `spec` (remaining download + extraction), best known."""
    need = 0
    for f in spec.files:
        target = _file_target(workspace, spec, f)
        have = 0
        if target.is_file():
            have = target.stat().st_size
        elif partial_path(target).is_file():
            have = partial_path(target).stat().st_size
        need += max((f.size or 0) - have, 0)
    if spec.archive:
        need += spec.extracted_size or spec.size or 0
    if spec.extraction == "split_zip":
        need += spec.size or 0  # the parts are joined into one copy before extraction
    return need


def check_space_for(workspace: Workspace, specs: Sequence[DatasetSpec]) -> None:
    total = sum(space_needed(workspace, s) for s in specs)
    if total:
        names = ", ".join(s.name for s in specs)
        check_free_space(workspace.datasets, total, names)


def install_dataset(workspace: Workspace, spec: DatasetSpec, *,
                    progress: ProgressFn | None = None, base_url: str | None = None,
                    keep_archives: bool = False, retries: int = 4, timeout: float = 30.0,
                    backoff: float = 1.0) -> Path:
    """Download (and extract) one dataset; returns its installed path.

    A lock file keeps a second process from working on the same dataset at the same time.
    """
    lock = FileLock(str(workspace.datasets / f".{spec.name}.lock"))
    try:
        lock.acquire(timeout=0.5)
    except Timeout:
        raise DownloadError(f"{spec.name} is being downloaded by another easy-oww process",
                            "wait for it to finish and run the command again") from None
    try:
        if is_present(workspace, spec):  # finished by another process meanwhile
            return dataset_path(workspace, spec)
        return _install(workspace, spec, progress=progress, base_url=base_url,
                        keep_archives=keep_archives, retries=retries, timeout=timeout,
                        backoff=backoff)
    finally:
        lock.release()
        with contextlib.suppress(OSError):
            Path(lock.lock_file).unlink()


def _install(workspace: Workspace, spec: DatasetSpec, *, progress: ProgressFn | None,
             base_url: str | None, keep_archives: bool, retries: int, timeout: float,
             backoff: float) -> Path:
    got = []
    for f in spec.files:
        dest = _file_target(workspace, spec, f)
        log.info("downloading %s (%s)", f.filename,
                 human_bytes(f.size) if f.size else "size unknown")
        got.append(download_file(mirror_url(f.url, base_url), dest, sha256=f.sha256,
                                 md5=f.md5, size=f.size, progress=progress, retries=retries,
                                 timeout=timeout, backoff=backoff))
    if spec.extraction == "npy":
        shape, _dtype = npy_header(got[0])
        check_feature_shape(got[0], shape, windowed_only=spec.name == "acav100m_features")
    if not spec.archive:
        return got[0]
    target = workspace.datasets / spec.folder
    extract_archive(spec, got, target, progress=progress)
    if not keep_archives:
        for p in got:
            p.unlink(missing_ok=True)
    return target


def _file_target(workspace: Workspace, spec: DatasetSpec, f: RemoteFile) -> Path:
    if spec.archive:
        return downloads_dir(workspace) / f.filename
    return workspace.datasets / spec.folder / f.filename


# --- extraction -------------------------------------------------------------------------

def extract_archive(spec: DatasetSpec, archives: list[Path], target: Path, *,
                    progress: ProgressFn | None = None) -> None:
    """Extract `archives` into `target` atomically (temporary folder, marker, rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    archive_bytes = sum(p.stat().st_size for p in archives)
    need = spec.extracted_size or archive_bytes
    if spec.extraction == "split_zip":
        need += archive_bytes  # the joined copy of the parts
    check_free_space(target.parent, need, f"extracting {spec.name}")
    for stale in [*target.parent.glob(f".{target.name}.extracting-*"),
                  *target.parent.glob(f".{target.name}.old-*")]:
        log.info("removing %s left by an interrupted extraction", stale.name)
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.extracting-", dir=target.parent))
    try:
        if spec.extraction == "zip":
            count = _extract_zip(archives[0], tmp, spec.members, spec.name, progress)
        elif spec.extraction == "tar":
            count = _extract_tar(archives[0], tmp, spec.members, spec.name, progress)
        elif spec.extraction == "split_zip":
            count = _extract_split_zip(archives, tmp, spec.members, spec.name, progress)
        else:  # pragma: no cover - guarded by spec.archive
            raise ValueError(spec.extraction)
        if count == 0:
            raise DownloadError(f"{spec.name}: the archive contained no usable files",
                                "the download may be wrong; report the dataset URL")
        atomic_write_json(tmp / ".complete.json", {
            "name": spec.name, "files": [f.filename for f in spec.files],
            "sha256": [f.sha256 for f in spec.files], "members": count,
            "extracted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        _swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    assert (target / ".complete.json").is_file()


def _swap_in(tmp: Path, target: Path) -> None:
    """Replace `target` (possibly a stale half-extracted folder) by `tmp`."""
    if target.exists():
        old = target.with_name(f".{target.name}.old-{int(time.time())}")
        target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(target)


def _wanted(name: str, members: tuple[str, ...]) -> bool:
    if name.startswith("__MACOSX/") or "/._" in f"/{name}":
        return False
    return not members or any(fnmatch.fnmatch(name, pat) for pat in members)


def _safe_member_path(root: Path, name: str) -> Path:
    out = (root / name).resolve()
    if not out.is_relative_to(root.resolve()):
        raise DownloadError(f"archive member {name!r} points outside the target folder",
                            "the archive is unsafe; it was not extracted")
    return out


def _extract_zip(archive: Path, dest: Path, members: tuple[str, ...], task: str,
                 progress: ProgressFn | None) -> int:
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir() and _wanted(i.filename, members)]
            for n, info in enumerate(infos, 1):
                out = _safe_member_path(dest, info.filename)
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                if progress is not None:
                    progress(f"extract {task}", n, len(infos))
            return len(infos)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DownloadError(f"cannot extract {archive.name}: {exc}",
                            f"delete {archive} and run the download again") from exc


def _extract_tar(archive: Path, dest: Path, members: tuple[str, ...], task: str,
                 progress: ProgressFn | None) -> int:
    count = 0
    try:
        with tarfile.open(archive, "r:*") as tf:
            for info in tf:  # streamed: a .tgz is read once, front to back
                if not info.isfile() or not _wanted(info.name, members):
                    continue
                out = _safe_member_path(dest, info.name)
                out.parent.mkdir(parents=True, exist_ok=True)
                src = tf.extractfile(info)
                if src is None:
                    continue
                with src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                count += 1
                if progress is not None:
                    progress(f"extract {task}", count, 0)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DownloadError(f"cannot extract {archive.name}: {exc}",
                            f"delete {archive} and run the download again") from exc
    return count


def _extract_split_zip(parts: list[Path], dest: Path, members: tuple[str, ...], task: str,
                       progress: ProgressFn | None) -> int:
    """A multi-part zip (x.z01, x.z02, ..., x.zip): join with `zip -s 0` or let 7z read it."""
    main = next((p for p in parts if p.suffix == ".zip"), parts[-1])
    joined = main.with_name(main.stem + ".joined.zip")
    zip_tool, seven = shutil.which("zip"), shutil.which("7z") or shutil.which("7za")
    try:
        if zip_tool:
            _run([zip_tool, "-q", "-s", "0", str(main), "--out", str(joined)], main.name)
            return _extract_zip(joined, dest, members, task, progress)
        if seven:
            _run([seven, "x", "-y", f"-o{dest}", str(main)], main.name)
            for p in [p for p in dest.rglob("*") if p.is_file()]:
                rel = p.relative_to(dest).as_posix()
                if not _wanted(rel, members):
                    p.unlink()
            return sum(1 for p in dest.rglob("*") if p.is_file())
    finally:
        with contextlib.suppress(OSError):
            joined.unlink()
    raise DownloadError(f"{main.name} is a multi-part zip and neither 'zip' nor '7z' is "
                        "installed to join it",
                        "install Info-ZIP zip or 7-Zip (e.g. apt install zip / brew install "
                        "p7zip) and run the download again; the parts are kept")


def _run(cmd: list[str], what: str) -> None:
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or ["no output"]
        raise DownloadError(f"cannot join the parts of {what}: {tail[0]}",
                            "delete the parts in datasets/.downloads and download again"
                            ) from exc
