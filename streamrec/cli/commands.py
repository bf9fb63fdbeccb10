"""Every command module of the command line, imported in the order ``streamrec --help`` lists them.

``cli.app`` imports this module last, after the application and its shared helpers exist, so each
module's ``@app.command()`` functions register on it however the command line is entered: the
console script, ``python -m streamrec``, or a test importing ``streamrec.cli.app``. A module that
imports names of another command module at its top (``cli.channels`` from ``cli.recording``,
``cli.importing`` from ``cli.channels``, ``cli.tasklist`` from ``cli.tasks``, most from
``cli.completion``) comes after it here. So import ``streamrec.cli.app`` before importing one
command module on its own: entered through, say, ``cli.completion``, the modules imported here
would find it half-initialised.

Importing them all is cheap: each imports only Typer and light modules at its top, and what a
command needs (the config model, rich, the state log, the daemon client, ffmpeg) inside the
command. ``tests/cli/test_startup_imports.py`` holds that.
"""

# The order is that of --help, and each module comes after those it imports names from.
from __future__ import annotations  # noqa: I001

from streamrec.cli import completion as completion
from streamrec.cli import recording as recording
from streamrec.cli import channels as channels
from streamrec.cli import config as config
from streamrec.cli import daemon as daemon
from streamrec.cli import history as history
from streamrec.cli import importing as importing
from streamrec.cli import installation as installation
from streamrec.cli import status as status
from streamrec.cli import tasks as tasks
from streamrec.cli import tasklist as tasklist

__all__ = [
    "channels",
    "completion",
    "config",
    "daemon",
    "history",
    "importing",
    "installation",
    "recording",
    "status",
    "tasklist",
    "tasks",
]
