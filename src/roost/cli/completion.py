"""``roost completion``: the shell completion script click writes for bash, zsh and fish."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL. Enable it with, for bash,
    `eval "$(roost completion bash)"` in ~/.bashrc; zsh: the same in ~/.zshrc; fish:
    `roost completion fish > ~/.config/fish/completions/roost.fish`."""
    from roost.cli import main

    cls = get_completion_class(shell)
    if cls is None:  # click knows all three; this only guards a click without one
        raise click.UsageError(f"no completion for {shell}")
    click.echo(cls(main, {}, "roost", "_ROOST_COMPLETE").source())
