"""`easy-oww` entry point: a lazily loaded command group with documented exit codes.

Exit codes: 0 success; 1 unexpected internal error (a bug); 2 usage, config or input
problem (``error: ...`` and ``hint: ...`` on stderr); 130 interrupted (Ctrl-C), 143 stopped
by SIGTERM, 129 stopped by SIGHUP (a rerun resumes). A full disk and a path of the wrong
kind (a file where a folder belongs) are input problems too (`easy_oww.fsutil.from_os_error`).
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

import click

from easy_oww.errors import EasyOWWError
from easy_oww.fsutil import from_os_error
from easy_oww.parallel import Stopped, stop_on_signals, stop_requested

if TYPE_CHECKING:
    from easy_oww.cli.common import AppState

# name -> ("module:attribute", short help). Modules are imported only when their command
# runs or its own --help is asked for: `easy-oww --help` lists the short help from here
# (a test keeps it equal to each command's docstring), so it needs only click.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("easy_oww.cli.workspace_cmds:init_cmd",
             "Create the workspace (datasets/, voices/, projects/, cache/) and check the system."),
    "create": ("easy_oww.cli.project_cmds:create_cmd", "Create project NAME with its config.yaml."),
    "list": ("easy_oww.cli.project_cmds:list_cmd", "List the workspace's projects."),
    "train": ("easy_oww.cli.train_cmds:train_cmd",
              "Train project NAME: clips, features, training, export, evaluation."),
    "record": ("easy_oww.cli.record_cmds:record_cmd",
               "Record your own voice saying the wake phrase into project NAME."),
    "record-negative": ("easy_oww.cli.record_cmds:record_negative_cmd",
                        ("Record phrases that must NOT trigger the wake word (near misses) "
                         "into project NAME.")),
    "import": ("easy_oww.cli.record_cmds:import_cmd",
               "Import audio files or folders (searched recursively) into project NAME."),
    "download": ("easy_oww.cli.download_cmds:download_cmd",
                 "Download datasets: openWakeWord negative features, rooms, speech, noise."),
    "augment-preview": ("easy_oww.cli.augment_cmds:augment_preview_cmd",
                        ("Write a few augmented examples of project NAME as WAVs, plus "
                         "their spectrograms.")),
    "eval": ("easy_oww.cli.eval_cmds:eval_cmd",
             ("Measure a model: recall, false positives per hour (train's held-out data "
              "by default).")),
    "export": ("easy_oww.cli.export_cmds:export_cmd",
               "Export project NAME's trained model (checked before it is written)."),
    "test": ("easy_oww.cli.eval_cmds:test_cmd",
             "Listen on the microphone and show detections live, with a score bar."),
    "voices": ("easy_oww.cli.voices_cmds:voices_cmd",
               "TTS voices: what is installed, and Piper voices to download."),
}

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
STOPPED = "stopped: finished work is kept; run the command again to resume"


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, _, attr = entry[0].partition(":")
        cmd = getattr(importlib.import_module(module), attr)
        assert isinstance(cmd, click.Command)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from COMMANDS' short help, without importing any command."""
        limit = formatter.width - 6 - max(len(n) for n in COMMANDS)
        rows = [(name, _shorten(COMMANDS[name][1], limit)) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
        import traceback

        click.echo("".join(traceback.format_exception(exc)), err=True)
    else:
        click.echo("hint: rerun with -v for the traceback, and please report this bug",
                   err=True)
    ctx.exit(EXIT_BUG)


def _shorten(text: str, limit: int) -> str:
    """`text` cut at a word to at most `limit` characters, ending in '...' (as click does)."""
    limit = max(limit, 20)
    if len(text) <= limit:
        return text
    return text[:limit - 3].rsplit(" ", 1)[0].rstrip(",;:") + "..."


def _state(ctx: click.Context) -> AppState:
    from easy_oww.cli.common import AppState

    obj = ctx.find_object(AppState)
    return obj if obj is not None else AppState()


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from easy_oww import __version__

    click.echo(f"easy-oww, version {__version__}")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                              "max_content_width": 100})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_print_version, help="Show the version and exit.")
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
    from easy_oww.cli.common import AppState, setup_logging

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
        logging = sys.modules.get("logging")  # imported by the commands, not by --help
        if logging is not None:
            logging.shutdown()
