"""`easy-oww` entry point: a lazily loaded command group with documented exit codes.

Exit codes: 0 success; 1 unexpected internal error (a bug); 2 usage, config or input
problem (``error: ...`` and ``hint: ...`` on stderr); 130 interrupted (Ctrl-C), 143 stopped
by SIGTERM, 129 stopped by SIGHUP (a rerun resumes). A full disk and a path of the wrong
kind (a file where a folder belongs) are input problems too (`easy_oww.fsutil.from_os_error`).
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback
from typing import Any

import click

from easy_oww import __version__
from easy_oww.cli.common import AppState, setup_logging
from easy_oww.errors import EasyOWWError
from easy_oww.fsutil import from_os_error
from easy_oww.parallel import Stopped, stop_on_signals, stop_requested

# name -> "module:attribute"; modules are imported only when their command runs or
# when --help lists them, so `easy-oww --help` stays fast and light.
COMMANDS: dict[str, str] = {
    "init": "easy_oww.cli.workspace_cmds:init_cmd",
    "create": "easy_oww.cli.project_cmds:create_cmd",
    "list": "easy_oww.cli.project_cmds:list_cmd",
    "train": "easy_oww.cli.train_cmds:train_cmd",
    "record": "easy_oww.cli.record_cmds:record_cmd",
    "record-negative": "easy_oww.cli.record_cmds:record_negative_cmd",
    "import": "easy_oww.cli.record_cmds:import_cmd",
    "download": "easy_oww.cli.download_cmds:download_cmd",
    "augment-preview": "easy_oww.cli.augment_cmds:augment_preview_cmd",
    "eval": "easy_oww.cli.eval_cmds:eval_cmd",
    "export": "easy_oww.cli.export_cmds:export_cmd",
    "test": "easy_oww.cli.eval_cmds:test_cmd",
    "voices": "easy_oww.cli.voices_cmds:voices_cmd",
}

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
STOPPED = "stopped: finished work is kept; run the command again to resume"


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        cmd = getattr(importlib.import_module(module), attr)
        assert isinstance(cmd, click.Command)
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with stop_on_signals():
                return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except EasyOWWError as exc:
            _user_error(ctx, exc)
        except Stopped as exc:
            _stopped(ctx, exc.signum, exc)
        except KeyboardInterrupt:
            if _state(ctx).debug:
                raise
            click.echo("\ninterrupted: finished work is kept; run the command again to resume",
                       err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as exc:  # noqa: BLE001 - the last resort: reported as a bug
            signum = stop_requested()
            if signum is not None:  # a worker ended by the same signal before the parent
                _stopped(ctx, signum, exc)
            user = from_os_error(exc) if isinstance(exc, OSError) else None
            if user is not None:
                _user_error(ctx, user, exc)
            _internal_error(ctx, exc)


def _user_error(ctx: click.Context, exc: EasyOWWError, cause: BaseException | None = None
                ) -> None:
    if _state(ctx).debug:
        raise cause or exc
    click.echo(f"error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"hint: {exc.hint}", err=True)
    ctx.exit(exc.exit_code)


def _stopped(ctx: click.Context, signum: int, exc: BaseException) -> None:
    """SIGTERM / SIGHUP: like Ctrl-C, one line, exit 128 + the signal number."""
    if _state(ctx).debug:
        raise exc
    click.echo(STOPPED, err=True)
    ctx.exit(128 + signum)


def _internal_error(ctx: click.Context, exc: Exception) -> None:
    state = _state(ctx)
    if state.debug:
        raise exc
    click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
    if state.verbose:
        click.echo("".join(traceback.format_exception(exc)), err=True)
    else:
        click.echo("hint: rerun with -v for the traceback, and please report this bug",
                   err=True)
    ctx.exit(EXIT_BUG)


def _state(ctx: click.Context) -> AppState:
    obj = ctx.find_object(AppState)
    return obj if obj is not None else AppState()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                              "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="easy-oww")
@click.option("--workspace", "workspace", type=click.Path(file_okay=False), default=None,
              help="Workspace folder (default: $EASY_OWW_WORKSPACE, then ~/easy-oww).")
@click.option("-v", "--verbose", is_flag=True, help="More detail; tracebacks for internal errors.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or notices; results only.")
@click.option("--debug", is_flag=True, hidden=True, help="Re-raise every error (for developers).")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None, verbose: bool, quiet: bool,
        debug: bool) -> None:
    """Train custom openWakeWord wake-word models, offline, fast and measured.

    \b
    Typical use:
      easy-oww init
      easy-oww create hey_jarvis --wake-word "hey jarvis"
      easy-oww train hey_jarvis
      easy-oww test hey_jarvis
    """
    ctx.obj = AppState(workspace=workspace, verbose=verbose, quiet=quiet, debug=debug)
    setup_logging(ctx.obj)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        cli.main(args=argv, prog_name="easy-oww")
    except KeyboardInterrupt:  # raised outside a command (e.g. while importing it)
        click.echo("\ninterrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Stopped as exc:  # a second stop signal while the first one unwinds
        click.echo(STOPPED, err=True)
        sys.exit(exc.exit_code)
    finally:
        logging.shutdown()
