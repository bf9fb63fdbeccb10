"""The ``streamrec`` command line: one binary, one module per group of commands.

:func:`main` is the console script. ``streamrec --version`` (or ``-V``) alone on the line is
answered before Typer or any command module is imported, with the line the ``--version`` option of
the full command line prints (``cli.version``); anything else imports ``cli.app``, which registers
every command (``cli.commands``).

``streamrec.cli.app`` read as an attribute of this package is the Typer application (as
``from streamrec.cli import app``), loaded on first use; the module of that name stays importable
as ``streamrec.cli.app``.
"""

from __future__ import annotations

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
    from streamrec.cli.app import app
    from streamrec.cli.rootgroup import EXIT_INTERRUPTED

    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - a user's Ctrl-C at a prompt
        sys.exit(EXIT_INTERRUPTED)


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
