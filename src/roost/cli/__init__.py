"""The ``roost`` command: rich output for people, ``--json`` for programs.

Exit codes (stable, documented in the README): 0 ok, 1 error, 2 usage, 3 not found / not acquired /
conflict / timed out, 4 lease lost. A roost error prints one line on stderr; ``--debug`` adds the
traceback. Every command takes ``--url`` (and ``--project``), which override the environment and
``roost.toml``.

Each command lives in the module named in :data:`COMMANDS` and is imported only when it runs (or
when help lists it): agents call the CLI hundreds of times per task, each call a new process, so
``roost signal get`` must load the signals area and the SQLite backend, not the queue, the worker,
the demo, rich or psycopg. ``tests/test_imports.py`` holds that in place.
"""

from __future__ import annotations

import importlib

import click

import roost
from roost.cli._common import global_options

COMMANDS: dict[str, str] = {
    "agent": "roost.cli.agents:agent",
    "artifact": "roost.cli.artifacts:artifact",
    "backup": "roost.cli.maintenance:backup",
    "cleanup": "roost.cli.maintenance:cleanup",
    "completion": "roost.cli.completion:completion",
    "demo": "roost.cli.demo:demo",
    "doc": "roost.cli.documents:doc",
    "doctor": "roost.cli.admin:doctor",
    "events": "roost.cli.events:events",
    "export": "roost.cli.maintenance:export",
    "find": "roost.cli.search:find",
    "import": "roost.cli.maintenance:import_",
    "info": "roost.cli.admin:info",
    "init": "roost.cli.admin:init",
    "lock": "roost.cli.locks:lock",
    "mcp": "roost.cli.mcp:mcp",
    "memory": "roost.cli.memories:memory",
    "migrate": "roost.cli.admin:migrate",
    "observation": "roost.cli.memories:observation",
    "observe": "roost.cli.memories:observe",
    "restore": "roost.cli.maintenance:restore",
    "run": "roost.cli.workflows:run",
    "search": "roost.cli.search:search",
    "session": "roost.cli.sessions:session",
    "signal": "roost.cli.signals:signal",
    "status": "roost.cli.status:status",
    "task": "roost.cli.tasks:task",
    "transcript": "roost.cli.sessions:transcript",
    "transfer": "roost.cli.maintenance:transfer",
    "work": "roost.cli.work:work",
    "workflow": "roost.cli.workflows:workflow",
}
"""Command name -> ``module:attribute`` of its click command or group."""


class LazyGroup(click.Group):
    """A group whose commands are imported when they are asked for (click's documented pattern
    for lazy subcommands): running one command imports only its own module."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(roost.__version__, "--version", prog_name="roost", message="%(prog)s %(version)s")
@global_options
def main(url: str | None, project: str | None, as_json: bool | None, debug: bool | None) -> None:
    """roost: shared, persistent state for teams of AI agents (SQLite or PostgreSQL).

    Exit codes: 0 ok, 1 error, 2 usage, 3 not found/not acquired/conflict/timed out, 4 lease lost,
    130 interrupted, 141 output pipe closed; `roost work` stopped at once by a second signal: 128 + it.
    The options --url, --project, --json and --debug go before or after the command.
    """
