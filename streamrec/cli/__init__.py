"""The ``streamrec`` command line: one binary, one module per group of commands.

:func:`main` is the console script. ``streamrec --version`` (or ``-V``) alone on the line is
answered before Typer or any command module is imported, with the line the ``--version`` option of
the full command line prints (``cli.version``); anything else imports ``cli.app``, which registers
every command (``cli.commands``), and runs the part of it the words need (``cli.narrowing``). After ``run`` stopped its daemon cleanly, the process ends
without the interpreter's teardown (:func:`_exit_at_once`).

``streamrec.cli.app`` read as an attribute of this package is the Typer application (as
``from streamrec.cli import app``), loaded on first use; the module of that name stays importable
as ``streamrec.cli.app``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamrec.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """The console script entry point (usage errors exit 64: see ``cli.rootgroup``)."""
    from streamrec.cli.version import VERSION_WORDS, version_line

    if sys.argv[1:] in VERSION_WORDS:
        sys.stdout.write(version_line() + "\n")
        sys.exit(0)
    from streamrec.cli.app import ROOT_VALUED_OPTIONS, app, globals_
    from streamrec.cli.narrowing import narrowed
    from streamrec.cli.rootgroup import EXIT_INTERRUPTED

    try:
        narrowed(app, sys.argv[1:], ROOT_VALUED_OPTIONS)()
    except KeyboardInterrupt:  # pragma: no cover - a user's Ctrl-C at a prompt
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit as done:
        if globals_.exit_at_once:
            _exit_at_once(done.code)
        raise


def _exit_at_once(code: object) -> None:
    """End the process now, after a daemon stopped cleanly (its files finished, its state log
    closed): tearing down the interpreter (collecting every object, joining the config loader's
    helper processes) took 0.4-2.5 s on a loaded host, time a container runtime counts against
    its stop timeout. Standard streams are flushed first; nothing else is left to write."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


class _Package(types.ModuleType):
    """This package, whose ``app`` is the Typer application rather than the module ``cli.app``."""

    @property
    def app(self) -> Any:
        from streamrec.cli.app import app

        return app

    @app.setter
    def app(self, _module: Any) -> None:
        """Where the import system binds the module ``cli.app``; the name stays the application."""


sys.modules[__name__].__class__ = _Package
