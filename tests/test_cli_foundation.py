from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from easy_oww import __version__
from easy_oww.cli.main import COMMANDS, cli


def test_version_and_help(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["--version"])
    assert res.exit_code == 0 and __version__ in res.output
    res = runner.invoke(cli, ["--help"])
    assert res.exit_code == 0
    for name in COMMANDS:
        assert name in res.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(runner: CliRunner, name: str) -> None:
    res = runner.invoke(cli, [name, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.output


def test_init_create_list(tmp_path: Path, runner: CliRunner) -> None:
    ws = tmp_path / "ws"
    res = runner.invoke(cli, ["init", "--workspace", str(ws)])
    assert res.exit_code == 0, res.output
    assert "System check" in res.output and "CPU cores" in res.output
    assert (ws / "projects").is_dir()
    res = runner.invoke(cli, ["--workspace", str(ws), "create", "hey_jarvis", "--wake-word",
                              "hey jarvis", "--samples", "50", "--steps", "100"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["--workspace", str(ws), "list", "--json"])
    assert res.exit_code == 0
    data = json.loads(res.output)
    assert data[0]["name"] == "hey_jarvis" and data[0]["wake_word"] == "hey jarvis"
    assert data[0]["model"] is None
    res = runner.invoke(cli, ["--workspace", str(ws), "list"])
    assert "hey_jarvis" in res.output


def test_workspace_from_environment(tmp_path: Path, runner: CliRunner,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "envws"
    monkeypatch.setenv("EASY_OWW_WORKSPACE", str(ws))
    assert runner.invoke(cli, ["init"]).exit_code == 0
    res = runner.invoke(cli, ["create", "p", "--wake-word", "hey there"])
    assert res.exit_code == 0, res.output
    assert (ws / "projects" / "p" / "config.yaml").is_file()


def test_create_prompts_in_terminal_and_fails_without(invoke, monkeypatch) -> None:
    res = invoke("create", "p1")
    assert res.exit_code == 2
    assert "error: no wake word given" in res.output and "hint:" in res.output
    monkeypatch.setattr("easy_oww.cli.project_cmds.is_interactive", lambda: True)
    res = invoke("create", "p2", input="ok computer\n")
    assert res.exit_code == 0, res.output
    assert "ok computer" in res.output


def test_user_errors_exit_2_without_traceback(tmp_path: Path, runner: CliRunner) -> None:
    res = runner.invoke(cli, ["--workspace", str(tmp_path / "none"), "list"])
    assert res.exit_code == 2
    assert res.output.startswith("error: no easy-oww workspace")
    assert "Traceback" not in res.output
    res = runner.invoke(cli, ["nosuchcommand"])
    assert res.exit_code == 2


def test_bad_config_is_reported_on_use(invoke, workspace) -> None:
    assert invoke("create", "p", "--wake-word", "hey p").exit_code == 0
    cfg = workspace.projects / "p" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("seed: 1234", "seed: 1234\nsed: 5"))
    res = invoke("list")
    assert res.exit_code == 0 and "config error" in res.output


def test_internal_error_exit_1_traceback_only_verbose(tmp_path: Path, runner: CliRunner,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr("easy_oww.cli.workspace_cmds.system_check", boom)
    res = runner.invoke(cli, ["init", "--workspace", str(tmp_path / "w")])
    assert res.exit_code == 1
    assert "internal error: RuntimeError: kaboom" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(cli, ["-v", "init", "--workspace", str(tmp_path / "w")])
    assert res.exit_code == 1 and "Traceback" in res.output


def test_keyboard_interrupt_exit_130(tmp_path: Path, runner: CliRunner,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("easy_oww.cli.workspace_cmds.system_check", interrupt)
    res = runner.invoke(cli, ["init", "--workspace", str(tmp_path / "w")])
    assert res.exit_code == 130 and "resume" in res.output


def test_real_entry_points(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    exe = Path(sys.executable).with_name("easy-oww")
    out = subprocess.run([str(exe), "--workspace", str(ws), "init"], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([sys.executable, "-m", "easy_oww", "--workspace", str(ws), "create",
                          "p"], capture_output=True, text=True, check=False,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 2
    assert out.stderr.startswith("error: no wake word given")
    out = subprocess.run([sys.executable, "-m", "easy_oww", "--version"], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0 and __version__ in out.stdout


def test_import_is_cheap() -> None:
    code = ("import sys, easy_oww, easy_oww.cli.main; "
            "heavy = {'torch', 'onnxruntime', 'scipy', 'matplotlib'} & set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
