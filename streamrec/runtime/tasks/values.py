"""What a task run is made of, between the runner and its callers: results, handles, slots.

The plain values :class:`~streamrec.runtime.tasks.runner.TaskRunner` returns and keeps: a
``core.runs.RunOutcome`` per run, the :class:`QueueHandle` of a queue run (``runtime.tasks.graph`` fills
it, ``stop_queue`` reads it), the :class:`Slots` that bound how many attempts run at once, and the
:class:`EventLog` protocol the runner writes to (``state.journal.Journal`` and the API's in-memory
log both fit it). Imported through ``runtime.tasks.runner``, which re-exports them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from streamrec.core.events import Event

if TYPE_CHECKING:
    from streamrec.runtime.processes import ShellProcess


class EventLog(Protocol):
    """What the runner needs of the state log (``state.journal.Journal`` is one)."""

    def append(self, event: Event | str, /, **fields: Any) -> dict[str, Any]: ...
    def state(self) -> dict[str, Any]: ...


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

    The condition is made on the loop that uses it, so a runner may serve several
    ``asyncio.run`` calls one after the other.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._cond: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _condition(self) -> asyncio.Condition:
        loop = asyncio.get_running_loop()
        if self._cond is None or self._loop is not loop:
            self._cond, self._loop = asyncio.Condition(), loop
        return self._cond

    async def __aenter__(self) -> None:
        cond = self._condition()
        async with cond:
            await cond.wait_for(lambda: self.used < self.limit)
            self.used += 1

    async def __aexit__(self, *exc: object) -> None:
        cond = self._condition()
        async with cond:
            self.used -= 1
            cond.notify()
