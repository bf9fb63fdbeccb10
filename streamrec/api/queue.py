"""``Queue``: tasks of the Python API run one after another, dependencies inserted first.

``Queue(name=..., on_failure=..., state_dir=...).add(t1, t2).start()`` runs each task once, in
``core.ordering.queue_order``'s order (what a task depends on comes just before it, added or
not), through ``runtime.tasks.graph.run_sequence``. A queue takes its name like a task does
(``api.names``); once started it takes no more tasks (``add`` is a :class:`StatusError`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import ClassVar, Literal

from streamrec.api.engine import engine_for
from streamrec.api.manager import Manager
from streamrec.api.task import Task
from streamrec.core.lifecycle import display
from streamrec.core.ordering import queue_order
from streamrec.core.timestamps import parse_ts
from streamrec.errors import ProcessError, StatusError, TaskError
from streamrec.runtime.tasks.graph import QueueResult, run_sequence

_STOP_GRACE = 5.0


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
        self.on_failure: Literal["stop", "continue"] = on_failure
        self._engine = engine_for(state_dir)
        self.name: str = self._engine.names.take("queue", name, self)
        self._added: list[Task] = []
        self.status = "created"
        self.result: QueueResult | None = None
        self.started_at: datetime | None = None
        self.ended_at: datetime | None = None
        Queue.objects._register(self)

    def __repr__(self) -> str:
        return f"Queue<{self.id}>"

    def add(self, *tasks: Task) -> Queue:
        """Add tasks (their dependencies come along, first); returns the queue.

        StatusError once the queue was started: a queue's tasks are fixed when it runs.
        """
        if self.status != "created":
            raise StatusError(
                f"{self!r} was started already ({self.status}); add tasks before start(), or "
                "make a new Queue"
            )
        for task in tasks:
            if task._engine is not self._engine:
                raise TaskError(f"{task!r} keeps its runs elsewhere than {self!r} (state_dir)")
            if task.bound:
                raise TaskError(f"{task!r} is a declared task; run it with run(), not in a Queue")
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
        failure skips the rest, with ``"continue"`` only what depends on it is skipped. A queue
        starts once: starting it again is a StatusError.
        """
        order = self.tasks()
        if self.status != "created":
            raise StatusError(f"{self!r} was started already ({self.status}); make a new Queue")
        for task in order:
            if task.status == "running":
                raise StatusError(f"{task!r} is already running; {self!r} cannot start")
            task.definition()  # CommandError for a task without a command, before anything runs
        preset = {t.name: t.status for t in order if t.status == "completed"}
        before = {t.name: (t.status, t.run_id) for t in order}
        for task in order:
            task.define()
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
        self.ended_at = parse_ts(result.ended_at) or self._engine.now()
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


Queue.objects = Manager(Queue)
