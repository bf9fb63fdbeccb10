"""Group commit: appends that arrive while a write and its fsync are in flight share the next one.

``state.journal.Journal`` queues every append here as a :class:`Pending` and hands this module
the function that writes a batch (``flush``: one ``write()`` of all its lines, then the fsync the
policy asks for, under the journal's lock). The first appender to find nobody writing becomes the
*leader*: it takes everything queued so far, lets go of the queue and flushes it; appenders that
arrive meanwhile queue behind it, and when it is done one of them leads the next batch with all
of them in it. So N appenders cost one fsync per batch instead of N, and durability is unchanged:
an appender is told "done" (its call returns, or its future resolves) only after the flush of the
batch holding its lines returned, fsync included. When a batch fails, every appender in it gets
the error (``flush`` has cut the batch off the file again, so none of it was recorded).

Two ways in, one queue, in submission order (which is seq order):

- :meth:`GroupCommit.submit` (any thread): blocks until its batch is flushed, leading one itself
  when nobody is.
- :meth:`GroupCommit.submit_async` (an event loop): returns a future at once; a leader thread
  (started on demand, gone after :data:`IDLE` seconds without work) flushes, and resolves the
  futures of a batch through ``call_soon_threadsafe``. The loop never blocks on the disk.

A queue inherited over ``fork()`` is not used by the child: the journal makes a fresh one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio  # imported where a loop submits: a command that only reads never does

IDLE = 0.5
"""Seconds a leader thread waits for more work before it exits."""


class Pending:
    """One append waiting in the queue: its records in, its written events (or error) out."""

    __slots__ = ("done", "error", "future", "items", "loop", "written")

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.written: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.done = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.future: asyncio.Future[list[dict[str, Any]]] | None = None


Flush = Callable[[list[Pending]], None]
"""Writes one batch: sets each pending's ``written`` (or its own ``error``), or raises for all."""


class GroupCommit:
    """The queue of one journal's appends and who flushes it; see the module docstring."""

    def __init__(self, flush: Flush) -> None:
        self._flush = flush
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[Pending] = []
        self._leading = False
        self._thread: threading.Thread | None = None
        self.batches = 0
        """Batches flushed so far (tests and benchmarks read it)."""

    def submit(self, pending: Pending) -> Pending:
        """Queue ``pending`` and return once its batch is flushed (``error`` set if it failed)."""
        with self._cond:
            self._queue.append(pending)
            while not pending.done:
                if self._leading:
                    self._cond.wait()
                else:
                    self._lead()
        return pending

    def submit_async(self, pending: Pending) -> asyncio.Future[list[dict[str, Any]]]:
        """Queue ``pending`` from a running loop; the future gives its written events."""
        import asyncio

        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[dict[str, Any]]] = loop.create_future()
        pending.loop, pending.future = loop, future
        with self._cond:
            self._queue.append(pending)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="streamrec-state-commit", daemon=True
                )
                self._thread.start()
            else:
                self._cond.notify_all()
        return future

    def _serve(self) -> None:
        """The leader thread: flush batches while there is work, exit after ``IDLE`` without."""
        with self._cond:
            while True:
                if self._queue and not self._leading:
                    self._lead()
                    continue
                if not self._cond.wait(IDLE) and not self._queue:
                    self._thread = None
                    return

    def _lead(self) -> None:
        """Flush everything queued (called holding the condition, which is let go meanwhile)."""
        batch, self._queue = self._queue, []
        self._leading = True
        self._cond.release()
        error: BaseException | None = None
        try:
            self._flush(batch)
        except BaseException as exc:  # handed to every appender of the batch, never lost
            error = exc
        finally:
            self._cond.acquire()
            self._leading = False
            self.batches += 1
            for pending in batch:
                if error is not None:
                    pending.error, pending.written = error, []
                pending.done = True
                if pending.loop is not None:
                    with contextlib.suppress(RuntimeError):  # its loop closed: nobody waits
                        pending.loop.call_soon_threadsafe(_resolve, pending)
            self._cond.notify_all()


def _resolve(pending: Pending) -> None:
    """On the appender's loop: hand it its events, or the error (unless it stopped waiting)."""
    future = pending.future
    if future is None or future.done():
        return
    if pending.error is not None:
        future.set_exception(pending.error)
    else:
        future.set_result(pending.written)
