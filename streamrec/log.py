"""The logger every streamrec module logs through: loguru's, imported when first used, quiet until
its user asks.

``logger`` is a stand-in for loguru's logger: every attribute read on it (``logger.info``,
``logger.bind``, ``logger.add``) is that of loguru's logger, which is imported on the first such
read. loguru imports asyncio; together they cost more than a whole cached ``streamrec validate``
or ``status``, so a command that logs nothing does not import them, though the modules it runs
import ``logger`` at their top. This is the one module that imports loguru.

A library is quiet unless its user asks: scripts using the Python API enable it with
``logger.enable("streamrec")`` (loguru's ``logger``), the command line does so in
``cli.app.setup_logging``. streamrec is made quiet once per process, by the first of: importing
``streamrec`` when loguru is loaded already, or the first use of ``logger``, unless the user
enabled or disabled ``streamrec`` before. An ``enable`` is never undone.

:func:`when_used` is how the command line sets its sinks: at once when loguru's logger is in use
already, else right after it is first loaded (after the quieting, before any line is logged).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from loguru import Logger

__all__ = ["logger", "quiet_once", "when_used"]

_loaded: Any = None
"""loguru's logger, once :func:`_load` ran."""
_waiting: list[Callable[[], None]] = []
"""The set-up :func:`when_used` was given while loguru was not loaded yet (at most one)."""
_loading: Any = None
"""loguru's logger while the waiting set-up runs (read by the set-up itself)."""
_lock = threading.RLock()
"""Held while loading, so that no other thread logs before the waiting set-up has run."""


def _load() -> Any:
    """loguru's logger: imported, streamrec quieted (unless chosen) and the waiting set-up run."""
    global _loaded, _loading
    with _lock:
        if _loaded is not None:
            return _loaded
        if _loading is not None:  # the set-up's own reads; other threads wait for the lock
            return _loading
        from loguru import logger as real

        _loading = real
        quiet_once()
        while _waiting:
            _waiting.pop()()
        _loaded = real
    return _loaded


class _Deferred:
    """Reads every attribute from loguru's logger, loading it on the first read."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(_loaded if _loaded is not None else _load(), name)

    def __repr__(self) -> str:
        return "<streamrec's logger: loguru's, " + ("loaded>" if _loaded else "not loaded yet>")


logger = cast("Logger", _Deferred())
"""loguru's logger, loaded on first use (module docstring)."""


def when_used(setup: Callable[[], None]) -> None:
    """Run ``setup`` now when loguru's logger is in use, else once it is first used; a later call
    replaces a set-up still waiting (the last one given holds, as when each ran)."""
    _waiting.clear()
    if _loaded is not None:
        setup()
        return
    _waiting.append(setup)


def quiet_once() -> None:
    """Disable streamrec's logging, unless that was done before in this process or the user
    already chose (an ``enable`` or ``disable`` of ``streamrec`` before any module logged)."""
    package = sys.modules.get("streamrec")
    if package is None or getattr(package, "_quieted", False):
        return
    package._quieted = True  # type: ignore[attr-defined]
    from loguru import logger as real

    if not _chosen(real):
        real.disable("streamrec")


def _chosen(real: Any) -> bool:
    """Whether ``streamrec`` was enabled or disabled already: loguru keeps those choices in its
    core's activation list (not public API; if it is not there, nobody chose)."""
    choices = getattr(getattr(real, "_core", None), "activation_list", None) or []
    return any(entry[0] == "streamrec." for entry in choices if isinstance(entry, tuple))
