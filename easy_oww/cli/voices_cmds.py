"""`easy-oww voices list` and `easy-oww voices download`: TTS voices by backend."""

from __future__ import annotations

import json
from collections import defaultdict

import click
from rich.table import Table

from easy_oww.cli.common import AppState, pass_state, progress_bars
from easy_oww.tts.types import Voice


@click.group("voices")
def voices_cmd() -> None:
    """TTS voices: what is installed, and Piper voices to download."""


def _speakers(n: int) -> str:
    return f"{n} speaker" if n == 1 else f"{n} speakers"


def _summarise(voices: list[Voice]) -> list[tuple[str, str, str, str, str]]:
    """(backend, voice, speakers/variants, language, status) rows; espeak grouped by accent."""
    rows: list[tuple[str, str, str, str, str]] = []
    espeak: dict[str, int] = defaultdict(int)
    piper: dict[str, list[Voice]] = defaultdict(list)
    for v in voices:
        if v.backend == "espeak":
            espeak[v.name.split("+")[0]] += 1
        elif v.backend == "piper":
            piper[v.name].append(v)
        else:
            rows.append((v.backend, v.name, "1", v.language, "usable (API key set)"))
    for accent, n in sorted(espeak.items()):
        rows.append(("espeak", accent, f"{n - 1} variants", "en", "embedded"))
    for name, vs in sorted(piper.items()):
        where = "packaged" if vs[0].path and "site-packages" in vs[0].path else "installed"
        rows.append(("piper", name, _speakers(len(vs)), vs[0].language, where))
    return rows


@voices_cmd.command("list")
@click.option("--language", default=None, help="Only downloadable voices of this language "
              "(e.g. en_US, or en for every English variety).")
@click.option("--json", "as_json", is_flag=True, help="Print every voice id as JSON.")
@click.option("--refresh", is_flag=True,
              help="Download the Piper catalogue first (otherwise the cached copy is used).")
@pass_state
def list_voices_cmd(state: AppState, language: str | None, as_json: bool,
                    refresh: bool) -> None:
    """Every usable voice by backend, and Piper voices that can be downloaded."""
    from easy_oww.tts import catalog, list_voices, make_registry

    ws = state.open_workspace()
    registry = make_registry()
    openai_ready = bool(registry["openai"].availability())
    backends = tuple(n for n in registry if n != "openai" or openai_ready)
    voices = list_voices(ws, backends=backends, registry=registry)
    installed = catalog.installed_keys(ws)
    cat = catalog.load_catalog(ws, refresh=True) if refresh else catalog.cached_catalog(ws)
    downloadable = [c for c in cat if c.key not in installed
                    and (language is None or catalog.matches_language(c, language))]
    if as_json:
        state.out.print_json(json.dumps({
            "usable": [v.id for v in voices],
            "downloadable": [c.key for c in downloadable]}))
        return
    table = Table(title="TTS voices")
    for col in ("backend", "voice", "speakers", "language", "status"):
        table.add_column(col)
    for row in _summarise(voices):
        table.add_row(*row)
    if not openai_ready:
        table.add_row("openai", "(11 voices)", "", "en",
                      "needs OPENAI_API_KEY and easy-oww\\[openai]")
    for c in downloadable:
        table.add_row("piper", c.key, _speakers(c.num_speakers), c.language,
                      f"download ({c.size_bytes / 1e6:.0f} MB)")
    state.out.print(table)
    state.out.print(f"{len(voices)} usable voices ({sum(v.backend == 'espeak' for v in voices)} "
                    f"espeak-ng, {sum(v.backend == 'piper' for v in voices)} Piper, "
                    f"{sum(v.backend == 'openai' for v in voices)} OpenAI)")
    if not cat:
        state.out.print("More Piper voices: `easy-oww voices download` "
                        "(fetches the public catalogue).")


@voices_cmd.command("download")
@click.option("--language", default="en_US", show_default=True,
              help="Language code (en_US, en_GB) or family (en).")
@click.option("--count", type=click.IntRange(1, 200), default=3, show_default=True,
              help="How many voices to download (most speakers first).")
@click.option("--refresh", is_flag=True, help="Download the catalogue again.")
@pass_state
def download_voices_cmd(state: AppState, language: str, count: int, refresh: bool) -> None:
    """Download Piper voices from the public catalogue into the workspace (resumable)."""
    from easy_oww.errors import EasyOWWError
    from easy_oww.tts import catalog

    ws = state.open_workspace()
    with progress_bars(state) as progress:
        cat = catalog.load_catalog(ws, refresh=refresh, progress=progress)
        chosen = catalog.choose(cat, language, count, skip=catalog.installed_keys(ws))
        if not chosen:
            if not any(catalog.matches_language(c, language) for c in cat):
                raise EasyOWWError(f"the Piper catalogue has no voices for '{language}'",
                                   "try --language en_US, en_GB or en")
            state.out.print(f"Every '{language}' Piper voice is already installed.")
            return
        total_mb = sum(c.size_bytes for c in chosen) / 1e6
        state.err.print(f"Downloading {len(chosen)} Piper voice(s), {total_mb:.0f} MB")
        for voice in chosen:
            path = catalog.download_voice(voice, ws, progress=progress)
            state.out.print(f"installed {voice.key} ({voice.num_speakers} speakers): {path}")
