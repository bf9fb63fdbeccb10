"""Shell completion: ``streamrec completion bash|zsh|fish``, and the names it completes.

``completion SHELL`` prints the script for that shell (Typer's templates, through
``cli.rootgroup``); source it, or save it where the shell loads completions::

    source <(streamrec completion bash)
    streamrec completion zsh > "${fpath[1]}/_streamrec"
    streamrec completion fish > ~/.config/fish/completions/streamrec.fish

Commands, options and the values of choices complete from the command tree. The names of
channels, tasks and queues complete from the config directory the line names (``-c DIR`` before the
command, ``$STREAMREC_CONFIG``, else ``./config``): :func:`channel_names`, :func:`task_names` and
:func:`queue_names` load it quietly and give nothing when it does not load; a completion never
prints an error into the shell.
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
from streamrec.spec.loading import load_config


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


def _names(ctx: typer.Context, section: str, incomplete: str) -> list[str]:
    """The names in one section of the config the command line names, starting with ``incomplete``."""
    given = ctx.find_root().params.get("config")
    directory = Path(given) if given else Path("config")
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            config = load_config(directory, environ()).config
    except Exception:  # a completion never fails: a config that does not load completes nothing
        return []
    names: dict[str, object] = getattr(config, section)
    return sorted(name for name in names if name.startswith(incomplete))


def channel_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Completion of a channel name."""
    return _names(ctx, "channels", incomplete)


def task_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Completion of a task name."""
    return _names(ctx, "tasks", incomplete)


def queue_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Completion of a queue name."""
    return _names(ctx, "queues", incomplete)
