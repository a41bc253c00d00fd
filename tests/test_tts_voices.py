"""`easy-oww voices list/download` against a tiny fake Piper catalogue on 127.0.0.1."""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from easy_oww.tts import catalog


def _voice_files(root: Path, key: str, speakers: int) -> dict[str, dict[str, object]]:
    lang = key.split("-")[0]
    rel = f"en/{lang}/{key.split('-')[1]}/{key.split('-')[2]}"
    folder = root / rel
    folder.mkdir(parents=True)
    model = folder / f"{key}.onnx"
    model.write_bytes(b"fake onnx model " * (200 + speakers))
    config = folder / f"{key}.onnx.json"
    config.write_text(json.dumps({"num_speakers": speakers, "language": {"code": lang},
                                  "audio": {"sample_rate": 22050}}))
    card = folder / "MODEL_CARD"
    card.write_text("card")
    return {f"{rel}/{p.name}": {"size_bytes": p.stat().st_size,
                                "md5_digest": hashlib.md5(p.read_bytes()).hexdigest()}
            for p in (model, config, card)}


@pytest.fixture
def voice_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "piper-voices"
    entries = {}
    for key, speakers, quality in (("en_US-alpha-medium", 1, "medium"),
                                   ("en_US-crowd-high", 12, "high"),
                                   ("en_US-tiny-x_low", 1, "x_low"),
                                   ("en_GB-brit-medium", 4, "medium")):
        entries[key] = {"key": key, "language": {"code": key.split("-")[0]}, "quality": quality,
                        "num_speakers": speakers, "files": _voice_files(root, key, speakers)}
    (root / "voices.json").write_text(json.dumps(entries))
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(catalog.URL_ENV, f"http://127.0.0.1:{server.server_address[1]}")
    yield root
    server.shutdown()
    server.server_close()


def test_download_picks_most_speakers_and_installs(invoke: Any, workspace: Any,
                                                   voice_server: Path) -> None:
    result = invoke("voices", "download", "--language", "en_US", "--count", "2")
    assert result.exit_code == 0, result.output
    assert "en_US-crowd-high" in result.output and "en_US-alpha-medium" in result.output
    assert "tiny" not in result.output and "en_GB" not in result.output
    model = workspace.voices / "en_US-crowd-high" / "en_US-crowd-high.onnx"
    assert model.read_bytes() == next(voice_server.rglob("en_US-crowd-high.onnx")).read_bytes()
    assert Path(f"{model}.json").is_file()
    assert not (workspace.voices / "en_US-crowd-high" / "MODEL_CARD").exists()

    listed = invoke("voices", "list", "--json")
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.output)
    assert "piper:en_US-crowd-high#11" in data["usable"] and "espeak:en-us+m3" in data["usable"]
    assert "piper:en_US-joe-medium" in data["usable"]
    assert data["downloadable"] == ["en_GB-brit-medium", "en_US-tiny-x_low"]

    again = invoke("voices", "download", "--count", "5")  # only what is missing
    assert again.exit_code == 0, again.output
    assert "en_US-tiny-x_low" in again.output and "crowd" not in again.output
    done = invoke("voices", "download")
    assert done.exit_code == 0 and "already installed" in done.output


def test_language_family_and_unknown_language(invoke: Any, workspace: Any,
                                              voice_server: Path) -> None:
    result = invoke("voices", "download", "--language", "en", "--count", "2")
    assert result.exit_code == 0, result.output
    assert "en_US-crowd-high" in result.output and "en_GB-brit-medium" in result.output
    bad = invoke("voices", "download", "--language", "xx_XX")
    assert bad.exit_code == 2 and "no voices for 'xx_XX'" in bad.output


def test_offline_download_points_to_embedded_voices(invoke: Any, workspace: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(catalog.URL_ENV, "http://127.0.0.1:9")  # nothing listens on port 9
    result = invoke("voices", "download")
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.startswith(("error:", "hint:"))]
    assert lines[0].startswith("error: cannot download the Piper voice catalogue")
    assert "espeak-ng" in lines[1] and "en_US-joe-medium" in lines[1]
    assert "Traceback" not in result.output


def test_list_without_catalogue_shows_embedded_voices(invoke: Any) -> None:
    result = invoke("voices", "list")
    assert result.exit_code == 0, result.output
    assert "en-gb-x-rp" in result.output and "en_US-joe-medium" in result.output
    assert "voices download" in result.output


def test_list_refresh_fetches_the_catalogue(invoke: Any, voice_server: Path) -> None:
    result = invoke("voices", "list", "--refresh", "--language", "en_GB")
    assert result.exit_code == 0, result.output
    assert "en_GB-brit-medium" in result.output and "download" in result.output
    assert "en_US-crowd-high" not in result.output
