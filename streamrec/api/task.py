"""``Task``: one shell command of the Python API, run once, after its dependencies.

``Task(command=..., depends=..., name=..., state_dir=...)`` makes the object (status ``created``);
``run()`` runs it through the task runner and blocks until it ended. It keeps its name for as long
as it lives (``api.names``: refused when another live object, or a declared task, has it).
Durations (``timeout``, ``backoff``) are seconds, the config's forms (``90s``, ``1h30m``) or a
clock's (``HH:MM:SS``, ``MM:SS``). A task object runs once: running it again after it completed,
or while it runs, is a :class:`StatusError`; a dependency that has not completed is a
:class:`DependenceError` (``Task dependence on Task<1> and task not completed.``); a task made
without a command is a :class:`CommandError` when it is run.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

from streamrec.api.engine import Engine, engine_for
from streamrec.api.manager import Manager
from streamrec.core.lifecycle import display
from streamrec.core.ordering import find_cycle
from streamrec.core.runs import RunOutcome
from streamrec.core.timestamps import parse_ts
from streamrec.errors import CommandError, DependenceError, ProcessError, StatusError, TaskError
from streamrec.spec import model
from streamrec.spec.loading import LoadedConfig, load_config
from streamrec.state.location import state_root

_STOP_GRACE = 5.0
_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d{2}(?:\.\d+)?)")


def clock_seconds(value: float | str | None) -> float | str | None:
    """``HH:MM:SS`` or ``MM:SS`` as seconds; anything else as given (the config's parser takes
    it: a number of seconds, ``90s``, ``1h30m``)."""
    if not isinstance(value, str):
        return value
    match = _CLOCK.fullmatch(value.strip())
    if match is None:
        return value
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)


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
        self.id: int = next(Task._ids)
        self.command = command if isinstance(command, str) else ""
        self.depends: list[Task] = (
            [] if depends is None else [depends] if isinstance(depends, Task) else list(depends)
        )
        self.options: dict[str, Any] = {
            "timeout": clock_seconds(timeout),
            "retries": {"limit": retries, "backoff": clock_seconds(backoff)},
            "env": dict(env or {}), "workdir": None if workdir is None else str(workdir),
        }  # fmt: skip
        self._declared: LoadedConfig | None = None
        self._validate(self.command if self.command.strip() else ":")  # bad options fail now
        self.check_dependencies()
        self._setup(engine_for(state_dir), name)

    def _setup(self, engine: Engine, name: str | None, *, bound: bool = False) -> None:
        self._engine = engine
        self.name: str = engine.names.take("task", name, self, bound=bound)
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
        engine.follow(self.name, self)
        Task.objects._register(self)

    @classmethod
    def _bind(cls, name: str, config: Path) -> Task:
        """The object bound to task ``name`` declared by the config in ``config`` (its state
        directory found by the CLI's rule); the live one if there is one already."""
        loaded = load_config(config, os.environ)
        declared = loaded.config.tasks.get(name)
        if declared is None:
            known = ", ".join(sorted(loaded.config.tasks)) or "none"
            raise KeyError(f"{config} declares no task named {name!r} (tasks: {known})")
        root = state_root(config, loaded, os.environ)
        try:
            return cls.objects.get(name, state_dir=root)
        except KeyError:
            pass
        self = cls.__new__(cls)
        self.id = next(Task._ids)
        self.command, self.depends, self.options = declared.command, [], {}
        self._declared = loaded
        self._setup(engine_for(root), name, bound=True)
        return self

    def __repr__(self) -> str:
        return f"Task<{self.id}>"

    @property
    def bound(self) -> bool:
        """Whether this object stands for a task a config declares (``Task.objects.get``)."""
        return self._declared is not None

    def definition(self) -> model.Task:
        """This task as a config object (what its definition hash is made from); CommandError
        when it has no command."""
        if self._declared is not None:
            return self._declared.config.tasks[self.name]
        if not self.command.strip():
            raise CommandError(
                f"{self!r} has no command: set task.command to a shell command before running it"
            )
        return self._validate(self.command)

    def _validate(self, command: str) -> model.Task:
        try:
            return model.Task.model_validate(
                {"command": command, "depends_on": [d.name for d in self.depends],
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
            self.definition()
            self.check_dependencies()
            for dep in self.depends:
                if dep.status != "completed":
                    raise DependenceError(f"Task dependence on {dep!r} and task not completed.")
            self.status = "running"

    def run(self, check: bool = False) -> Task:
        """Run the command now and wait for it; ``check``: ProcessError unless it completed."""
        self._begin()
        engine = self._engine
        try:
            if self._declared is not None:
                runner = engine.declared_runner(self._declared)
                coro = runner.run(self.name, trigger="api", check_deps=True)
            else:
                self.define()
                coro = engine.runner.run(self.name, trigger="api", check_deps=False)
            result = engine.call(coro)
        except TaskError:  # refused before it started (a declared dependency not completed)
            self.status = "created"
            raise
        except BaseException:  # interrupted (the run was canceled), or the runner failed
            self.status = "canceled" if self.status == "running" else self.status
            raise
        self._apply(result)
        if result.status == "skipped":
            raise StatusError(f"{self!r} is already running in another process; not run again")
        if check and not result.ok:
            raise ProcessError(self._failure())
        return self

    def define(self) -> None:
        """Make this task and its dependencies known to the runner under their names."""
        for item in self.closure():
            self._engine.runner.tasks[item.name] = item.definition()

    def _failure(self) -> str:
        tail = self.result.stderr_tail.strip()[-500:] if self.result else ""
        said = f"; stderr ends: {tail}" if tail else ""
        return f"{self!r} {self.status} ({self.reason or 'no reason given'}){said}"

    def terminate(self) -> bool:
        """End the running command (its whole process group); False if it was not running."""
        runner = self._engine.declared if self._declared is not None else self._engine.runner
        deadline = time.monotonic() + 10
        while runner is not None and self.status == "running" and time.monotonic() < deadline:
            stop = runner.stop(self.name, "terminated through the API", _STOP_GRACE)
            if self._engine.call(stop):
                return True
            time.sleep(0.02)  # asked but not started yet: waiting for its lock or a slot
        return False

    def _observe(self, event: dict[str, Any]) -> None:
        """Follow this task's events (called on the runner's thread)."""
        if event["type"] == "task.started":
            self.run_id, self.attempt = event["run"], event["attempt"]
            self.started_at, self.ended_at = parse_ts(event["ts"]), None
            self._logs = (event["stdout_log"], event["stderr_log"])
        elif event["type"] == "task.finished" and event.get("stdout_log"):
            self._logs = (event["stdout_log"], event["stderr_log"])

    def _apply(self, outcome: RunOutcome) -> None:
        self.result = outcome
        self.status = outcome.status
        self.run_id = outcome.run if outcome.run is not None else self.run_id
        self.attempt, self.exit_code = outcome.attempt, outcome.exit_code
        self.reason = outcome.reason
        self.started_at = parse_ts(outcome.started_at) or self.started_at
        self.ended_at = parse_ts(outcome.ended_at)
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


Task.objects = Manager(Task, Task._bind)
