"""The Python API against the scenarios of the Django project streamrec grew from.

Its README's examples and its task and queue tests, run with real shell commands through the
real runner: create, run, dependence, error, queue order, a queue with a dependency outside it;
then what went wrong when objects shared a name, two threads running two objects at once, the
names of declared tasks, the names of separate scripts, and API runs in ``streamrec status``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from taskkit import api_script, group_gone, started_order

from streamrec import (
    CommandError,
    DependenceError,
    ProcessError,
    Queue,
    StatusError,
    Task,
    TaskError,
)
from streamrec.runtime.tasks.files import stop_task_runs
from streamrec.state.paths import StatePaths

CONFIG = {
    "settings.yaml": "settings: {timezone: UTC}\n",
    "tasks.yaml": """
        tasks:
          fetch: {command: "echo declared fetch"}
          task-1: {command: "echo declared one"}
          slow: {command: "sleep 30"}
        queues:
          evening: {tasks: [fetch]}
        """,
}


def cli(config: Path, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``streamrec`` command line, in a process of its own, on ``state``."""
    env = {**os.environ, "STREAMREC_STATE_DIR": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "streamrec", "-c", str(config), *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


# --- the original project's scenarios ------------------------------------------------------


def test_create_a_task() -> None:
    """A task is created with status created, shown as Created, with a name of its own."""
    task = Task.objects.create(command="echo A")
    assert (task.status, task.get_status_display()) == ("created", "Created")
    assert task.name.startswith("task-") and task.stdout == "" and task.started_at is None
    assert Task.objects.get(task.id) is task and Task.objects.get(task.name) is task


def test_run_a_task() -> None:
    """run() completes the task and captures its stdout."""
    task = Task(command="echo Hello world")
    task.run()
    assert (task.status, task.get_status_display()) == ("completed", "Completed")
    assert task.stdout == "Hello world\n" and task.exit_code == 0


def test_dependence() -> None:
    """A task depending on an uncompleted one raises DependenceError; after it ran, it runs."""
    first = Task(command="echo first")
    second = Task(command="echo second", depends=first)
    with pytest.raises(DependenceError, match=rf"Task<{first.id}> and task not completed"):
        second.run()
    assert second.status == "created"
    first.run()
    assert second.run().stdout == "second\n"


def test_error() -> None:
    """A failing command: status failed, stderr captured; run(check=True) raises ProcessError."""
    task = Task(command="echo oops >&2; exit 3")
    task.run()
    assert (task.status, task.get_status_display()) == ("failed", "Failed")
    assert task.stderr == "oops\n" and task.exit_code == 3
    checked = Task(command="echo oops >&2; exit 3")
    with pytest.raises(ProcessError, match="oops"):
        checked.run(check=True)


def test_a_task_without_a_command_fails_at_run() -> None:
    """Task() can be made empty (the original's tests do); run() raises CommandError."""
    task = Task()
    assert task.status == "created"
    with pytest.raises(CommandError):
        task.run()


def test_queue_order_puts_dependencies_first(tmp_path: Path) -> None:
    """t1..t5 added in order, t3 depending on t5 and t4 on t3: the queue runs t1, t2, t5, t3, t4
    (by start times and by the state log)."""
    state = tmp_path / "state"
    t1, t2 = (Task(command=f"echo {n}", state_dir=state) for n in (1, 2))
    t5 = Task(command="echo 5", state_dir=state)
    t3 = Task(command="echo 3", depends=t5, state_dir=state)
    t4 = Task(command="echo 4", depends=t3, state_dir=state)
    queue = Queue(state_dir=state).add(t1, t2, t3, t4, t5)
    queue.start(check=True)
    expected = [t1, t2, t5, t3, t4]
    assert queue.tasks() == expected
    by_start = sorted(expected, key=lambda t: t.started_at)  # type: ignore[arg-type,return-value]
    assert by_start == expected
    assert started_order(state) == [t.name for t in expected]
    assert [t.stdout for t in expected] == ["1\n", "2\n", "5\n", "3\n", "4\n"]


def test_a_queue_inserts_a_dependency_it_was_not_given() -> None:
    """A dependency outside the queue is run first, then the task that needs it."""
    outside = Task(command="echo outside")
    inside = Task(command="echo inside", depends=outside)
    queue = Queue().add(inside)
    assert queue.tasks() == [outside, inside]
    queue.start(check=True)
    assert outside.ended_at <= inside.started_at  # type: ignore[operator]
    assert (outside.stdout, inside.stdout) == ("outside\n", "inside\n")


def test_a_started_queue_takes_no_more_tasks() -> None:
    """add() after start() is a StatusError (as in the original), and so is a second start."""
    queue = Queue().add(Task(command="true"))
    queue.start()
    with pytest.raises(StatusError, match="started already"):
        queue.add(Task(command="true"))
    with pytest.raises(StatusError, match="started already"):
        queue.start()


def test_a_clock_duration_is_a_timeout() -> None:
    """timeout="00:00:01" (the original's form) ends a longer command after a second."""
    task = Task(command="sleep 20", timeout="00:00:01")
    assert task.definition().timeout == 1.0
    began = time.monotonic()
    assert task.run().status == "terminated"
    assert time.monotonic() - began < 10
    assert Task(command="true", timeout="01:30").definition().timeout == 90.0
    assert Task(command="true", timeout="1h30m").definition().timeout == 5400.0
    with pytest.raises(TaskError):
        Task(command="true", timeout="soon")


# --- names ---------------------------------------------------------------------------------


def test_a_second_live_object_cannot_take_a_name() -> None:
    """Reusing a live task's name is refused at creation, depends= or not; the queue that ran
    echo B twice, and the dependency that showed A as B's output, cannot be built any more.
    Once the first object is gone, its name is free."""
    a = Task(command="echo A")
    with pytest.raises(TaskError, match=rf"{a.name!r} belongs to another live Task.*another name"):
        Task(command="echo B", name=a.name)
    with pytest.raises(TaskError, match="drop the other object"):
        Task(command="echo B", name=a.name, depends=a)
    b = Task(command="echo B", depends=a)
    Queue().add(a, b).start(check=True)
    assert (a.stdout, b.stdout) == ("A\n", "B\n")
    name = a.name
    del a, b
    gc.collect()
    assert Task(command="echo again", name=name).run().stdout == "again\n"
    queue = Queue(name="nightly-api")
    with pytest.raises(TaskError, match="another live Queue"):
        Queue(name="nightly-api")
    assert queue.name == "nightly-api"


def test_two_threads_run_two_objects_at_once() -> None:
    """Two distinct objects run from two threads at the same time, each its own command."""
    a = Task(command="sleep 0.5; echo A")
    b = Task(command="sleep 0.5; echo B")
    errors: list[BaseException] = []

    def run(task: Task) -> None:
        try:
            task.run(check=True)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert (a.stdout, b.stdout) == ("A\n", "B\n")
    assert a.started_at < b.ended_at and b.started_at < a.ended_at  # type: ignore[operator]


def test_declared_names_are_refused_unless_bound(tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    """A task the applied config declares cannot be made again through the API (nor given as an
    automatic name); Task.objects.get(name, config=) binds to it and runs the declared command."""
    config, state = write_config(CONFIG), tmp_path / "state"
    assert cli(config, state, "apply").returncode == 0
    with pytest.raises(TaskError, match=r"'fetch' is a task declared .*Task.objects.get"):
        Task(command="echo mine", name="fetch", state_dir=state)
    with pytest.raises(TaskError, match=r"'evening' is a queue declared"):
        Queue(name="evening", state_dir=state)
    auto = Task(command="echo auto", state_dir=state)
    assert auto.name != "task-1"
    bound = Task.objects.get("fetch", config=config)
    assert bound.bound and bound.command == "echo declared fetch"
    assert Task.objects.get("fetch", config=config) is bound
    assert bound.run().stdout == "declared fetch\n"
    with pytest.raises(KeyError, match="no task named 'nothing'"):
        Task.objects.get("nothing", config=config)


def test_separate_scripts_get_separate_names(tmp_path: Path) -> None:
    """Scripts sharing a state directory never reuse a name the log knows, nor one a live
    script holds: not task-1 for all."""
    state = tmp_path / "state"
    run_one = "t = Task(command='true', state_dir=STATE); t.run(); print(t.name)"
    first = api_script(state, run_one).stdout.strip()
    second = api_script(state, run_one).stdout.strip()
    assert first != second and {first, second} <= {"task-1", "task-2"}
    script = api_script.source(
        state, "t = Task(state_dir=STATE); print(t.name, flush=True); input()"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            held = holder.stdout.readline().strip() if holder.stdout else ""
            mine = Task(command="true", state_dir=state)
            assert held == "task-3" and mine.name == "task-4"
        finally:
            holder.kill()


def test_api_runs_show_in_streamrec_status(tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    """A task and a queue run with state_dir= are listed under api by `streamrec status -o
    json`, under their own names; the declared tasks keep their own section (the config is
    applied first: that is how the API learns the declared names, task-1 among them)."""
    config, state = write_config(CONFIG), tmp_path / "state"
    assert cli(config, state, "apply").returncode == 0
    task = Task(command="echo scripted", name="scripted", state_dir=state)
    task.run()
    queued = Task(command="echo queued", state_dir=state)
    Queue(name="api-queue", state_dir=state).add(queued).start(check=True)
    done = cli(config, state, "status", "-o", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data["tasks"]) == {"fetch", "task-1", "slow"}
    assert set(data["queues"]) == {"evening"} and set(data["api"]["queues"]) == {"api-queue"}
    assert data["tasks"]["fetch"]["status"] == "created"
    assert data["tasks"]["task-1"]["status"] == "created" and queued.name != "task-1"
    assert set(data["api"]["tasks"]) == {"scripted", queued.name}
    assert data["api"]["tasks"]["scripted"]["status"] == "completed"
    assert data["api"]["tasks"]["scripted"]["stdout_tail"] == "scripted\n"
    assert data["api"]["tasks"][queued.name]["status"] == "completed"
    assert data["api"]["queues"]["api-queue"]["status"] == "completed"
    text = cli(config, state, "status")
    assert text.returncode == 0 and "scripted" in text.stdout


def test_a_bound_task_another_process_runs_is_a_status_error(tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    """While `streamrec task run slow` runs the declared task, running the object bound to it
    raises StatusError (the task lock, across processes)."""
    config, state = write_config(CONFIG), tmp_path / "state"
    assert cli(config, state, "apply").returncode == 0
    env = {**os.environ, "STREAMREC_STATE_DIR": str(state)}
    command = [sys.executable, "-m", "streamrec", "-c", str(config), "task", "run", "slow"]
    events = state / "events.jsonl"
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        try:
            deadline = time.monotonic() + 30
            while "task.started" not in events.read_text():
                assert time.monotonic() < deadline
                time.sleep(0.05)
            bound = Task.objects.get("slow", config=config)
            with pytest.raises(StatusError, match="already running in another process"):
                bound.run()
            assert bound.status == "skipped"
        finally:
            found = asyncio.run(stop_task_runs(StatePaths.at(state), "slow", 1.0))
    assert [r.pgid is not None and group_gone(r.pgid) for r in found] == [True]
