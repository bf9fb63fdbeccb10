"""The log's set-up run when streamrec first imports its logger, not at every command's start.

Every streamrec module that logs imports ``streamrec.log``, the one module that imports loguru
(which imports asyncio): together they cost more than the rest of ``streamrec validate``. A
command that logs nothing should not pay for them. :func:`when_logging` runs a set-up (the sinks,
the level, the ``enable``) at once when ``streamrec.log`` is loaded already, else right after it
is first imported, before the importing module goes on and so before any line can be logged:

- the import of ``streamrec.log`` is found by the usual finders; only its loader's
  ``exec_module`` is wrapped, to run the set-up once the module is complete;
- a later call replaces a set-up still waiting (the last one given holds, as when each ran).

Nothing else logs through loguru in streamrec, so no line is logged before the set-up.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

__all__ = ["LOG_MODULE", "when_logging"]

LOG_MODULE = "streamrec.log"
"""The module every streamrec module logs through."""

_waiting: list[Callable[[], None]] = []
"""The set-up waiting for :data:`LOG_MODULE` (at most one)."""


class _AfterLogImport:
    """A finder that answers the import of :data:`LOG_MODULE` with the usual spec, its loader
    running the waiting set-up after the module's body."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name != LOG_MODULE:
            return None
        _unhook()
        spec = importlib.util.find_spec(name)
        loader: Any = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec  # pragma: no cover - the package is always importable from files
        body = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            body(module)
            _run_waiting()

        loader.exec_module = exec_module
        return spec


_HOOK = _AfterLogImport()


def _unhook() -> None:
    if _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


def _run_waiting() -> None:
    while _waiting:
        _waiting.pop()()


def when_logging(setup: Callable[[], None]) -> None:
    """Run ``setup`` now when ``streamrec.log`` is loaded, else once it has been imported."""
    _waiting.clear()
    if LOG_MODULE in sys.modules:
        _unhook()
        setup()
        return
    _waiting.append(setup)
    if _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)
