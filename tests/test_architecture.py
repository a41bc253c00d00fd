"""The shape of the package (docs/architecture.md): layers, no import cycles, small modules.

Imports are read from the source (every ``import`` statement, at module level, inside
functions and under ``TYPE_CHECKING`` alike), so a lazy import counts as much as a
top-level one. ``from easy_oww.pkg import name`` is an import of the module
``easy_oww.pkg.name`` when there is one, else of the package ``easy_oww.pkg``.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "easy_oww"
MAX_LINES = 400

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"__main__", "cli"}),
    frozenset({"pipeline"}),
    frozenset({"negative_audio", "training", "evaluate", "augment", "recording", "features"}),
    frozenset({"project", "text"}),
    frozenset({"tts"}),
    frozenset({"datasets"}),
    frozenset({"__init__", "audio", "compute", "config", "contract", "errors", "fsutil",
               "parallel", "progress", "rng", "system", "workspace"}),
)
"""Top to bottom, by the first name under ``easy_oww``: a module may import its own layer
and the layers below it, never one above."""

# -- allowlists: known violations, each to be removed; empty since issue 17 -------------
# A test fails when an entry no longer occurs, so a fixed violation cannot linger here.
KNOWN_LAYER_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()
KNOWN_LONG_MODULES: frozenset[str] = frozenset()


# -- the import graph ---------------------------------------------------------------------
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]
              ) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            keep = len(base) - node.level + (1 if is_package else 0)
            target = ".".join(base[:keep] + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        for alias in node.names:
            sub = f"{target}.{alias.name}"
            yield sub if sub in known else target


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the easy_oww modules it imports (itself excluded)."""
    sources = _sources()
    known = set(sources)
    graph: dict[str, set[str]] = {}
    for module, path in sources.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges = {name for node in ast.walk(tree)
                 for name in _imported(node, module, is_package, known)}
        graph[module] = {e for e in edges if e in known and e != module}
    return graph


def layer_of(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"{module} is in no layer: add {top!r} to LAYERS in "
                         "tests/test_architecture.py and docs/architecture.md")


def layer_violations() -> set[tuple[str, str]]:
    """(importer, imported) pairs where a lower layer imports a higher one."""
    graph = import_graph()
    return {(a, b) for a, targets in graph.items() for b in targets
            if layer_of(a) > layer_of(b)}


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _a_cycle(component: list[str]) -> str:
    """One import path around `component`, for the failure message."""
    graph = import_graph()
    members = set(component)
    path = [component[0]]
    while True:
        nxt = sorted(graph[path[-1]] & members)
        step = next((n for n in nxt if n not in path), None)
        if step is None:
            closing = next(n for n in nxt if n in path)
            return " -> ".join(path[path.index(closing):] + [closing])
        path.append(step)


def long_modules() -> dict[str, int]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            out[path.relative_to(PACKAGE.parent).as_posix()] = n
    return out


# -- the checks ---------------------------------------------------------------------------
def test_the_graph_sees_lazy_and_relative_imports() -> None:
    graph = import_graph()
    assert "easy_oww.errors" in graph["easy_oww.compute"]
    # imported inside a function only
    assert "easy_oww.features.store" in graph["easy_oww.pipeline.learn"]
    assert all(layer_of(m) >= 0 for m in graph)


def test_no_import_from_a_lower_layer_to_a_higher_one() -> None:
    new = sorted(layer_violations() - KNOWN_LAYER_VIOLATIONS)
    assert not new, "imports against the layers (docs/architecture.md):\n" + "\n".join(
        f"  {a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})" for a, b in new)


def test_no_import_cycles() -> None:
    new = [c for c in cycles() if frozenset(c) not in KNOWN_CYCLES]
    assert not new, "import cycles:\n" + "\n".join(f"  {_a_cycle(c)}" for c in new)


def test_no_module_over_400_lines() -> None:
    new = {p: n for p, n in long_modules().items() if p not in KNOWN_LONG_MODULES}
    assert not new, f"modules over {MAX_LINES} lines (split them): {new}"


def test_the_allowlists_hold_only_current_violations() -> None:
    """Once a known violation is fixed, its allowlist entry must go too."""
    gone = sorted(KNOWN_LAYER_VIOLATIONS - layer_violations())
    gone_cycles = [sorted(c) for c in KNOWN_CYCLES - {frozenset(c) for c in cycles()}]
    short = sorted(KNOWN_LONG_MODULES - set(long_modules()))
    stale = [*map(str, gone), *map(str, gone_cycles), *short]
    if stale:
        pytest.fail("fixed, so remove from the allowlists in tests/test_architecture.py: "
                    + "; ".join(stale))


def test_ci_lints_and_type_checks_before_the_tests() -> None:
    """.ci/run runs ruff and strict mypy (both from the `test` extra) before pytest."""
    root = PACKAGE.parent
    ci = (root / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    steps = [line.strip() for line in ci if not line.lstrip().startswith("#")]
    ruff = next(i for i, s in enumerate(steps) if "-m ruff check easy_oww tests" in s)
    mypy = next(i for i, s in enumerate(steps) if s.endswith("-m mypy easy_oww"))
    tests = next(i for i, s in enumerate(steps) if s.endswith("-m pytest"))
    assert ruff < tests and mypy < tests
    assert steps.index("set -euo pipefail") < ruff  # an error stops CI
    assert "set +e" not in steps[:mypy]
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    test_extra = next(line for line in pyproject.splitlines() if line.startswith("test = "))
    assert '"ruff' in test_extra and '"mypy' in test_extra
    assert "strict = true" in pyproject.split("[tool.mypy]")[1]
