"""The logger every streamrec module logs through: loguru's, quiet until its user asks.

A library is quiet unless its user asks: scripts using the Python API enable it with
``logger.enable("streamrec")`` (loguru's ``logger``), the command line does so in
``cli.app.setup_logging``. streamrec is made quiet once per process, by the first of: importing
``streamrec`` when loguru is loaded already, or importing this module (the first streamrec
module that logs), unless the user enabled or disabled ``streamrec`` before. An ``enable`` is
never undone. The package itself does not import
loguru otherwise, so ``streamrec --version`` does not load it.
"""

from __future__ import annotations

import sys

from loguru import logger

__all__ = ["logger", "quiet_once"]


def quiet_once() -> None:
    """Disable streamrec's logging, unless that was done before in this process or the user
    already chose (an ``enable`` or ``disable`` of ``streamrec`` before any module logged)."""
    package = sys.modules.get("streamrec")
    if package is None or getattr(package, "_quieted", False):
        return
    package._quieted = True  # type: ignore[attr-defined]
    if not _chosen():
        logger.disable("streamrec")


def _chosen() -> bool:
    """Whether ``streamrec`` was enabled or disabled already: loguru keeps those choices in its
    core's activation list (not public API; if it is not there, nobody chose)."""
    choices = getattr(getattr(logger, "_core", None), "activation_list", None) or []
    return any(entry[0] == "streamrec." for entry in choices if isinstance(entry, tuple))


quiet_once()
