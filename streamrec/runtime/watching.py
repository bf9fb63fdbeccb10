"""Watching the config directory: an async stream of "something changed" batches.

The daemon consumes :func:`watch_config`; it is the only module that imports watchfiles. The whole
directory is watched, never single files: an editor's atomic rename-save, a ``git checkout`` of many
files and a Kubernetes ConfigMap symlink swap (which only reports ``..data`` paths) all arrive as
changes somewhere below it, and the daemon reloads the whole directory as one snapshot on any of them.
Changes are grouped: a batch is yielded once the directory has been quiet for ``quiet_ms`` (at most
``max_wait_ms`` after the first change), so a checkout of 50 files is one reload.

Tests (and the daemon's seam) can pass any async iterator of batches instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import watchfiles

from streamrec.log import logger

ChangeBatch = frozenset[str]
"""The paths that changed in one batch (only for logging: any change means reload)."""


async def watch_config(
    directory: Path,
    stop: asyncio.Event,
    *,
    poll: bool = False,
    quiet_ms: int = 50,
    max_wait_ms: int = 500,
) -> AsyncIterator[ChangeBatch]:
    """Yield a batch of changed paths whenever something below ``directory`` changes.

    ``poll`` uses stat polling instead of inotify (for network file systems, where inotify sees no
    remote writes); it follows symlinks and notices changes within ~300 ms.
    """
    logger.debug("watching {} ({})", directory, "polling" if poll else "inotify")
    async for changes in watchfiles.awatch(
        directory,
        stop_event=stop,
        force_polling=poll,
        poll_delay_ms=300,
        step=quiet_ms,
        debounce=max_wait_ms,
        recursive=True,
        raise_interrupt=False,
        watch_filter=_relevant,
    ):
        yield frozenset(path for _change, path in changes)


def _relevant(_change: watchfiles.Change, path: str) -> bool:
    """Editor droppings and VCS internals never trigger a reload; everything else does."""
    name = Path(path).name
    if name.endswith(("~", ".swp", ".swx", ".tmp")) or name.startswith(".#"):
        return False
    return "/.git/" not in path and not path.endswith("/.git")
