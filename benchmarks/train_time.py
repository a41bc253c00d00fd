"""What the recipe costs: `easy-oww train` with today's defaults beside the recipe before
the cross-family changes (issue 14), on one machine, in one run.

    .venv/bin/python benchmarks/train_time.py [--word "hey jarvis"] [--preset quick]
        [--workdir DIR] [--concurrent] [--variant "NAME=KEY=VALUE;KEY=VALUE" ...]
        [--reuse WORKSPACE]

Each variant trains the same wake word in a fresh workspace of its own (no cache shared),
as a user runs it (`easy-oww create` + `easy-oww train`), with the variant's settings
written into the project's config.yaml. Variants built in:

- `before`: the recipe before issue 14, as far as configuration expresses it: no family
  balancing (an equal share per voice, so espeak-ng's hundreds of variants say nearly every
  clip and Piper almost none), no cap on distinct clips, pitch shifts on 20 % of the
  clips within +-2 semitones, no speech after the phrase, noise always over the whole
  window, no other voices, no Piper accents, no input dropout, no window scaling, the
  negatives' final weight at 50, near misses as noisy as other clips and as close as one
  phone to the wake phrase. (Code-level changes that both variants share stay: the
  seeded Piper graph, short utterances among negative sentences, the long negative audio
  in the positives' rooms.)
- `now`: the defaults.

Printed per variant: wall time, CPU time (user + sys of the whole process tree: less
sensitive to other load than wall time), each phase's own seconds (from its phase.json),
the ratios to the first variant, and the first 16 hex digits of each model's sha256 (the
`now` variant runs README command 1's steps, so its model should have the demo's bytes). Machines differ and are shared: compare only the
ratios printed by one run. `--concurrent` runs the variants at the same time, so that
load from other jobs falls on both alike (on a quiet machine, run them one after another).
Leave the checkout alone while it runs: worker processes import the code afresh, so a
checkout or merge under a running train breaks it.

`--reuse WORKSPACE` times only what follows the features: each variant starts from a copy
of a workspace where `easy-oww train` already ran for the word (large files hard-linked,
never written: the pipeline replaces files, it does not rewrite them), with its training,
models and evaluation removed, so the variants train, export and evaluate on the same
features. Only `training.*` and `evaluation.*` settings may differ (others would redo
earlier phases); the default variant is `now` alone, so name the others with --variant.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

PHASES = ("clips", "negative_audio", "features", "training", "models", "evaluation")
# The pre-issue-14 value of every setting an issue-14 change added or moved (a default that
# lands for the issue adds its old value here, or `before` quietly runs the new recipe).
BEFORE = {"tts.balance_families": False, "tts.family_clip_share": 1.0,
          "tts.piper_accent_share": 0.0,
          "clips.near_miss_min_phones": 1,
          "augment.pitch_probability": 0.2, "augment.pitch_semitones": [-2.0, 2.0],
          "augment.follow_probability": 0.0, "augment.noise_span_probability": 0.0,
          "augment.voice_probability": 0.0, "augment.near_miss_noise_probability": 0.8,
          "training.max_negative_weight": 50.0, "training.input_dropout": 0.0,
          "training.window_norm": False}


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """NAME=KEY=VALUE;KEY=VALUE (values parsed as YAML) -> (NAME, {KEY: VALUE})."""
    name, _, rest = text.partition("=")
    settings: dict[str, Any] = {}
    for item in filter(None, rest.split(";")):
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise SystemExit(f"--variant {text!r}: expected NAME=section.key=value;...")
        settings[key] = yaml.safe_load(value)
    return name, settings


def apply_settings(config_path: Path, settings: dict[str, Any]) -> None:
    data = yaml.safe_load(config_path.read_text())
    for dotted, value in settings.items():
        section, key = dotted.split(".", 1)
        data.setdefault(section, {})[key] = value
    config_path.write_text(yaml.safe_dump(data, sort_keys=False))


def easy_oww() -> list[str]:
    exe = Path(sys.executable).with_name("easy-oww")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "easy_oww"]


def project_name(word: str) -> str:
    """The project name README command 1 uses for its word ("hey jarvis" -> hey_jarvis), so
    that the `now` variant is that command exactly and its model's bytes can be compared."""
    return re.sub(r"[^a-z0-9]+", "_", word.lower()).strip("_")


def prepare(root: Path, name: str, word: str, preset: str, settings: dict[str, Any]) -> Path:
    ws = root / name
    if ws.exists():
        shutil.rmtree(ws)
    cmd = easy_oww() + ["--workspace", str(ws)]
    subprocess.run(cmd + ["init"], check=True, stdout=subprocess.DEVNULL)
    project = project_name(word)
    subprocess.run(cmd + ["create", project, "--wake-word", word, "--preset", preset],
                   check=True, stdout=subprocess.DEVNULL)
    apply_settings(ws / "projects" / project / "config.yaml", settings)
    return ws


REUSED_SECTIONS = ("training", "evaluation")
REDONE_PHASES = ("training", "models", "evaluation")
LINK_BYTES = 1 << 20  # files this large are hard-linked into a reused copy, smaller copied


def prepare_reused(root: Path, name: str, source: Path, project: str,
                   settings: dict[str, Any]) -> Path:
    """A copy of workspace `source` whose project trains afresh from its features."""
    other = sorted(k for k in settings if k.split(".", 1)[0] not in REUSED_SECTIONS)
    if other:
        raise SystemExit(f"--reuse: {', '.join(other)} would redo the phases before "
                         "training; only training.* and evaluation.* settings may differ")
    src_project = source / "projects" / project
    if not (src_project / "features" / "phase.json").exists():
        raise SystemExit(f"--reuse: {src_project} has no finished features; run "
                         f"`easy-oww --workspace {source} train {project}` first")
    ws = root / name
    if ws.exists():
        shutil.rmtree(ws)

    def link_or_copy(src: str, dst: str) -> None:
        if os.path.getsize(src) >= LINK_BYTES:
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)

    shutil.copytree(source, ws, copy_function=link_or_copy, symlinks=True)
    dst_project = ws / "projects" / project
    for phase in REDONE_PHASES:
        shutil.rmtree(dst_project / phase, ignore_errors=True)
    (dst_project / ".lock").unlink(missing_ok=True)
    apply_settings(dst_project / "config.yaml", settings)  # a copy: small files are copied
    return ws


def phase_seconds(project: Path, phases: tuple[str, ...] = PHASES) -> dict[str, float]:
    out = {}
    for phase in phases:
        f = project / phase / "phase.json"
        if f.exists():
            out[phase] = float(json.loads(f.read_text()).get("seconds", 0.0))
    return out


def run_all(root: Path, variants: list[tuple[str, dict[str, Any]]], project: str, preset: str,
            concurrent: bool, phases: tuple[str, ...] = PHASES) -> list[dict[str, Any]]:
    """Train every prepared variant; wall and CPU seconds of each process tree."""
    results: list[dict[str, Any]] = []
    procs = []  # RUSAGE_CHILDREN would mix variants run together: os.wait4 per child
    for name, _ in variants:
        ws = root / name
        log = (root / f"{name}.log").open("w")
        cmd = easy_oww() + ["--workspace", str(ws), "train", project, "--preset", preset]
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        procs.append((name, proc, started, log))
        if not concurrent:
            results.append(wait(*procs.pop()))
    results.extend(wait(*p) for p in procs)
    for r in results:
        r["phases"] = phase_seconds(root / r["name"] / "projects" / project, phases)
        model = root / r["name"] / "projects" / project / "models" / f"{project}.onnx"
        r["model_sha256"] = hashlib.sha256(model.read_bytes()).hexdigest()
    return results


def wait(name: str, proc: subprocess.Popen[bytes], started: float, log: Any) -> dict[str, Any]:
    # os.wait4 gives this child's own resource use (its whole reaped process tree)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    log.close()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        raise SystemExit(f"variant {name}: train exited {code}; see its log")
    return {"name": name, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}


def report(results: list[dict[str, Any]]) -> str:
    base = results[0]
    lines = [f"{'variant':<12}{'wall':>10}{'ratio':>8}{'cpu':>10}{'ratio':>8}  phases (s)"]
    for r in results:
        phases = " ".join(f"{k} {v:.0f}" for k, v in r["phases"].items())
        lines.append(f"{r['name']:<12}{r['wall_s']:>9.0f}s{r['wall_s'] / base['wall_s']:>8.2f}"
                     f"{r['cpu_s']:>9.0f}s{r['cpu_s'] / base['cpu_s']:>8.2f}  {phases}"
                     f"  model sha256 {r['model_sha256'][:16]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--word", default="hey jarvis")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--workdir", type=Path, default=Path("benchmarks-work/train_time"))
    ap.add_argument("--concurrent", action="store_true",
                    help="run the variants at the same time (fair under other load)")
    ap.add_argument("--variant", action="append", default=[], type=parse_variant,
                    help="NAME=section.key=value;... (default: before and now)")
    ap.add_argument("--reuse", type=Path, metavar="WORKSPACE",
                    help="time training, export and evaluation only, on this workspace's "
                         "features (see above)")
    args = ap.parse_args(argv)
    default = [("now", {})] if args.reuse else [("before", BEFORE), ("now", {})]
    variants = args.variant or default
    args.workdir.mkdir(parents=True, exist_ok=True)
    for name, settings in variants:
        if args.reuse:
            prepare_reused(args.workdir, name, args.reuse, project_name(args.word), settings)
        else:
            prepare(args.workdir, name, args.word, args.preset, settings)
    results = run_all(args.workdir, variants, project_name(args.word), args.preset,
                      args.concurrent, REDONE_PHASES if args.reuse else PHASES)
    text = report(results)
    print(text)
    (args.workdir / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
