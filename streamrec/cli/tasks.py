"""Task and queue commands: ``task run/stop``, ``queue start/stop``, ``logs``.

On-demand runs go through the running daemon when there is one (over its socket: the run is made by
its runner and its output printed when it ends); without a daemon they happen in the foreground, in
this process, through the same runner the daemon uses (``runtime.tasks.runner``, ``runtime.tasks.graph``). Either
way the task lock keeps this process and the daemon from running one task twice, and every outcome
goes to the state log. ``task run`` shows the task's
output as it comes and ends with one status line per task; Ctrl-C (or SIGTERM) stops what runs
(recorded as ``terminated``). ``task stop``/``queue stop`` act on a run owned by any process,
through its pid file under ``state/pids/``. Task output reaches the terminal redacted
(``cli.redacted``); the log files keep it verbatim. Exit codes: 0 completed, 1 failed or error.

asyncio, the runner, the state log and the daemon client are imported inside the commands, so
``streamrec --help`` does not load them.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, TypeVar, cast

import typer

from streamrec.cli.app import (
    app,
    console,
    err_console,
    fail,
    globals_,
    load,
    open_journal,
    redactor_of,
    state_paths,
)
from streamrec.cli.completion import queue_names, task_names
from streamrec.cli.redacted import RedactedSink
from streamrec.cli.suggest import unknown_name
from streamrec.core.printable import printable
from streamrec.errors import DaemonError, TaskError

if TYPE_CHECKING:
    import asyncio

    from streamrec.cli.client import DaemonClient
    from streamrec.core.runs import RunOutcome
    from streamrec.runtime.tasks.files import RunFiles
    from streamrec.spec.loading import LoadedConfig
    from streamrec.state.journal import Journal
    from streamrec.state.paths import StatePaths

T = TypeVar("T")

task_app = typer.Typer(help="Run and stop tasks on demand.", no_args_is_help=True)
queue_app = typer.Typer(help="Start and stop queues on demand.", no_args_is_help=True)
app.add_typer(task_app, name="task")
app.add_typer(queue_app, name="queue")

GraceOption = Annotated[
    float,
    typer.Option("--grace", metavar="SECONDS", help="Seconds between SIGTERM and SIGKILL.", min=0),
]


def _task_argument(help_: str) -> Any:
    return typer.Argument(metavar="TASK", help=help_, autocompletion=task_names)


def _queue_argument(help_: str) -> Any:
    return typer.Argument(metavar="QUEUE", help=help_, autocompletion=queue_names)


def _streams() -> tuple[RedactedSink, RedactedSink]:
    """Standard output and error for a task's output, with the loaded config's secrets hidden."""
    redactor = globals_.redactor
    return RedactedSink(sys.stdout.buffer, redactor), RedactedSink(sys.stderr.buffer, redactor)


def _binary(sink: RedactedSink) -> BinaryIO:
    # the copiers only call write() and flush(), which RedactedSink has
    return cast(BinaryIO, sink)


async def _follow(files: RunFiles, run: int) -> None:
    """Copy a run's output as it is written, redacted, until the run is over."""
    from streamrec.runtime.logfollow import follow_run

    out, err = _streams()
    try:
        await follow_run(files, run, _binary(out), _binary(err))
    finally:
        out.finish()
        err.finish()


class TaskSession:
    """A runner for one command, with the task output echoed and Ctrl-C turned into a stop."""

    def __init__(self, loaded: LoadedConfig, echo: str | None = None) -> None:
        from streamrec.app.runner import runner_for
        from streamrec.runtime.clock import SYSTEM_CLOCK

        self.paths = state_paths(loaded)
        self.journal = open_journal(loaded)
        self.runner = runner_for(
            loaded,
            layout=self.paths,
            journal=self.journal,
            clock=SYSTEM_CLOCK,
            observer=self._observe,
            redactor=redactor_of(loaded),
        )
        self.echo = echo
        self.followers: list[asyncio.Task[None]] = []
        self.stopping: list[asyncio.Task[None]] = []

    def _observe(self, event: dict[str, Any]) -> None:
        import asyncio

        from streamrec.runtime.tasks.files import RunFiles

        kind, task = event["type"], str(event.get("task"))
        if kind == "task.started" and task == self.echo and event["attempt"] == 1:
            files = RunFiles.of(self.paths, "task", task)
            self.followers.append(asyncio.ensure_future(_follow(files, event["run"])))
        elif kind == "task.finished" and event.get("attempt"):
            _say_result(task, event)
        elif kind == "task.skipped" and event.get("reason") != "dependency_not_completed":
            # (an unmet dependency is said by the error that follows)
            detail = event.get("detail") or event.get("reason")
            err_console.print(f"task {task!r}: skipped ({detail})", markup=False)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` to its end; SIGINT/SIGTERM stop every run of this session first."""
        import asyncio
        import signal

        async def main() -> T:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                    loop.add_signal_handler(sig, self._interrupt, sig)
            try:
                return await work
            finally:
                if self.followers:
                    await asyncio.gather(*self.followers)
                for sig in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                        loop.remove_signal_handler(sig)

        try:
            return asyncio.run(main())
        finally:
            self.journal.close()

    def _interrupt(self, sig: int) -> None:
        import asyncio
        import signal

        name = signal.Signals(sig).name
        err_console.print(f"{name}: stopping what runs", markup=False)
        reason = f"interrupted ({name})"
        runner = self.runner
        for handles in runner.queue_runs.values():
            for handle in handles:
                handle.stop_reason = handle.stop_reason or reason
        self.stopping.append(asyncio.ensure_future(runner.stop_all(reason=reason)))


def _shown(line: str) -> str:
    return printable(globals_.redactor.text(line))


def _say_result(task: str, event: dict[str, Any]) -> None:
    from streamrec.core.lifecycle import display

    status = event["status"]
    took = event.get("duration")
    words = f"task {task!r} run {event.get('run')}: {display(status)}"
    if event.get("attempt", 1) > 1:
        words += f" (attempt {event['attempt']})"
    if took is not None:
        words += f" in {took:.2f}s"
    if event.get("reason"):
        words += f" - {event['reason']}"
    err_console.print(_shown(words))


def _ask(client: DaemonClient, method: str, path: str, **params: Any) -> dict[str, Any]:
    """One request to the running daemon; its refusal becomes this command's error."""
    pid = client.info.get("pid")
    err_console.print(f"(through the running daemon, pid {pid})", markup=False)
    try:
        return client.request(method, path, **params)
    except DaemonError as exc:
        raise fail(str(exc)) from None
    finally:
        client.close()


def _print_daemon_result(
    loaded: LoadedConfig, task: str, result: dict[str, Any], echo: bool
) -> None:
    """What a run the daemon made printed, and how it ended (as for a run made here)."""
    from streamrec.core.lifecycle import display
    from streamrec.runtime.logfollow import copy_run
    from streamrec.runtime.tasks.files import RunFiles

    run = result.get("run")
    if echo and isinstance(run, int):
        out, err = _streams()
        copy_run(RunFiles.of(state_paths(loaded), "task", task), run, _binary(out), _binary(err))
        out.finish()
        err.finish()
    words = f"task {task!r} run {run}: {display(str(result.get('status')))}"
    if result.get("reason"):
        words += f" - {result['reason']}"
    err_console.print(_shown(words))


def _known(loaded: LoadedConfig, kind: str, name: str) -> None:
    names = loaded.config.tasks if kind == "task" else loaded.config.queues
    if name not in names:
        raise fail(unknown_name(kind, name, names))


@task_app.command("run")
def task_run(
    name: Annotated[str, _task_argument("The task to run.")],
    with_deps: Annotated[
        bool, typer.Option("--with-deps", help="Run dependencies that did not complete first.")
    ] = False,
) -> None:
    """Run a task now, in the foreground; exit 0 when it completed, 1 otherwise."""
    from streamrec.cli.client import daemon_client
    from streamrec.runtime.tasks.graph import run_with_deps

    loaded = load()
    _known(loaded, "task", name)
    client = daemon_client(state_paths(loaded).root)
    if client is not None:  # the daemon runs it, so the two never run one task twice
        params = {"with_deps": "true"} if with_deps else {}
        answer = _ask(client, "POST", f"/api/tasks/{name}/run", **params)
        remote: dict[str, dict[str, Any]] = answer.get("results", {})
        for task, outcome in remote.items():
            _print_daemon_result(loaded, task, outcome, echo=task == name)
        if (remote.get(name) or {}).get("status") != "completed":
            raise typer.Exit(1)
        return
    session = TaskSession(loaded, echo=name)
    try:
        if with_deps:
            results = session.run(run_with_deps(session.runner, name, trigger="cli"))
        else:
            results = {name: session.run(session.runner.run(name, trigger="cli"))}
    except TaskError as exc:
        raise fail(str(exc)) from None
    result: RunOutcome | None = results.get(name)
    if result is None or not result.ok:
        raise typer.Exit(1)


@task_app.command("stop")
def task_stop(
    name: Annotated[str, _task_argument("The task to stop.")],
    grace: GraceOption = 5.0,
) -> None:
    """Stop a running task, whichever process runs it (SIGTERM, grace, SIGKILL)."""
    import asyncio

    from streamrec.runtime.tasks.files import RunFiles, logged_runs, stop_task_runs

    loaded = load()
    paths = state_paths(loaded)
    found = asyncio.run(stop_task_runs(paths, name, grace, "stopped by `streamrec task stop`"))
    if not found:
        if name not in loaded.config.tasks and not logged_runs(RunFiles.of(paths, "task", name)):
            _known(loaded, "task", name)
        console.print(f"task {name!r} is not running", markup=False)
        return
    orphans = [r for r in found if not r.owner_alive()]
    if orphans:
        with open_journal(loaded) as journal:
            for record in orphans:
                _record_orphan_stop(journal, record.name, record.run, record.attempt)
    for record in found:
        console.print(f"stopped task {name!r} run {record.run} (pid {record.pid})", markup=False)


def _record_orphan_stop(journal: Journal, task: str, run: int, attempt: int | None) -> None:
    """A run whose runner died cannot say how it ended; the stopper says it for it."""
    from streamrec.core.events import TaskFinished
    from streamrec.core.runs import RunOutcome
    from streamrec.core.timestamps import format_ts
    from streamrec.runtime.clock import SYSTEM_CLOCK

    seen = journal.state().get("tasks", {}).get(task) or {}
    outcome = RunOutcome(
        task=task, run=run, attempt=attempt or 0, status="terminated",
        exit_code=None, started_at=seen.get("started_at"), ended_at=format_ts(SYSTEM_CLOCK.now()),
        duration=None, stdout_log=seen.get("stdout_log"), stderr_log=seen.get("stderr_log"),
        definition=seen.get("definition"),
        reason="stopped by `streamrec task stop` after its runner had exited",
    )  # fmt: skip
    journal.append(TaskFinished(outcome=outcome))


@queue_app.command("start")
def queue_start(name: Annotated[str, _queue_argument("The queue to start.")]) -> None:
    """Run a queue now, in the foreground; exit 0 when every task completed, 1 otherwise."""
    from streamrec.cli.client import daemon_client
    from streamrec.core.lifecycle import display
    from streamrec.runtime.tasks.graph import run_queue

    loaded = load()
    _known(loaded, "queue", name)
    client = daemon_client(state_paths(loaded).root)
    if client is not None:
        answer = _ask(client, "POST", f"/api/queues/{name}/start")
        for task, outcome in (answer.get("results") or {}).items():
            _print_daemon_result(loaded, task, outcome, echo=False)
        err_console.print(f"queue {name!r}: {display(answer.get('status', '?'))}", markup=False)
        if answer.get("status") != "completed":
            raise typer.Exit(1)
        return
    session = TaskSession(loaded)
    try:
        result = session.run(run_queue(session.runner, name, trigger="cli"))
    except TaskError as exc:
        raise fail(str(exc)) from None
    words = f"queue {name!r} run {result.run}: {display(result.status)}"
    err_console.print(_shown(words + (f" - {result.reason}" if result.reason else "")))
    if not result.ok:
        raise typer.Exit(1)


@queue_app.command("stop")
def queue_stop(
    name: Annotated[str, _queue_argument("The queue to stop.")],
    grace: GraceOption = 5.0,
) -> None:
    """Stop a running queue: its current task ends and the rest is skipped."""
    import asyncio

    from streamrec.runtime.tasks.files import stop_queue_runs

    loaded = load()
    _known(loaded, "queue", name)
    paths: StatePaths = state_paths(loaded)
    found = asyncio.run(stop_queue_runs(paths, name, grace, "stopped by `streamrec queue stop`"))
    if not found:
        console.print(f"queue {name!r} is not running", markup=False)
    for record in found:
        console.print(f"stopping queue {name!r} run {record.run}", markup=False)


@app.command("logs")
def logs(
    task: Annotated[str, _task_argument("The task whose output to show.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing while the run goes on.")
    ] = False,
    run: Annotated[
        int | None,
        typer.Option("--run", metavar="N", help="Which run (default: the latest).", min=1),
    ] = None,
) -> None:
    """Print a task run's output: its stdout to stdout, its stderr to stderr."""
    import asyncio

    from streamrec.runtime.logfollow import copy_run
    from streamrec.runtime.tasks.files import RunFiles, logged_runs

    loaded = load()
    files = RunFiles.of(state_paths(loaded), "task", task)
    runs = logged_runs(files)
    if not runs:
        if task not in loaded.config.tasks:
            _known(loaded, "task", task)
        raise fail(f"task {task!r} has no runs with output yet")
    chosen = runs[-1] if run is None else run
    if chosen not in runs:
        raise fail(f"task {task!r} has no run {chosen} (runs with output: {runs[0]}-{runs[-1]})")
    if follow:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_follow(files, chosen))
    else:
        out, err = _streams()
        copy_run(files, chosen, _binary(out), _binary(err))
        out.finish()
        err.finish()
