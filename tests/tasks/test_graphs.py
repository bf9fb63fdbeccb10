"""Dependencies, DAGs, queues and once tasks, run for real through the runner."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from taskkit import MakeRunner, events

from streamrec.errors import DependenceError
from streamrec.runtime.tasks.graph import (
    run_graph,
    run_once_tasks,
    run_queue,
    run_sequence,
    run_with_deps,
)
from streamrec.state.journal import Journal

LOG = 'echo "$STREAMREC_TASK" >> order.log'


def order(workdir: Path) -> list[str]:
    """The task names in the order they ran."""
    return (workdir / "order.log").read_text().split()


async def test_a_task_with_an_unmet_dependency_refuses_to_run(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """Run alone, a task whose dependency never ran raises DependenceError naming it, and logs it."""
    runner = make_runner(
        fetch={"command": "true"}, index={"command": "true", "depends_on": "fetch"}
    )
    with pytest.raises(DependenceError, match=r"'fetch' \(never run\)"):
        await runner.run("index")
    skipped = events(journal, "task.skipped")
    assert skipped[0]["task"] == "index" and skipped[0]["reason"] == "dependency_not_completed"
    assert events(journal, "task.started") == []
    await runner.run("fetch")
    assert (await runner.run("index")).status == "completed"


async def test_with_deps_runs_what_is_missing_first(make_runner: MakeRunner, workdir: Path) -> None:
    """--with-deps runs the dependencies that did not complete, in order, then the task."""
    runner = make_runner(
        a={"command": LOG},
        b={"command": LOG, "depends_on": "a"},
        c={"command": LOG, "depends_on": ["b"]},
    )
    await runner.run("a")
    results = await run_with_deps(runner, "c")
    assert list(results) == ["b", "c"] and all(r.ok for r in results.values())
    assert order(workdir) == ["a", "b", "c"]


async def test_a_changed_definition_makes_a_dependency_unmet_again(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """After a dependency's definition changes, its old completed run does not count."""
    runner = make_runner(a={"command": "true"}, b={"command": "true", "depends_on": "a"})
    await runner.run("a")
    changed = make_runner(a={"command": "true  # v2"}, b={"command": "true", "depends_on": "a"})
    with pytest.raises(DependenceError, match="older definition"):
        await changed.run("b")


async def test_a_dag_runs_branches_in_parallel_and_skips_dependents_of_failures(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """Independent branches overlap; dependents of a failure are skipped as upstream_failed."""
    runner = make_runner(
        root={"command": "true"},
        left={"command": "sleep 0.4", "depends_on": "root"},
        right={"command": "sleep 0.4", "depends_on": "root"},
        bad={"command": "exit 1", "depends_on": "root"},
        after_bad={"command": "true", "depends_on": "bad"},
        last={"command": "true", "depends_on": ["after_bad", "left"]},
        join={"command": "true", "depends_on": ["left", "right"]},
    )
    begin = time.monotonic()
    results = await run_graph(runner, ["last", "join"], limit=4)
    assert time.monotonic() - begin < 0.75
    statuses = {name: r.status for name, r in results.items()}
    assert statuses == {
        "root": "completed", "left": "completed", "right": "completed", "bad": "failed",
        "after_bad": "skipped", "last": "skipped", "join": "completed",
    }  # fmt: skip
    reasons = {e["task"]: e["reason"] for e in events(journal, "task.skipped")}
    assert reasons == {"after_bad": "upstream_failed", "last": "upstream_failed"}


async def test_queue_runs_in_computed_order_one_at_a_time(
    make_runner: MakeRunner, journal: Journal, workdir: Path
) -> None:
    """A queue adds dependencies first and runs each task once, in order, logging the queue."""
    runner = make_runner(
        queues={"nightly": {"tasks": ["t1", "t5", "t4"]}},
        t1={"command": LOG}, t2={"command": LOG}, t3={"command": LOG, "depends_on": "t5"},
        t4={"command": LOG, "depends_on": "t3"}, t5={"command": LOG, "depends_on": "t2"},
    )  # fmt: skip
    result = await run_queue(runner, "nightly")
    assert result.status == "completed" and result.run == 1
    assert order(workdir) == ["t1", "t2", "t5", "t3", "t4"]
    started = events(journal, "queue.started")[0]
    assert started["order"] == ["t1", "t2", "t5", "t3", "t4"] and started["trigger"] == "cli"
    finished = events(journal, "queue.finished")[0]
    assert finished["status"] == "completed" and set(finished["results"].values()) == {"completed"}
    assert {e["trigger"] for e in events(journal, "task.started")} == {"queue"}
    assert journal.state()["queues"]["nightly"]["status"] == "completed"


async def test_on_failure_stop_skips_the_rest(
    make_runner: MakeRunner, journal: Journal, workdir: Path
) -> None:
    """``on_failure: stop`` ends the queue at the first failure; the rest is skipped."""
    runner = make_runner(
        queues={"q": {"tasks": ["a", "bad", "c"], "on_failure": "stop"}},
        a={"command": LOG}, bad={"command": "exit 1"}, c={"command": LOG},
    )  # fmt: skip
    result = await run_queue(runner, "q")
    assert result.status == "failed" and order(workdir) == ["a"]
    assert events(journal, "queue.finished")[0]["results"] == {
        "a": "completed", "bad": "failed", "c": "skipped"
    }  # fmt: skip
    assert events(journal, "task.skipped", "c")[0]["reason"] == "queue_stopped"


async def test_on_failure_continue_runs_what_does_not_depend_on_the_failure(
    make_runner: MakeRunner, journal: Journal, workdir: Path
) -> None:
    """``continue`` skips only the failure's dependents and runs the rest."""
    runner = make_runner(
        queues={"q": {"tasks": ["bad", "child", "other"], "on_failure": "continue"}},
        bad={"command": "exit 1"}, child={"command": LOG, "depends_on": "bad"},
        other={"command": LOG},
    )  # fmt: skip
    result = await run_queue(runner, "q")
    assert result.status == "failed" and order(workdir) == ["other"]
    assert {n: r.status for n, r in result.results.items()} == {
        "bad": "failed", "child": "skipped", "other": "completed"
    }  # fmt: skip


async def test_stopping_a_queue_ends_its_task_and_skips_the_rest(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """A queue stop terminates the task it is running and skips the others."""
    runner = make_runner(
        queues={"q": {"tasks": ["long", "next"]}},
        long={"command": "sleep 30"},
        next={"command": "true"},
    )
    running = asyncio.ensure_future(run_queue(runner, "q"))
    while not events(journal, "task.started"):
        await asyncio.sleep(0.01)
    assert await runner.stop_queue("q") == 1
    result = await running
    assert result.status == "terminated"
    assert {n: r.status for n, r in result.results.items()} == {
        "long": "terminated",
        "next": "skipped",
    }


async def test_a_second_start_of_a_running_queue_is_skipped(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """A queue runs once at a time; a second start is logged as queue.skipped."""
    runner = make_runner(queues={"q": {"tasks": ["long"]}}, long={"command": "sleep 30"})
    running = asyncio.ensure_future(run_queue(runner, "q"))
    while not events(journal, "task.started"):
        await asyncio.sleep(0.01)
    second = await run_sequence(runner, "q", ["long"])
    assert second.status == "skipped" and events(journal, "queue.skipped")
    await runner.stop_queue("q")
    assert (await running).status == "terminated"


async def test_once_tasks_run_once_per_definition(make_runner: MakeRunner, workdir: Path) -> None:
    """``schedule: once`` runs on the first apply, not the second, and again after an edit."""
    runner = make_runner(init={"command": LOG, "schedule": "once"}, plain={"command": LOG})
    assert list(await run_once_tasks(runner)) == ["init"]
    assert await run_once_tasks(runner) == {}
    edited = make_runner(init={"command": LOG + " # v2", "schedule": "once"})
    assert (await run_once_tasks(edited))["init"].ok
    assert order(workdir) == ["init", "init"]


async def test_a_skipped_trigger_does_not_make_an_old_run_count_for_a_new_definition(
    make_runner: MakeRunner,
) -> None:
    """A skip of an edited dependency leaves its last real run (old definition) unmet."""
    await make_runner(a={"command": "true"}).run("a")
    edited = make_runner(
        a={"command": "true # v2", "depends_on": "c"},
        b={"command": "true", "depends_on": "a"},
        c={"command": "true"},
    )
    with pytest.raises(DependenceError):
        await edited.run("a")  # logs task.skipped for a
    with pytest.raises(DependenceError, match="older definition"):
        await edited.run("b")
