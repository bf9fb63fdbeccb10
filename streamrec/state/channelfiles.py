"""The fold's recordings by channel, kept from read view to read view: counts, bytes, newest files.

``/api/status`` shows, per channel, how many files the state log lists and their bytes, and picks
the newest ones for a thumbnail. Scanning ``recordings`` for that on every request costs time that
grows with the history (tens of ms at 10,000 recordings on a 2-core host), so
:class:`ChannelFiles` keeps the answer and renews it from each ``state.readview.ReadView``: when
the view is the next one after the last seen, only the recordings its events reached are
re-read; otherwise (the first view, a fold made afresh, a view skipped) the whole table once.
A reader that makes views without asking for the files (``/metrics``) hands each one to
:meth:`ChannelFiles.note`, which keeps only the names of the recordings it changed, so the next
:meth:`~ChannelFiles.of` still goes step by step. A channel's newest files are picked again only
when one of its files changed.

The figures are those of one pass over ``recordings`` (a test holds it): a record's channel is
``str(record["channel"])``, its bytes ``int(record["bytes"] or 0)``, and the newest files are the
largest ``(end or "", file)`` pairs.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streamrec.state.readview import ReadView


@dataclass(frozen=True)
class Files:
    """What the fold lists for one channel."""

    count: int
    bytes: int
    newest: tuple[str, ...]
    """Up to the number asked of the newest files, newest first."""


NO_FILES = Files(0, 0, ())


class ChannelFiles:
    """Per channel, the files of the fold's ``recordings`` (see the module docstring).

    Safe across threads: :meth:`of` takes a lock.
    """

    def __init__(self, newest: int) -> None:
        self.keep = newest
        self._lock = threading.Lock()
        self._generation = -1
        self._owner: dict[str, str] = {}
        self._files: dict[str, dict[str, tuple[str, int]]] = {}
        self._picked: dict[str, Files] = {}
        self._noted = -1
        """The newest view generation seen (by :meth:`note` or :meth:`of`)."""
        self._pending: set[str] | None = None
        """Recordings changed by views noted since the last one followed; None: read all."""
        self.rebuilds = 0
        """How many times the whole table was read (a test counts them)."""

    def of(self, view: ReadView) -> dict[str, Files]:
        """Every channel with at least one listed file, as of ``view``."""
        with self._lock:
            if view.generation < self._noted:  # an older view than one noted: count it apart
                return _scan(view, self.keep)
            self._note(view)
            self._follow(view)
            for channel in self._files.keys() - self._picked.keys():
                self._picked[channel] = self._pick(channel)
            return dict(self._picked)

    def note(self, view: ReadView) -> None:
        """Remember what ``view`` changed, for the next :meth:`of` (cheap: names only)."""
        with self._lock:
            self._note(view)

    def _note(self, view: ReadView) -> None:
        if view.generation <= self._noted:
            return
        changes = view.changes
        if (
            view.generation != self._noted + 1
            or changes.everything
            or "recordings" in changes.whole
            or self._noted == -1
        ):
            self._pending = None
        elif self._pending is not None:
            self._pending.update(changes.keys.get("recordings", ()))
        self._noted = view.generation

    def _follow(self, view: ReadView) -> None:
        if view.generation == self._generation:
            return
        recordings: Mapping[str, Any] = view.state.get("recordings") or {}
        if self._pending is not None and self._generation != -1:
            for file in self._pending:
                self._drop(file)
                record = recordings.get(file)
                if record is not None:
                    self._add(file, record)
        else:
            self.rebuilds += 1
            self._owner, self._files, self._picked = {}, {}, {}
            for file, record in recordings.items():
                self._add(file, record)
        self._pending = set()
        self._generation = view.generation

    def _add(self, file: str, record: Mapping[str, Any]) -> None:
        channel = str(record.get("channel"))
        self._owner[file] = channel
        self._files.setdefault(channel, {})[file] = (
            str(record.get("end") or ""),
            int(record.get("bytes") or 0),
        )
        self._picked.pop(channel, None)

    def _drop(self, file: str) -> None:
        channel = self._owner.pop(file, None)
        if channel is None:
            return
        files = self._files[channel]
        del files[file]
        if not files:
            del self._files[channel]
        self._picked.pop(channel, None)

    def _pick(self, channel: str) -> Files:
        files = self._files[channel]
        newest = heapq.nlargest(self.keep, ((end, file) for file, (end, _) in files.items()))
        total = sum(size for _, size in files.values())
        return Files(len(files), total, tuple(file for _, file in newest))


def _scan(view: ReadView, keep: int) -> dict[str, Files]:
    """The files of ``view`` by one pass over its recordings, leaving no trace in any cache."""
    apart = ChannelFiles(keep)
    apart._follow(view)
    return {channel: apart._pick(channel) for channel in apart._files}
