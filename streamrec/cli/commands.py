"""Every command module of the command line, imported in the order ``streamrec --help`` lists them.

``cli.app`` imports this module last, after the application and its shared helpers exist, so each
module's ``@app.command()`` functions register on it however the command line is entered: the
console script, ``python -m streamrec``, or a test importing ``streamrec.cli.app``. A module that
imports names of another command module at its top (``cli.channels`` from ``cli.recording``,
``cli.importing`` from ``cli.channels``, ``cli.tasklist`` from ``cli.tasks``, most from
``cli.completion``) comes after it here.

Importing them all is cheap: each imports only Typer and light modules at its top, and what a
command needs (the config model, rich, the state log, the daemon client, ffmpeg) inside the
command. ``tests/cli/test_startup_imports.py`` holds that.
"""

from __future__ import annotations

from importlib import import_module

ORDER = (
    "completion",
    "recording",
    "channels",
    "config",
    "daemon",
    "history",
    "importing",
    "installation",
    "status",
    "tasks",
    "tasklist",
)
"""The command modules of ``streamrec.cli``, in the order their commands register."""

for _name in ORDER:
    import_module(f"streamrec.cli.{_name}")
