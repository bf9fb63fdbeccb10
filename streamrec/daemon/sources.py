"""Where the daemon's config comes from: a watched directory, or (``daemon.gitmode``) a git repository.

``daemon.service.Daemon`` is given one :class:`ConfigSource` and asks it four things: to get ready
(:meth:`ConfigSource.prepare`, before the first load: a git source fetches its first commit), where
the config directory is and what relative settings paths are relative to (``config_dir``,
``base``), where the state directory is when the source decides it (``state_root``), and to follow
changes (:meth:`ConfigSource.follow`), calling back ``reconcile(reason)`` for each one until the
daemon stops. :class:`DirectorySource` follows a directory through ``runtime.watching`` (or an
injected async iterator of change batches, the seam tests use).

:func:`fingerprint` is how the daemon notices a save made while it was starting, before the watch
was in place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from streamrec.core.events import Emit
from streamrec.log import logger
from streamrec.runtime.watching import watch_config
from streamrec.spec.sources import config_files

Reconcile = Callable[[str], Awaitable[Any]]
"""Reconcile now, for the reason given."""


def fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and mtimes of the config files: equal when nothing was saved in between."""
    found = []
    for path in config_files(directory):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


class ConfigSource(Protocol):
    """What the daemon asks of where its config comes from (module docstring)."""

    @property
    def config_dir(self) -> Path: ...
    @property
    def base(self) -> Path | None: ...
    def state_root(self, environ: Mapping[str, str]) -> Path | None: ...
    async def prepare(self) -> None: ...
    async def follow(self, reconcile: Reconcile, emit: Emit, stop: asyncio.Event) -> None: ...
    def status(self) -> dict[str, Any] | None: ...


class DirectorySource:
    """A config directory followed by watching it (editor saves, ``git pull``, ConfigMap swaps)."""

    def __init__(
        self, directory: Path, *, poll: bool = False, changes: AsyncIterator[Any] | None = None
    ) -> None:
        self._directory = directory
        self._poll = poll
        self._changes = changes

    @property
    def config_dir(self) -> Path:
        return self._directory

    @property
    def base(self) -> Path | None:
        """None: relative settings paths follow the config directory."""
        return None

    def state_root(self, environ: Mapping[str, str]) -> Path | None:
        """None: the state directory is the config's (``state.location``)."""
        return None

    async def prepare(self) -> None:
        """Nothing to fetch: the directory is there (or its problems are reported by the load)."""

    async def follow(self, reconcile: Reconcile, emit: Emit, stop: asyncio.Event) -> None:
        """Reconcile after each batch of changes below the directory, until ``stop``."""
        changes = self._changes or watch_config(self._directory, stop, poll=self._poll)
        async for batch in changes:
            logger.debug("config changed: {}", sorted(batch)[:5] if batch else batch)
            await reconcile("config changed")

    def status(self) -> dict[str, Any] | None:
        """Nothing beyond the directory the daemon already reports."""
        return None
