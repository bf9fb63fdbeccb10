"""streamrec: a declarative live-stream recorder, and its Python API.

The public names are importable from here: ``Task`` and ``Queue`` (``streamrec.api``, loaded on
first use so that the command line starts fast), the errors (``streamrec.errors``) and
``load_config`` (``streamrec.spec.loading``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from streamrec.errors import (
    CommandError,
    ConfigError,
    DependenceError,
    ProcessError,
    StatusError,
    StreamrecError,
    TaskError,
)

if TYPE_CHECKING:
    from streamrec.api import Queue, Task
    from streamrec.spec.loading import load_config

__all__ = [
    "CommandError",
    "ConfigError",
    "DependenceError",
    "ProcessError",
    "Queue",
    "StatusError",
    "StreamrecError",
    "Task",
    "TaskError",
    "load_config",
]

# A library is quiet unless its user asks (streamrec.log): scripts using the Python API enable it
# with loguru's logger.enable("streamrec"); the command line does so in cli.app.setup_logging.
_quieted = False
if "loguru" in sys.modules:  # loaded already: quiet now, before the user can enable it
    from streamrec.log import quiet_once

    quiet_once()

_LAZY = {"Task": "streamrec.api", "Queue": "streamrec.api", "load_config": "streamrec.spec.loading"}


def __getattr__(name: str) -> Any:
    """Import ``Task``, ``Queue`` and ``load_config`` on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'streamrec' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
