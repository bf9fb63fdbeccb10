"""The ``streamrec`` command line: one binary, one module per group of commands."""

from __future__ import annotations

import sys

from streamrec.cli import channels as _channels  # noqa: F401
from streamrec.cli import completion as _completion  # noqa: F401
from streamrec.cli import config as _config  # noqa: F401  (registers its commands)
from streamrec.cli import daemon as _daemon  # noqa: F401
from streamrec.cli import history as _history  # noqa: F401
from streamrec.cli import importing as _importing  # noqa: F401
from streamrec.cli import installation as _installation  # noqa: F401
from streamrec.cli import recording as _recording  # noqa: F401
from streamrec.cli import status as _status  # noqa: F401
from streamrec.cli import tasklist as _tasklist  # noqa: F401
from streamrec.cli import tasks as _tasks  # noqa: F401
from streamrec.cli.app import app
from streamrec.cli.rootgroup import EXIT_INTERRUPTED


def main() -> None:
    """The console script entry point (usage errors exit 64: see ``cli.rootgroup``)."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - a user's Ctrl-C at a prompt
        sys.exit(EXIT_INTERRUPTED)
