"""The Python API: the example in ``streamrec.api``'s docstring and the errors people rely on."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from taskkit import group_gone

import streamrec
from streamrec import (
    CommandError,
    DependenceError,
    ProcessError,
    Queue,
    StatusError,
    Task,
    TaskError,
)
from streamrec.runtime.processes import group_alive
from streamrec.runtime.tasks.files import stop_task_runs
from streamrec.state.journal import Journal
from streamrec.state.paths import StatePaths


def test_the_design_example_runs_tasks_and_a_queue() -> None:
    """Task(command=...), depends=, run, status, output, times, and a Queue in order."""
    first = Task(command="echo one")
    second = Task(command="echo two; echo warn >&2", depends=first)
    assert first.status == "created" and first.get_status_display() == "Created"
    assert first.run() is first
    assert (first.status, first.get_status_display()) == ("completed", "Completed")
    assert first.stdout == "one\n" and first.stderr == ""
    assert isinstance(first.started_at, datetime) and isinstance(first.ended_at, datetime)
    assert first.started_at <= first.ended_at
    second.run(check=True)
    assert second.stdout == "two\n" and second.stderr == "warn\n"
    third = Task(command="echo three", depends=second)
    queue = Queue().add(third)
    assert queue.tasks() == [first, second, third]
    assert queue.start() is queue
    assert queue.status == "completed" and queue.get_status_display() == "Completed"
    assert third.status == "completed" and third.stdout == "three\n"


def test_a_task_with_an_unfinished_dependency_raises_the_familiar_message() -> None:
    """Running before the dependency completed: ``Task dependence on Task<N> and task not completed.``"""
    dep = Task(command="true")
    task = Task(command="true", depends=dep)
    with pytest.raises(DependenceError) as caught:
        task.run()
    assert str(caught.value) == f"Task dependence on Task<{dep.id}> and task not completed."
    assert task.status == "created"


def test_an_empty_command_is_a_command_error_at_run() -> None:
    """A task may be made without a command (status created); run() raises CommandError, and a
    queue holding it refuses to start before anything ran."""
    for command in ("", "   "):
        task = Task(command=command)
        assert task.status == "created"
        with pytest.raises(CommandError, match="has no command"):
            task.run()
        assert task.status == "created"
    empty, first = Task(), Task(command="echo first")
    with pytest.raises(CommandError):
        Queue().add(first, empty).start()
    assert first.status == "created" and first.stdout == ""
    empty.command = "echo now"
    assert empty.run().stdout == "now\n"


def test_running_a_completed_task_again_is_a_status_error() -> None:
    """A task object runs once; a second run() says it completed already."""
    task = Task(command="true").run()
    with pytest.raises(StatusError, match="already completed"):
        task.run()


def test_check_raises_process_error_on_failure_and_keeps_stderr() -> None:
    """run(check=True) on a failing command raises ProcessError quoting its stderr."""
    task = Task(command="echo broken >&2; exit 4")
    with pytest.raises(ProcessError, match=r"exit code 4.*broken"):
        task.run(check=True)
    assert task.status == "failed" and task.exit_code == 4
    assert Task(command="exit 4").run().status == "failed"


def test_terminate_from_another_thread_ends_a_blocking_run() -> None:
    """terminate() works while run() blocks in another thread; the group is gone after."""
    task = Task(command="echo $$ > /dev/stderr; sleep 30")
    thread = threading.Thread(target=task.run)
    thread.start()
    while task.status != "running" or not task.stderr:
        time.sleep(0.01)
    with pytest.raises(StatusError, match="already running"):
        task.run()
    assert task.terminate() is True
    thread.join(10)
    assert task.status == "terminated" and task.get_status_display() == "Terminated"
    assert group_gone(int(task.stderr))
    assert task.terminate() is False


def test_a_dependency_cycle_built_through_the_api_is_refused() -> None:
    """Closing a loop with add_dependency, or by editing depends, raises DependenceError."""
    a = Task(command="true")
    b = Task(command="true", depends=a)
    with pytest.raises(DependenceError, match=f"Task<{a.id}> -> Task<{b.id}> -> Task<{a.id}>"):
        a.add_dependency(b)
    assert a.depends == []
    a.depends.append(b)
    with pytest.raises(DependenceError, match="cycle"):
        a.run()
    with pytest.raises(DependenceError, match="cycle"):
        Queue().add(b)


def test_queue_order_inserts_dependencies_first() -> None:
    """Adding t1, t5, t4 where t4 -> t3 -> t5 -> t2 orders t1, t2, t5, t3, t4, and runs so."""
    t1, t2 = Task(command="echo 1"), Task(command="echo 2")
    t5 = Task(command="echo 5", depends=t2)
    t3 = Task(command="echo 3", depends=t5)
    t4 = Task(command="echo 4", depends=t3)
    queue = Queue.objects.create().add(t1, t5, t4)
    assert queue.tasks() == [t1, t2, t5, t3, t4]
    queue.start(check=True)
    ended = [t.ended_at for t in queue.tasks()]
    assert ended == sorted(ended)  # type: ignore[type-var]  # all set once the queue completed


def test_a_failing_queue_stops_and_skips_the_rest() -> None:
    """With on_failure stop, the tasks after a failure are skipped; check raises."""
    bad, after = Task(command="exit 1"), Task(command="true")
    queue = Queue(on_failure="stop").add(bad, after)
    with pytest.raises(ProcessError):
        queue.start(check=True)
    assert (queue.status, bad.status, after.status) == ("failed", "failed", "skipped")


def test_queue_stop_from_another_thread() -> None:
    """stop() ends the queue's current task and skips the rest."""
    long, after = Task(command="sleep 30"), Task(command="true")
    queue = Queue().add(long, after)
    thread = threading.Thread(target=queue.start)
    thread.start()
    while long.started_at is None:
        time.sleep(0.01)
    assert queue.stop() is True
    thread.join(10)
    assert (queue.status, long.status, after.status) == ("terminated", "terminated", "skipped")


def test_objects_create_is_the_constructor_and_a_state_dir_keeps_the_runs(tmp_path: Path) -> None:
    """Task.objects.create works like Task(); with state_dir the runs reach the state log."""
    state = tmp_path / "state"
    task = Task.objects.create(command="echo kept", name="kept", state_dir=state)
    assert isinstance(task, Task) and Task.objects.get(task.id) is task
    task.run()
    with Journal(state) as journal:
        assert journal.state()["tasks"]["kept"]["status"] == "completed"
        assert journal.state()["tasks"]["kept"]["stdout_tail"] == "kept\n"
    assert streamrec.Task is Task


def test_a_name_another_process_holds_is_refused_and_freed_when_it_ends(tmp_path: Path) -> None:
    """With a shared state_dir, a name a live object of another process holds is refused at
    creation (naming that process); once the process ended, the name can be taken."""
    state = tmp_path / "state"
    script = (
        "from streamrec import Task\n"
        f"Task(command='sleep 30', name='shared', state_dir={str(state)!r}).run()\n"
    )
    other = subprocess.Popen([sys.executable, "-c", script])
    events = state / "events.jsonl"
    try:
        deadline = time.monotonic() + 20
        while not (events.exists() and "task.started" in events.read_text()):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with pytest.raises(TaskError, match=rf"'shared' belongs to .*in process {other.pid}"):
            Task(command="true", name="shared", state_dir=state)
    finally:
        other.kill()
        other.wait()
        found = asyncio.run(stop_task_runs(StatePaths.at(state), "shared", 1.0))
        assert [r.pgid is not None and not group_alive(r.pgid) for r in found] == [True]
    mine = Task(command="echo mine", name="shared", state_dir=state)
    assert mine.run().stdout == "mine\n"


def test_ctrl_c_during_run_cancels_the_task_and_ends_its_group(tmp_path: Path) -> None:
    """A KeyboardInterrupt while run() blocks ends the task's process group before it goes on."""
    pid_file = tmp_path / "pid"
    script = (
        "from streamrec import Task\n"
        f"task = Task(command='echo $$ > {pid_file}; sleep 30')\n"
        "try:\n"
        "    task.run()\n"
        "except KeyboardInterrupt:\n"
        "    print(task.status)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    deadline = time.monotonic() + 20
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(2)
    out, _err = proc.communicate(timeout=30)
    assert out == "canceled\n"
    assert group_gone(int(pid_file.read_text()))
