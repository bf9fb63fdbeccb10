"""The task commands: ``task run/stop``, ``queue start/stop``, ``logs``, across processes too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from taskkit import group_gone

from streamrec.runtime.processes import group_alive

TASKS = """
tasks:
  fetch:
    command: echo fetching; echo "fetch-err" >&2
  index:
    command: echo "indexing run $STREAMREC_RUN_ID"
    depends_on: fetch
  broken:
    command: echo nope >&2; exit 5
  slow:
    command: echo begin; sleep 30
  ticker:
    command: for i in 1 2 3 4 5; do echo "tick $i"; sleep 0.1; done
queues:
  nightly:
    tasks: [index]
  long:
    tasks: [slow, fetch]
"""


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Path:
    """A config directory with a few tasks and queues."""
    return write_config({"tasks.yaml": TASKS})


@pytest.fixture
def cli(config: Path, cli_for: Callable[[Path], Any]) -> Any:
    """The CLI against that config directory."""
    return cli_for(config)


def read_events(config: Path) -> list[dict[str, Any]]:
    """Every event the commands wrote (the state dir is ./state beside the config dir)."""
    path = config.parent / "state" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def spawn(config: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``streamrec -c CONFIG ARGS`` as a separate process; all are ended after the test."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamrec", "-c", str(config), *args],
            cwd=config.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def wait_started(config: Path, task: str) -> dict[str, Any]:
    """Wait until a ``task.started`` of ``task`` is in the log; return it."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        path = config.parent / "state" / "events.jsonl"
        if path.exists():
            for event in read_events(config):
                if event["type"] == "task.started" and event["task"] == task:
                    return event
        time.sleep(0.05)
    raise AssertionError(f"{task} did not start")


def test_task_run_prints_the_output_and_exits_zero_when_completed(cli: Any, config: Path) -> None:
    """``task run`` runs in the foreground, shows the output and a status line, exit 0."""
    code, out, err = cli("task", "run", "fetch")
    assert code == 0 and out == "fetching\n"
    assert "fetch-err" in err and "task 'fetch' run 1: Completed" in err
    assert [e["type"] for e in read_events(config)] == ["task.started", "task.finished"]


def test_task_run_exits_one_when_the_task_fails(cli: Any) -> None:
    """A failing task: its stderr and the reason are shown, exit 1."""
    code, _out, err = cli("task", "run", "broken")
    assert code == 1 and "nope" in err and "Failed" in err and "exit code 5" in err


def test_an_unmet_dependency_is_refused_and_with_deps_runs_it_first(cli: Any) -> None:
    """Alone: an error naming the dependency and its state; --with-deps runs it first."""
    code, _out, err = cli("task", "run", "index")
    assert code == 1 and "'fetch' (never run)" in err and "--with-deps" in err
    code, out, err = cli("task", "run", "index", "--with-deps")
    assert code == 0 and out.endswith("indexing run 1\n")
    assert err.index("task 'fetch' run 1") < err.index("task 'index' run 1")


def test_queue_start_runs_dependencies_first(cli: Any, config: Path) -> None:
    """``queue start`` runs the queue in order and logs it; exit 0 when all completed."""
    code, _out, err = cli("queue", "start", "nightly")
    assert code == 0 and "queue 'nightly' run 1: Completed" in err
    finished = [e for e in read_events(config) if e["type"] == "queue.finished"]
    assert finished[0]["results"] == {"fetch": "completed", "index": "completed"}


def test_logs_prints_a_run_and_a_chosen_run(cli: Any) -> None:
    """``logs TASK`` prints the latest run's stdout and stderr; ``--run N`` an earlier one."""
    cli("task", "run", "index", "--with-deps")
    cli("task", "run", "index")
    assert cli("logs", "index")[1] == "indexing run 2\n"
    assert cli("logs", "index", "--run", "1")[1] == "indexing run 1\n"
    code, out, err = cli("logs", "fetch")
    assert (code, out) == (0, "fetching\n") and "fetch-err" in err
    assert cli("logs", "index", "--run", "9")[0] == 1
    code, _out, err = cli("logs", "nosuch")
    assert code == 1 and "no task named 'nosuch'" in err


def test_unknown_names_and_bad_config_exit_one(
    cli: Any, write_config: Callable[..., Path], cli_for: Callable[[Path], Any]
) -> None:
    """An unknown task or queue is an error naming close ones; a bad config is located."""
    code, _out, err = cli("task", "run", "fecth")
    assert code == 1 and "no task named 'fecth' (did you mean 'fetch'?)" in err
    assert cli("queue", "start", "nope")[0] == 1
    bad = write_config({"tasks.yaml": "tasks:\n  t:\n    command: ''\n"}, name="bad")
    code, _out, err = cli_for(bad)("task", "run", "t")
    assert code == 1 and "tasks.yaml:3:" in err and "command is empty" in err


def test_a_second_process_cannot_run_a_running_task_and_task_stop_ends_it(
    cli: Any, config: Path, spawn: Callable[..., subprocess.Popen[str]]
) -> None:
    """Across processes: the second run is skipped; ``task stop`` from a third ends the first."""
    first = spawn("task", "run", "slow")
    started = wait_started(config, "slow")
    second = spawn("task", "run", "slow")
    _out, err = second.communicate(timeout=30)
    assert second.returncode == 1 and "skipped" in err and "still running" in err
    code, out, _err = cli("task", "stop", "slow", "--grace", "1")
    assert code == 0 and "stopped task 'slow' run 1" in out
    out, err = first.communicate(timeout=30)
    assert first.returncode == 1 and out == "begin\n" and "Terminated" in err
    assert group_gone(started["pid"])
    outcomes = [(e["type"], e.get("status") or e.get("reason")) for e in read_events(config)]
    assert outcomes == [
        ("task.started", None), ("task.skipped", "already_running"),
        ("task.finished", "terminated"),
    ]  # fmt: skip
    assert cli("task", "stop", "slow")[1] == "task 'slow' is not running\n"


def test_ctrl_c_stops_the_foreground_task(
    config: Path, spawn: Callable[..., subprocess.Popen[str]]
) -> None:
    """SIGINT to ``task run`` terminates the task's group and records it; exit 1."""
    proc = spawn("task", "run", "slow")
    started = wait_started(config, "slow")
    proc.send_signal(2)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "interrupted (SIGINT)" in err
    assert group_gone(started["pid"])
    assert read_events(config)[-1]["status"] == "terminated"


def test_logs_follow_prints_output_until_the_run_ends(
    config: Path, spawn: Callable[..., subprocess.Popen[str]]
) -> None:
    """``logs --follow`` from another process prints everything and returns when the run ends."""
    runner = spawn("task", "run", "ticker")
    wait_started(config, "ticker")
    follower = spawn("logs", "ticker", "--follow")
    out, _err = follower.communicate(timeout=30)
    assert out == "".join(f"tick {i}\n" for i in range(1, 6))
    runner.communicate(timeout=30)
    assert runner.returncode == 0


def test_queue_stop_from_another_process_ends_the_queue(
    cli: Any, config: Path, spawn: Callable[..., subprocess.Popen[str]]
) -> None:
    """``queue stop`` terminates the queue's running task and the rest is skipped."""
    proc = spawn("queue", "start", "long")
    started = wait_started(config, "slow")
    code, out, _err = cli("queue", "stop", "long", "--grace", "1")
    assert code == 0 and "stopping queue 'long' run 1" in out
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "Terminated" in err
    assert group_gone(started["pid"])
    finished = next(e for e in read_events(config) if e["type"] == "queue.finished")
    assert finished["status"] == "terminated"
    assert finished["results"] == {"slow": "terminated", "fetch": "skipped"}
    assert not [n for n in os.listdir(config.parent / "state" / "pids") if n.startswith("queue-")]


def test_a_task_left_running_by_a_killed_runner_still_counts_as_running(
    cli: Any, config: Path, spawn: Callable[..., subprocess.Popen[str]]
) -> None:
    """After ``kill -9`` of ``task run``, its task keeps the task busy until ``task stop`` ends it."""
    from streamrec.runtime.tasks.files import interrupted_runs
    from streamrec.state.paths import StatePaths

    runner = spawn("task", "run", "slow")
    started = wait_started(config, "slow")
    runner.kill()
    runner.communicate(timeout=30)
    assert not group_gone(started["pid"])
    found = interrupted_runs(StatePaths.at(config.parent / "state"))
    assert [(r.name, r.run, r.pgid) for r in found] == [("slow", 1, started["pid"])]
    code, _out, err = cli("task", "run", "slow")
    assert code == 1 and "still running after its runner exited" in err
    code, out, _err = cli("task", "stop", "slow", "--grace", "1")
    assert code == 0 and "stopped task 'slow' run 1" in out
    assert not group_alive(started["pid"])  # (zombies left to whoever adopted them aside)
    last = read_events(config)[-1]
    assert (last["type"], last["status"], last["run"]) == ("task.finished", "terminated", 1)
    assert interrupted_runs(StatePaths.at(config.parent / "state")) == []
