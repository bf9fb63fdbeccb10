"""What a task run is made of, between the runner and its callers: results, handles, slots.

The plain values :class:`~streamrec.runtime.tasks.TaskRunner` returns and keeps: a
:class:`RunResult` per run, the :class:`QueueHandle` of a queue run (``runtime.graph`` fills it,
``stop_queue`` reads it), the :class:`Slots` that bound how many attempts run at once, and the
:class:`EventLog` protocol the runner writes to (``state.journal.Journal`` and the API's in-memory
log both fit it). Imported through ``runtime.tasks``, which re-exports them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from streamrec.runtime.processes import ShellProcess


class EventLog(Protocol):
    """What the runner needs of the state log (``state.journal.Journal`` is one)."""

    def append(self, type: str, /, **fields: Any) -> dict[str, Any]: ...
    def state(self) -> dict[str, Any]: ...


Observer = Callable[[dict[str, Any]], None]


def now_iso() -> str:
    """The current UTC time as the state log writes it: ``2026-05-01T20:00:00.123Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class RunResult:
    """How one run ended (or why it never started)."""

    task: str
    status: str
    trigger: str
    run: int | None = None
    attempt: int = 0
    exit_code: int | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration: float | None = None
    reason: str | None = None
    stdout_log: str | None = None
    stderr_log: str | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        """True when the run completed."""
        return self.status == "completed"


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
    """A queue run of this process (``runtime.graph`` fills it in; ``stop_queue`` reads it)."""

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
