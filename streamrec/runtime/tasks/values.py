"""What a task run is made of, between the runner and its callers: results, handles, slots.

The plain values :class:`~streamrec.runtime.tasks.runner.TaskRunner` returns and keeps: a
``core.runs.RunOutcome`` per run, the :class:`QueueHandle` of a queue run (``runtime.tasks.graph`` fills
it, ``stop_queue`` reads it), the :class:`Slots` that bound how many attempts run at once, and the
:class:`EventLog` protocol the runner writes to (``state.journal.Journal`` and the API's in-memory
log both fit it). Imported through ``runtime.tasks.runner``, which re-exports them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from streamrec.core.events import Event

if TYPE_CHECKING:
    from streamrec.runtime.processes import ShellProcess


class EventLog(Protocol):
    """What the runner needs of the state log (``state.journal.Journal`` is one)."""

    def append(self, event: Event | str, /, **fields: Any) -> dict[str, Any]: ...
    def state(self) -> dict[str, Any]: ...
    def shared_state(self) -> Mapping[str, Any]:
        """The current state without a copy: read it, never modify it (runs read it per start)."""
        ...


Observer = Callable[[dict[str, Any]], None]
"""Shown each event as written (``{"seq", "ts", "type", **fields}``): the CLI and the API."""


@dataclass
class ActiveRun:
    """A run of this process, as :meth:`TaskRunner.stop` sees it."""

    run: int
    proc: ShellProcess | None = None
    stop_reason: str | None = None
    stopping: asyncio.Future[None] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    """True once the run's final event is written."""


@dataclass
class QueueHandle:
    """A queue run of this process (``runtime.tasks.graph`` fills it in; ``stop_queue`` reads it)."""

    name: str
    run: int
    current: str | None = None
    stop_reason: str | None = None


class Slots:
    """At most ``limit`` attempts at once, across every run of the runner (FIFO).

    A slot given back while attempts wait goes straight to the first of them (its future is
    resolved in the same step, the count never drops), so the next attempt resumes on the loop's
    next turn with its slot in hand, without waking every waiter to race for it. Waiters are
    futures of the loop that made them, so a runner may serve several ``asyncio.run`` calls one
    after the other.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        if self.used < self.limit and not self._waiters:
            self.used += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # resolved by a release: the slot is ours, already counted
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed over just as we were canceled: pass it on
            else:
                self._waiters.remove(waiter)
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        """Hand the slot to the first waiter still waiting, or give it back.

        Under a lowered limit (``used`` above it) the slot is given back until the count fits.
        """
        if self.used <= self.limit:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self.used -= 1
