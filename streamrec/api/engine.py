"""Where the API's runs happen: one background event loop, one runner per state directory.

Every call of the Python API is synchronous: the runs happen on one background thread with an
asyncio loop (``runtime.tasks.runner.TaskRunner``), so ``terminate()``/``stop()`` work from another
thread while ``run()``/``start()`` block. :func:`engine_for` gives the :class:`Engine` of a state
directory (or of the process, in memory: its logs in a private temporary directory removed at
exit, its events kept in a :class:`MemoryJournal`); the engine holds the runner, the names of its
live objects (``api.names``) and, for tasks bound to a config's declared tasks, that config's runner.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from streamrec.api.names import Names
from streamrec.app.runner import build_runner, runner_for
from streamrec.app.statedir import open_journal, open_paths
from streamrec.core.clock import Clock
from streamrec.core.events import Event, build, to_json
from streamrec.core.timestamps import format_ts, parse_ts
from streamrec.runtime.clock import SYSTEM_CLOCK
from streamrec.runtime.tasks.runner import TaskRunner
from streamrec.spec.loading import LoadedConfig
from streamrec.state.fold import empty_state, fold_into
from streamrec.state.journal import Journal

T = TypeVar("T")


class Follower(Protocol):
    """What the engine shows the events of a named task to (a ``Task`` object)."""

    def _observe(self, event: dict[str, Any]) -> None: ...


class MemoryJournal:
    """An event log kept in memory, for objects made without a state directory; ``clock``
    stamps its events."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.events: list[dict[str, Any]] = []
        self._state = empty_state()
        self._lock = threading.Lock()

    def append(self, type_: Event | str, /, **fields: Any) -> dict[str, Any]:
        """Keep one event ``{"seq", "ts", "type", **fields}`` and fold it."""
        record = type_ if isinstance(type_, Event) else build(type_, fields)
        with self._lock:
            event = to_json(record, seq=len(self.events) + 1, ts=format_ts(self._clock.now()))
            self.events.append(event)
            fold_into(self._state, [event])
        return event

    def state(self) -> dict[str, Any]:
        """The fold of the events so far."""
        return self._state

    def shared_state(self) -> dict[str, Any]:
        """The fold itself (the runner only reads it)."""
        return self._state


class Engine:
    """One runner per state directory (or per process, in memory), on the shared loop."""

    def __init__(self, state_dir: Path | None, clock: Clock) -> None:
        if state_dir is None:
            self.tmp: Path | None = Path(tempfile.mkdtemp(prefix="streamrec-api-"))
            paths = open_paths(self.tmp)
            journal: MemoryJournal | Journal = MemoryJournal(clock)
        else:
            self.tmp = None
            paths = open_paths(state_dir)
            journal = open_journal(paths, clock=clock)
        self.state_dir = state_dir
        """The state directory given as ``state_dir=`` (None: in memory)."""
        self.paths, self.journal, self.clock = paths, journal, clock
        self.runner = build_runner(
            layout=paths, journal=journal, clock=clock, base_dir=Path.cwd(),
            observer=self._observe,
        )  # fmt: skip
        self.names = Names(None if state_dir is None else paths, journal.state)
        """The names of this engine's live objects, and the declared ones they may not take."""
        self.followers: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self.declared: TaskRunner | None = None
        """The runner of the config whose declared tasks objects are bound to (``config=``)."""

    def where(self) -> str:
        """The state directory, or "this process" for in-memory objects (for messages)."""
        return str(self.state_dir) if self.state_dir is not None else "this process (in memory)"

    def declared_runner(self, loaded: LoadedConfig) -> TaskRunner:
        """The runner of ``loaded``'s tasks, logging to this engine's state log (made once)."""
        if self.declared is None:
            self.declared = runner_for(
                loaded, layout=self.paths, journal=self.journal, clock=self.clock,
                observer=self._observe,
            )  # fmt: skip
        return self.declared

    def now(self) -> datetime | None:
        """The current time as the state log stamps it (to the millisecond, so that it compares
        with the times of runs), by the clock of this engine's runs."""
        return parse_ts(format_ts(self.clock.now()))

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the background loop and wait for its result.

        Interrupted while waiting (Ctrl-C), the run is canceled (its process group ended, the
        run recorded as canceled) before the interruption goes on: nothing runs on alone.
        """
        future = asyncio.run_coroutine_threadsafe(coro, loop())
        try:
            return future.result()
        except BaseException:
            if future.cancel():
                deadline = time.monotonic() + 10
                while self.busy() and time.monotonic() < deadline:
                    time.sleep(0.02)
            raise

    def busy(self) -> bool:
        """Whether a run or a queue run of this engine is in progress."""
        runners = [self.runner] + ([self.declared] if self.declared is not None else [])
        return any(r.active or r.queue_runs for r in runners)

    def follow(self, name: str, follower: Follower) -> None:
        """Show the events of task ``name`` to ``follower`` (while it lives)."""
        self.followers[name] = follower

    def _observe(self, event: dict[str, Any]) -> None:
        follower = self.followers.get(str(event.get("task")))
        if follower is not None:
            follower._observe(event)

    def shutdown(self) -> None:
        """Stop what still runs (at interpreter exit) and remove the temporary directory."""
        for runner in (self.runner, self.declared):
            if runner is not None and (runner.active or runner.queue_runs):
                with contextlib.suppress(Exception):
                    future = asyncio.run_coroutine_threadsafe(runner.stop_all(grace=0.5), loop())
                    future.result(timeout=10)
        self.names.release_all()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


_lock = threading.Lock()
_state: dict[str, Any] = {"loop": None}
_engines: dict[Path | None, Engine] = {}


def loop() -> asyncio.AbstractEventLoop:
    """The background event loop every API call runs on (started on first use)."""
    with _lock:
        found: asyncio.AbstractEventLoop | None = _state["loop"]
        if found is None:
            found = asyncio.new_event_loop()
            threading.Thread(target=found.run_forever, name="streamrec-tasks", daemon=True).start()
            _state["loop"] = found
        return found


def engine_for(state_dir: str | Path | None) -> Engine:
    """The engine of ``state_dir`` (None: the process's in-memory one), made on first use."""
    key = None if state_dir is None else Path(state_dir).expanduser().resolve()
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            if not _engines:
                atexit.register(_shutdown)
            engine = _engines[key] = Engine(key, SYSTEM_CLOCK)
        return engine


def _shutdown() -> None:
    for engine in list(_engines.values()):
        engine.shutdown()
