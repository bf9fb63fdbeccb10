"""Shell completion: ``streamrec completion bash|zsh|fish``, and the names it completes.

``completion SHELL`` prints the script for that shell (Typer's templates, through
``cli.rootgroup``); source it, or save it where the shell loads completions::

    source <(streamrec completion bash)
    streamrec completion zsh > "${fpath[1]}/_streamrec"
    streamrec completion fish > ~/.config/fish/completions/streamrec.fish

Commands, options and the values of choices complete from the command tree. The names of
channels, categories, tasks and queues complete from the config directory the line names (``-c
DIR``, ``$STREAMREC_CONFIG``, else ``./config``): :func:`channel_names`, :func:`category_names`,
:func:`task_names`, :func:`queue_names` and :func:`object_names` (all three kinds, for ``history
-O``) load it quietly and give nothing when it does not load; a completion never prints an error
into the shell. The config model is imported by those functions, when a shell asks.
"""

from __future__ import annotations

import contextlib
import io
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from streamrec.cli.app import app, environ
from streamrec.cli.rootgroup import completion_script


class Shell(str, Enum):
    """The shells ``completion`` writes a script for."""

    bash = "bash"
    zsh = "zsh"
    fish = "fish"


@app.command()
def completion(
    shell: Annotated[Shell, typer.Argument(metavar="SHELL", help="bash, zsh or fish.")],
) -> None:
    """Print the shell completion script for bash, zsh or fish; source its output."""
    typer.echo(completion_script(shell.value))


def _declared(ctx: typer.Context, section: str) -> list[str]:
    """The names in one section of the config the command line names (none if it does not load)."""
    from streamrec.spec.loading import load_config

    given = ctx.find_root().params.get("config")
    directory = Path(given) if given else Path("config")
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            config = load_config(directory, environ()).config
    except Exception:  # a completion never fails: a config that does not load completes nothing
        return []
    names: dict[str, object] = getattr(config, section)
    return list(names)


def _names(ctx: typer.Context, section: str, incomplete: str) -> list[str]:
    """The names in one section that start with ``incomplete``, sorted."""
    return sorted(name for name in _declared(ctx, section) if name.startswith(incomplete))


def channel_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Completion of a channel name."""
    return _names(ctx, "channels", incomplete)


def task_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Completion of a task name."""
    return _names(ctx, "tasks", incomplete)


def queue_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Completion of a queue name."""
    return _names(ctx, "queues", incomplete)


def category_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Completion of a category name."""
    return _names(ctx, "categories", incomplete)


def object_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Completion of ``history -O``: channel, task and queue names, bare and as kind/NAME."""
    found: set[str] = set()
    for kind, section in (("channel", "channels"), ("task", "tasks"), ("queue", "queues")):
        for name in _declared(ctx, section):
            found |= {name, f"{kind}/{name}"}
    return sorted(name for name in found if name.startswith(incomplete))
