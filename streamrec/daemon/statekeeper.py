"""Keeping the state directory there: the daemon survives it being removed or unwritable.

``daemon.service`` makes one :class:`StateKeeper` per daemon, passes it as the event log of the
recorders and the task runner (:meth:`StateKeeper.append`, :meth:`StateKeeper.state`) and runs
:meth:`StateKeeper.run` beside them; ``daemon.actions`` asks :meth:`StateKeeper.problem` to decide
readiness.

- **An append never kills a recorder or a task.** When the log cannot be written (a full disk, a
  state dir made read-only, ``events.jsonl`` replaced by something else) the error is logged once
  per failing streak, the event is counted as dropped and given back without a seq; recording
  goes on, and ``/readyz`` says not-ready with the reason until a write succeeds again. Once one
  does, ``state.writable`` records how many events were dropped meanwhile.
- **A removed state directory comes back within a second.** Every :data:`CHECK_EVERY` seconds the
  keeper asks the journal to reopen its log (cheap: one lock and a ``stat``); the journal recreates
  a vanished directory with private modes and logs ``state.recreated`` first, numbering on from
  the last seq. When the directory's identity (device, inode) changed, the keeper calls the
  daemon's restorers: ``daemon.json``, the daemon lock with its pid, ffmpeg pid files,
  ``applied.json`` and the control socket are written or bound again.

Which of these to do is decided by :func:`next_steps` from what was seen, with no I/O.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from streamrec.core.events import Event, StateWritable, build
from streamrec.errors import StateError
from streamrec.log import logger
from streamrec.runtime.pause import stopped_within
from streamrec.state.journal import Journal
from streamrec.state.paths import StatePaths

CHECK_EVERY = 1.0
"""Seconds between checks of the state directory."""

Identity = tuple[int, int]
"""``(st_dev, st_ino)`` of the state directory."""
Restorer = Callable[[], Awaitable[None] | None]


@dataclass(frozen=True)
class Steps:
    """What one check does: run the restorers, and/or probe a failing log with a write."""

    restore: bool
    probe: bool


def next_steps(before: Identity | None, now: Identity | None, failing: bool) -> Steps:
    """The steps after the journal reopened its log: restore when the directory was replaced."""
    return Steps(restore=now is not None and before is not None and now != before, probe=failing)


def identity(paths: StatePaths) -> Identity | None:
    """The state directory's identity, or None while it is missing."""
    try:
        info = paths.root.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


class StateKeeper:
    """The daemon's writer of events, and the watch over its state directory (module docstring)."""

    def __init__(
        self,
        paths: StatePaths,
        journal: Journal,
        restorers: Sequence[Restorer] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.paths, self.journal = paths, journal
        self.restorers = list(restorers)
        self._clock = clock
        self._seen = identity(paths)
        self.dropped = 0
        """Events not recorded since the log last accepted one."""
        self._failing_since: float | None = None
        self._state: dict[str, Any] = {}

    # --- the event log of the daemon's components --------------------------------------------

    def append(self, event: Event | str, /, **fields: Any) -> dict[str, Any]:
        """Append to the journal; when it fails, log, count and go on (the event has no seq)."""
        try:
            written = self.journal.append(event, **fields)
        except StateError as exc:
            record = event if isinstance(event, Event) else build(event, fields)
            self._failed(exc, record.type_name())
            return {"type": record.type_name(), **record.fields_json()}
        self._succeeded()
        return written

    def state(self) -> dict[str, Any]:
        """The journal's current state, a copy of its own; the last one read while the log
        cannot be read."""
        try:
            return self.journal.state()
        except StateError as exc:
            logger.error("state log: cannot read the state ({}); using the last one read", exc)
        return copy.deepcopy(self._state)

    def shared_state(self) -> dict[str, Any]:
        """The journal's current state without a copy (``Journal.view``): never modify it; the
        last one read while the log cannot be read. The task runner reads it at each start."""
        try:
            self._state = self.journal.shared_state()
        except StateError as exc:
            logger.error("state log: cannot read the state ({}); using the last one read", exc)
        return self._state

    def problem(self) -> str | None:
        """Why the state log cannot be written now, or None when it can."""
        if not self.paths.root.is_dir():
            return f"the state directory {self.paths.root} is missing; recreating it"
        failure = self.journal.failure
        return f"the state log cannot be written: {failure}" if failure else None

    # --- the watch ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, every: float = CHECK_EVERY) -> None:
        """Check every ``every`` seconds until ``stop`` is set."""
        while not stop.is_set():
            await self.check()
            await stopped_within(stop, every)

    async def check(self) -> None:
        """Reopen the log (recreating the directory if it vanished), then restore and probe."""
        before = self._seen
        try:
            recreated = self.journal.reopen()
        except StateError as exc:
            self._failed(exc, None)
            return
        now = identity(self.paths)
        steps = next_steps(before, now, self.journal.failure is not None)
        self._seen = now
        if recreated is not None:
            logger.warning(
                "state: {} was removed; recreated (seq {} goes on from {}), restoring the "
                "daemon's files",
                self.paths.root, recreated["seq"], recreated["previous_seq"],
            )  # fmt: skip
        if steps.restore:
            await self._restore()
        if steps.probe:
            try:
                self.journal.append(StateWritable(dropped=self.dropped))
            except StateError:
                return  # still failing: logged when the streak began
            self._succeeded()

    async def _restore(self) -> None:
        for restore in self.restorers:
            try:
                result = restore()
                if inspect.isawaitable(result):
                    await result
            except Exception:  # one record that cannot be restored must not stop the others
                logger.exception(
                    "state: restoring {} failed", getattr(restore, "__name__", restore)
                )

    def _failed(self, exc: StateError, type: str | None) -> None:
        if type is not None:
            self.dropped += 1
        if self._failing_since is None:
            self._failing_since = self._clock()
            logger.error(
                "{}; recording and tasks go on, events are dropped until the state log can be "
                "written again (checked every {:.0f}s)",
                exc, CHECK_EVERY,
            )  # fmt: skip

    def _succeeded(self) -> None:
        if self._failing_since is not None:
            took = self._clock() - self._failing_since
            logger.warning(
                "state log: writable again after {:.1f}s; {} events were not recorded",
                took, self.dropped,
            )  # fmt: skip
            self._failing_since = None
        self.dropped = 0
