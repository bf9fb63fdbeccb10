"""The Python API for scripting: ``Task`` and ``Queue`` objects over the task runner.

For people who script streamrec, in the shape of the task systems it replaces::

    from streamrec import Queue, Task

    fetch = Task(command="curl -fsSL https://example.com/epg.xml -o epg.xml")
    index = Task(command="python index.py", depends=fetch)
    fetch.run(check=True)            # blocks; ProcessError if it does not complete
    index.run()
    print(index.status, index.get_status_display(), index.stdout, index.ended_at)

    Queue().add(index).start()       # dependencies are inserted first

Every call is synchronous: the runs happen on one background thread with an asyncio loop
(``runtime.tasks.runner.TaskRunner``), so ``terminate()``/``stop()`` work from another thread while
``run()``/``start()`` block. Objects live in memory (their logs in a private temporary directory,
removed at exit) unless ``state_dir=`` is given: then their runs go to that state directory's log
and show in ``streamrec status``, and the task lock keeps two processes from running the same
task (by name) at once. Commands run in the current directory unless ``workdir=`` says otherwise.

A task object runs once: running it again after it completed, or while it runs, is a
:class:`StatusError`; a dependency that has not completed is a :class:`DependenceError`
(``Task dependence on Task<1> and task not completed.``); an empty command is a
:class:`CommandError` when the object is made. ``Task.objects.create(...)`` and
``Queue.objects.create(...)`` are aliases of the constructors.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import ValidationError

from streamrec.app.runner import build_runner
from streamrec.app.statedir import open_journal, open_paths
from streamrec.core.clock import Clock
from streamrec.core.events import Event, build, to_json
from streamrec.core.lifecycle import display
from streamrec.core.ordering import find_cycle, queue_order
from streamrec.core.runs import RunOutcome
from streamrec.core.timestamps import format_ts, parse_ts
from streamrec.errors import CommandError, DependenceError, ProcessError, StatusError, TaskError
from streamrec.runtime.clock import SYSTEM_CLOCK
from streamrec.runtime.tasks.graph import QueueResult, run_sequence
from streamrec.spec import model
from streamrec.state.fold import empty_state, fold_into
from streamrec.state.journal import Journal

T = TypeVar("T")
_STOP_GRACE = 5.0


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


class _Engine:
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
        self.clock = clock
        """The wall time of the runs and of the queues' start and end."""
        self.runner = build_runner(
            layout=paths, journal=journal, clock=clock, base_dir=Path.cwd(),
            observer=self._observe,
        )  # fmt: skip
        self.tasks: weakref.WeakValueDictionary[str, Task] = weakref.WeakValueDictionary()

    def now(self) -> datetime | None:
        """The current time as the state log stamps it (to the millisecond, so that it compares
        with the times of runs), by the clock of this engine's runs."""
        return parse_ts(format_ts(self.clock.now()))

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the background loop and wait for its result.

        Interrupted while waiting (Ctrl-C), the run is canceled (its process group ended, the
        run recorded as canceled) before the interruption goes on: nothing runs on alone.
        """
        future = asyncio.run_coroutine_threadsafe(coro, _loop())
        try:
            return future.result()
        except BaseException:
            if future.cancel():
                deadline = time.monotonic() + 10
                while (self.runner.active or self.runner.queue_runs) and (
                    time.monotonic() < deadline
                ):
                    time.sleep(0.02)
            raise

    def define(self, task: Task) -> None:
        """Make ``task`` (and its dependencies) known to the runner under their names."""
        for item in task.closure():
            self.runner.tasks[item.name] = item.definition()
            self.tasks[item.name] = item

    def _observe(self, event: dict[str, Any]) -> None:
        task = self.tasks.get(str(event.get("task")))
        if task is not None:
            task._observe(event)

    def shutdown(self) -> None:
        """Stop what still runs (at interpreter exit) and remove the temporary directory."""
        if self.runner.active or self.runner.queue_runs:
            with contextlib.suppress(Exception):
                future = asyncio.run_coroutine_threadsafe(self.runner.stop_all(grace=0.5), _loop())
                future.result(timeout=10)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


_lock = threading.Lock()
_state: dict[str, Any] = {"loop": None}
_engines: dict[Path | None, _Engine] = {}


def _loop() -> asyncio.AbstractEventLoop:
    """The background event loop every API call runs on (started on first use)."""
    with _lock:
        loop: asyncio.AbstractEventLoop | None = _state["loop"]
        if loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="streamrec-tasks", daemon=True).start()
            _state["loop"] = loop
        return loop


def _engine(state_dir: str | Path | None) -> _Engine:
    key = None if state_dir is None else Path(state_dir).resolve()
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            if not _engines:
                atexit.register(_shutdown)
            engine = _engines[key] = _Engine(key, SYSTEM_CLOCK)
        return engine


def _shutdown() -> None:
    for engine in list(_engines.values()):
        engine.shutdown()


def _when(text: str | None) -> datetime | None:
    """A state-log stamp as an aware datetime (None when there is none)."""
    return parse_ts(text)


class Manager(Generic[T]):
    """``Task.objects``/``Queue.objects``: ``create()`` is the constructor; ``all()`` lists."""

    def __init__(self, factory: Callable[..., T]) -> None:
        self._factory = factory
        self._made: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()

    def create(self, *args: Any, **kwargs: Any) -> T:
        """Make an object, exactly as the constructor does."""
        return self._factory(*args, **kwargs)

    def all(self) -> list[T]:
        """The objects made in this process that are still referenced, oldest first."""
        return [self._made[key] for key in sorted(self._made)]

    def get(self, id: int) -> T:
        """The object with this id; KeyError if there is none."""
        return self._made[id]  # type: ignore[no-any-return]  # holds only T

    def _register(self, obj: Any) -> None:
        self._made[obj.id] = obj


class Task:
    """A shell command to run once, after its dependencies (see the module docstring)."""

    objects: ClassVar[Manager[Task]]
    _ids: ClassVar[Iterator[int]] = itertools.count(1)

    def __init__(
        self,
        command: str = "",
        *,
        depends: Task | Iterable[Task] | None = None,
        name: str | None = None,
        timeout: float | str | None = None,
        retries: int = 0,
        backoff: float | str = 10.0,
        env: Mapping[str, str] | None = None,
        workdir: str | Path | None = None,
        state_dir: str | Path | None = None,
    ) -> None:
        if not isinstance(command, str) or not command.strip():
            raise CommandError("the command is empty: Task(command=...) needs a shell command")
        self.id: int = next(Task._ids)
        self.name = name or f"task-{self.id}"
        self.command = command
        self.depends: list[Task] = (
            [] if depends is None else [depends] if isinstance(depends, Task) else list(depends)
        )
        self.options: dict[str, Any] = {
            "timeout": timeout, "retries": {"limit": retries, "backoff": backoff},
            "env": dict(env or {}), "workdir": None if workdir is None else str(workdir),
        }  # fmt: skip
        self.definition()  # bad options fail here, not at run time
        self._engine = _engine(state_dir)
        self._guard = threading.Lock()
        self.status: str = "created"
        self.result: RunOutcome | None = None
        self.run_id: int | None = None
        self.attempt = 0
        self.exit_code: int | None = None
        self.reason: str | None = None
        self.started_at: datetime | None = None
        self.ended_at: datetime | None = None
        self._logs: tuple[str | None, str | None] = (None, None)
        self.check_dependencies()
        Task.objects._register(self)

    def __repr__(self) -> str:
        return f"Task<{self.id}>"

    def definition(self) -> model.Task:
        """This task as a config object (what its definition hash is made from)."""
        try:
            return model.Task.model_validate(
                {"command": self.command, "depends_on": [d.name for d in self.depends],
                 **{k: v for k, v in self.options.items() if v is not None}}
            )  # fmt: skip
        except ValidationError as exc:
            raise TaskError(f"{self!r}: {exc.errors()[0]['msg']}") from None

    def closure(self) -> list[Task]:
        """This task and everything it depends on, directly or not (cycles refused)."""
        self.check_dependencies()
        found: dict[int, Task] = {}
        todo = [self]
        while todo:
            task = todo.pop()
            if task.id not in found:
                found[task.id] = task
                todo.extend(task.depends)
        return list(found.values())

    def add_dependency(self, *tasks: Task) -> Task:
        """Depend on ``tasks`` too; DependenceError (and no change) if that makes a cycle."""
        before = list(self.depends)
        self.depends.extend(t for t in tasks if t not in self.depends)
        try:
            self.check_dependencies()
        except DependenceError:
            self.depends = before
            raise
        return self

    def check_dependencies(self) -> None:
        """DependenceError naming the cycle if the dependencies loop back (``Task<1> -> ...``)."""
        graph: dict[str, list[str]] = {}
        labels: dict[str, str] = {}
        todo, seen = [self], set()
        while todo:
            task = todo.pop()
            if task.id in seen:
                continue
            seen.add(task.id)
            key = str(task.id)
            labels[key] = repr(task)
            graph[key] = [str(d.id) for d in task.depends]
            todo.extend(task.depends)
        cycle = find_cycle(graph, [str(self.id)])
        if cycle is not None:
            path = " -> ".join(labels[key] for key in cycle)
            raise DependenceError(f"dependency cycle: {path}; no task in it can ever run")

    def get_status_display(self) -> str:
        """The status as a word for people: ``Completed``."""
        return display(self.status)

    def _begin(self) -> None:
        with self._guard:
            if self.status == "running":
                raise StatusError(f"{self!r} is already running")
            if self.status == "completed":
                raise StatusError(
                    f"{self!r} has already completed; make a new Task to run its command again"
                )
            self.check_dependencies()
            for dep in self.depends:
                if dep.status != "completed":
                    raise DependenceError(f"Task dependence on {dep!r} and task not completed.")
            self.status = "running"

    def run(self, check: bool = False) -> Task:
        """Run the command now and wait for it; ``check``: ProcessError unless it completed."""
        self._begin()
        try:
            self._engine.define(self)
            result = self._engine.call(
                self._engine.runner.run(self.name, trigger="api", check_deps=False)
            )
        except BaseException:  # interrupted (the run was canceled), or the runner failed
            self.status = "canceled" if self.status == "running" else self.status
            raise
        self._apply(result)
        if result.status == "skipped":
            raise StatusError(f"{self!r} is already running in another process; not run again")
        if check and not result.ok:
            raise ProcessError(self._failure())
        return self

    def _failure(self) -> str:
        tail = self.result.stderr_tail.strip()[-500:] if self.result else ""
        said = f"; stderr ends: {tail}" if tail else ""
        return f"{self!r} {self.status} ({self.reason or 'no reason given'}){said}"

    def terminate(self) -> bool:
        """End the running command (its whole process group); False if it was not running."""
        deadline = time.monotonic() + 10
        while self.status == "running" and time.monotonic() < deadline:
            stop = self._engine.runner.stop(self.name, "terminated through the API", _STOP_GRACE)
            if self._engine.call(stop):
                return True
            time.sleep(0.02)  # asked but not started yet: waiting for its lock or a slot
        return False

    def _observe(self, event: dict[str, Any]) -> None:
        """Follow this task's events (called on the runner's thread)."""
        if event["type"] == "task.started":
            self.run_id, self.attempt = event["run"], event["attempt"]
            self.started_at, self.ended_at = _when(event["ts"]), None
            self._logs = (event["stdout_log"], event["stderr_log"])
        elif event["type"] == "task.finished" and event.get("stdout_log"):
            self._logs = (event["stdout_log"], event["stderr_log"])

    def _apply(self, outcome: RunOutcome) -> None:
        self.result = outcome
        self.status = outcome.status
        self.run_id = outcome.run if outcome.run is not None else self.run_id
        self.attempt, self.exit_code = outcome.attempt, outcome.exit_code
        self.reason = outcome.reason
        self.started_at = _when(outcome.started_at) or self.started_at
        self.ended_at = _when(outcome.ended_at)
        if outcome.stdout_log:
            self._logs = (outcome.stdout_log, outcome.stderr_log)

    def _read(self, which: int) -> str:
        path = self._logs[which]
        if not path:
            return ""
        try:
            return Path(path).read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return ""

    @property
    def stdout(self) -> str:
        """What the command wrote to stdout (latest attempt; so far, while it runs)."""
        return self._read(0)

    @property
    def stderr(self) -> str:
        """What the command wrote to stderr (latest attempt; so far, while it runs)."""
        return self._read(1)


class Queue:
    """Tasks run one after another, dependencies inserted first, each once."""

    objects: ClassVar[Manager[Queue]]
    _ids: ClassVar[Iterator[int]] = itertools.count(1)

    def __init__(
        self,
        *,
        name: str | None = None,
        on_failure: Literal["stop", "continue"] = "stop",
        state_dir: str | Path | None = None,
    ) -> None:
        self.id: int = next(Queue._ids)
        self.name = name or f"queue-{self.id}"
        self.on_failure: Literal["stop", "continue"] = on_failure
        self._state_dir = state_dir
        self._engine = _engine(state_dir)
        self._added: list[Task] = []
        self.status = "created"
        self.result: QueueResult | None = None
        self.started_at: datetime | None = None
        self.ended_at: datetime | None = None
        Queue.objects._register(self)

    def __repr__(self) -> str:
        return f"Queue<{self.id}>"

    def add(self, *tasks: Task) -> Queue:
        """Add tasks (their dependencies come along, first); returns the queue."""
        for task in tasks:
            if task._engine is not self._engine:
                raise TaskError(f"{task!r} keeps its runs elsewhere than {self!r} (state_dir)")
            task.check_dependencies()
            if task not in self._added:
                self._added.append(task)
        return self

    def tasks(self) -> list[Task]:
        """Every task the queue runs, in run order (adding t1, t5, t4 where t4 -> t3 -> t5 -> t2
        gives t1, t2, t5, t3, t4)."""
        by_key: dict[str, Task] = {}
        for task in self._added:
            for item in task.closure():
                by_key[str(item.id)] = item
        deps = {key: [str(d.id) for d in task.depends] for key, task in by_key.items()}
        return [by_key[key] for key in queue_order([str(t.id) for t in self._added], deps)]

    def get_status_display(self) -> str:
        """The status as a word for people: ``Completed``."""
        return display(self.status)

    def start(self, check: bool = False) -> Queue:
        """Run the tasks in order and wait; ``check``: ProcessError unless all completed.

        Tasks that completed already are not run again; with ``on_failure="stop"`` the first
        failure skips the rest, with ``"continue"`` only what depends on it is skipped.
        """
        order = self.tasks()
        if self.status == "running":
            raise StatusError(f"{self!r} is already running")
        for task in order:
            if task.status == "running":
                raise StatusError(f"{task!r} is already running; {self!r} cannot start")
        preset = {t.name: t.status for t in order if t.status == "completed"}
        before = {t.name: (t.status, t.run_id) for t in order}
        for task in order:
            self._engine.define(task)
            if task.name not in preset:
                task.status = "running"
        self.status, self.started_at, self.ended_at = "running", self._engine.now(), None
        names = [t.name for t in self._added]
        coro = run_sequence(
            self._engine.runner, self.name, names, on_failure=self.on_failure, trigger="api",
            preset=preset,
        )  # fmt: skip
        try:
            result = self._engine.call(coro)
        except BaseException:  # interrupted: the task that had started was canceled
            self.status, self.ended_at = "canceled", self._engine.now()
            for task in order:
                status, run_id = before[task.name]
                if task.status == "running":
                    task.status = "canceled" if task.run_id != run_id else status
            raise
        for task in order:
            if task.name in result.results:
                task._apply(result.results[task.name])
            elif task.status == "running":  # never reached (the queue was skipped)
                task.status = before[task.name][0]
        self.result, self.status = result, result.status
        self.ended_at = _when(result.ended_at) or self._engine.now()
        if result.status == "skipped":
            raise StatusError(f"{self!r} is already running in another process")
        if check and not result.ok:
            failed = [f"{t!r} {t.status}" for t in order if t.status != "completed"]
            raise ProcessError(f"{self!r} {result.status}: {', '.join(failed)}")
        return self

    def stop(self) -> bool:
        """End the task the queue is running and skip the rest; False if it was not running."""
        deadline = time.monotonic() + 10
        while self.status == "running" and time.monotonic() < deadline:
            stop = self._engine.runner.stop_queue(self.name, "stopped through the API", _STOP_GRACE)
            if self._engine.call(stop):
                return True
            time.sleep(0.02)  # asked but not started yet
        return False


Task.objects = Manager(Task)
Queue.objects = Manager(Queue)

__all__ = ["Queue", "Task"]
