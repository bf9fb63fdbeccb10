"""One daemon per state directory: the daemon lock, and when the previous daemon was last alive.

``daemon.service`` takes the :class:`DaemonLock` before anything else runs and holds it for the
daemon's life (the state keeper calls :meth:`DaemonLock.reacquire` when the state dir was
recreated); a second daemon on the same state directory gets a ``DaemonError`` saying which pid
owns it and what to do. :func:`last_alive` tells the catch-up of missed runs since when to look.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
from datetime import datetime
from typing import IO

from streamrec.core.timestamps import parse_ts
from streamrec.errors import DaemonError
from streamrec.state.journal import Journal
from streamrec.state.paths import StatePaths
from streamrec.state.private import open_private


class DaemonLock:
    """One daemon per state directory: an exclusive ``flock`` held for the daemon's life."""

    def __init__(self, paths: StatePaths) -> None:
        self.path = paths.locks / "daemon.lock"
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        handle = os.fdopen(open_private(self.path, os.O_RDWR | os.O_CREAT), "r+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise DaemonError(
                f"another streamrec daemon (pid {owner}) owns {self.path.parent.parent}; "
                "stop it first (streamrec stop) or use another state directory"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def reacquire(self) -> None:
        """Lock the lock file again when the state dir was recreated (the one held is gone)."""
        held = self._handle
        with contextlib.suppress(OSError):
            if held is not None and os.fstat(held.fileno()).st_ino == self.path.stat().st_ino:
                return
        self._handle = None
        try:
            self.acquire()
        finally:
            if held is not None:
                held.close()

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def last_alive(journal: Journal) -> datetime | None:
    """When the previous daemon was last known alive: its clean stop, else the log's last event."""
    daemon = journal.state().get("daemon") or {}
    stamp = daemon.get("stopped_at") if daemon.get("state") == "stopped" else None
    if stamp is None:
        tail = collections.deque(journal.read(max(0, journal.last_seq - 1)), maxlen=1)
        stamp = tail[0].get("ts") if tail else None
    return parse_ts(stamp)
