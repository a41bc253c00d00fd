"""`easy-oww init`: create the workspace and check the system."""

from __future__ import annotations

import click
from rich.table import Table

from easy_oww.cli.common import AppState, pass_state
from easy_oww.system import system_check
from easy_oww.workspace import init_workspace, resolve_workspace_path


@click.command("init")
@click.option("--workspace", "workspace_opt", type=click.Path(file_okay=False), default=None,
              help="Where to create the workspace (same as the global --workspace).")
@pass_state
def init_cmd(state: AppState, workspace_opt: str | None) -> None:
    """Create the workspace (datasets/, voices/, projects/, cache/) and check the system."""
    path, source = resolve_workspace_path(workspace_opt or state.workspace)
    ws = init_workspace(path)
    table = Table(title="System check", show_lines=False)
    table.add_column("check")
    table.add_column("value")
    table.add_column("ok")
    table.add_column("note", overflow="fold")
    for item in system_check(ws.root):
        table.add_row(item.name, item.value, "yes" if item.ok else "NO", item.note)
    state.out.print(table)
    state.out.print(f"Workspace ready: {ws.root} (from {source})")
    if source != "default":
        state.out.print(f"Use it in later commands with --workspace {ws.root} "
                        f"or export EASY_OWW_WORKSPACE={ws.root}")
