"""Timeouts, stops, retries and concurrency policies: every run ends, and no process is left."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from taskkit import MakeRunner, events, group_gone

from streamrec.runtime.tasks.runner import TaskRunner
from streamrec.state.journal import Journal


async def started(runner: TaskRunner, name: str, count: int = 1) -> None:
    """Wait until ``count`` runs of ``name`` have a process."""
    for _ in range(500):
        procs = [a.proc for a in runner.active.get(name, ()) if a.proc is not None]
        if len(procs) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} did not start")


async def test_a_timeout_ends_the_whole_group_within_a_second(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """A run past its timeout is terminated, with its child, within a second of the deadline."""
    runner = make_runner(slow={"command": "sleep 30 & sleep 30", "timeout": 0.5})
    begin = time.monotonic()
    result = await runner.run("slow")
    assert time.monotonic() - begin < 0.5 + 1.0
    assert result.status == "terminated" and result.reason == "timed out after 500ms"
    assert group_gone(events(journal, "task.started")[0]["pid"])


async def test_a_task_that_ignores_sigterm_is_killed_after_the_grace(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """SIGTERM ignored by the shell and its child: SIGKILL follows, still within a second."""
    runner = make_runner(stubborn={"command": "trap '' TERM; sleep 30; sleep 30", "timeout": 0.3})
    begin = time.monotonic()
    result = await runner.run("stubborn")
    assert time.monotonic() - begin < 0.3 + 1.0
    assert result.status == "terminated" and result.exit_code == 128 + 9
    assert group_gone(events(journal, "task.started")[0]["pid"])


async def test_stop_terminates_a_running_task_and_its_children(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """``stop`` ends the group (SIGTERM, then SIGKILL for the stubborn) and records why."""
    runner = make_runner(stop_grace=0.3, busy={"command": "(trap '' TERM; sleep 30) & sleep 30"})
    running = asyncio.ensure_future(runner.run("busy"))
    await started(runner, "busy")
    assert await runner.stop("busy", reason="stopped by a test") == 1
    result = await running
    assert result.status == "terminated" and result.reason == "stopped by a test"
    assert group_gone(events(journal, "task.started")[0]["pid"])
    assert journal.state()["tasks"]["busy"]["status"] == "terminated"


async def test_a_canceled_caller_ends_the_run_as_canceled(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """When the coroutine running a task is canceled, the group is ended and the run canceled."""
    runner = make_runner(long={"command": "sleep 30"})
    running = asyncio.ensure_future(runner.run("long"))
    await started(runner, "long")
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    finished = events(journal, "task.finished", "long")
    assert [e["status"] for e in finished] == ["canceled"]
    assert group_gone(events(journal, "task.started")[0]["pid"])


async def test_a_failed_attempt_is_retried_after_the_backoff(
    make_runner: MakeRunner, journal: Journal, workdir: Path
) -> None:
    """A failure is retried after the backoff, as the next attempt of the same run."""
    command = "if [ -f seen ]; then echo ok; else touch seen; echo first >&2; exit 1; fi"
    runner = make_runner(flaky={"command": command, "retries": {"limit": 2, "backoff": 0.1}})
    result = await runner.run("flaky")
    assert (result.status, result.run, result.attempt) == ("completed", 1, 2)
    finished = events(journal, "task.finished")
    assert [(e["attempt"], e["status"]) for e in finished] == [(1, "failed"), (2, "completed")]
    assert "retrying in 100ms (attempt 2)" in finished[0]["reason"]
    assert finished[0]["stderr_tail"] == "first\n" and finished[1]["stdout_tail"] == "ok\n"
    state = journal.state()["tasks"]["flaky"]
    assert (state["runs"], state["failures"], state["status"]) == (1, 1, "completed")


async def test_retries_stop_at_the_limit_with_doubling_waits(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """limit 2 means three attempts; the waits double (0.1 s, then 0.2 s)."""
    runner = make_runner(broken={"command": "exit 2", "retries": {"limit": 2, "backoff": 0.1}})
    begin = time.monotonic()
    result = await runner.run("broken")
    assert time.monotonic() - begin >= 0.3
    assert (result.status, result.attempt) == ("failed", 3)
    assert [e["attempt"] for e in events(journal, "task.started")] == [1, 2, 3]


async def test_a_stop_during_the_backoff_cancels_the_run(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """A run waiting to retry, when stopped, ends canceled without another attempt."""
    runner = make_runner(broken={"command": "exit 1", "retries": {"limit": 3, "backoff": 30}})
    running = asyncio.ensure_future(runner.run("broken"))
    for _ in range(500):
        if events(journal, "task.finished"):
            break
        await asyncio.sleep(0.01)
    await runner.stop("broken")
    result = await asyncio.wait_for(running, 5)
    assert result.status == "canceled" and result.attempt == 1
    assert [e["status"] for e in events(journal, "task.finished")] == ["failed", "canceled"]


async def test_forbid_skips_a_second_trigger_while_running(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """With the default policy a trigger during a run is skipped and logged, not run."""
    runner = make_runner(once={"command": "sleep 30"})
    running = asyncio.ensure_future(runner.run("once"))
    await started(runner, "once")
    second = await runner.run("once", trigger="schedule")
    assert second.status == "skipped" and second.reason == "already_running"
    skipped = events(journal, "task.skipped")
    assert skipped[0]["reason"] == "already_running" and skipped[0]["trigger"] == "schedule"
    await runner.stop("once")
    assert (await running).status == "terminated"
    assert journal.state()["tasks"]["once"]["runs"] == 1


async def test_replace_stops_the_running_run_and_starts_anew(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """With ``replace`` the running run is terminated and the new trigger runs."""
    runner = make_runner(
        newest={"command": 'sleep "${STREAMREC_SLEEP:-30}"', "concurrency": "replace"}
    )
    first = asyncio.ensure_future(runner.run("newest"))
    await started(runner, "newest")
    second = await runner.run("newest", context={"SLEEP": "0"})
    assert (await first).status == "terminated" and (
        await first
    ).reason == "replaced by a newer run"
    assert second.status == "completed" and second.run == 2


async def test_allow_runs_triggers_side_by_side(make_runner: MakeRunner) -> None:
    """With ``allow`` two runs overlap, each with its own run id."""
    runner = make_runner(both={"command": "sleep 0.4", "concurrency": "allow"})
    begin = time.monotonic()
    results = await asyncio.gather(runner.run("both"), runner.run("both"))
    assert time.monotonic() - begin < 0.75
    assert sorted(r.run or 0 for r in results) == [1, 2]
    assert all(r.status == "completed" for r in results)


async def test_max_parallel_bounds_attempts_across_runs(
    make_runner: MakeRunner, workdir: Path
) -> None:
    """No more than ``max_parallel`` commands run at once, whoever triggered them."""
    command = (
        'date +%s.%N > "$STREAMREC_TASK.start"; sleep 0.3; date +%s.%N > "$STREAMREC_TASK.end"'
    )
    runner = make_runner(max_parallel=2, **{f"t{i}": {"command": command} for i in range(4)})
    results = await asyncio.gather(*(runner.run(f"t{i}") for i in range(4)))
    assert all(r.status == "completed" for r in results)
    moments = sorted(
        (float((workdir / f"t{i}.{edge}").read_text()), step)
        for i in range(4)
        for edge, step in (("start", 1), ("end", -1))
    )
    depth = peak = 0
    for _, step in moments:
        depth += step
        peak = max(peak, depth)
    assert peak == 2


async def test_a_run_stopped_while_waiting_for_a_slot_never_starts(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """With every slot taken, a stopped waiting run ends canceled and its command never runs."""
    runner = make_runner(
        max_parallel=1, busy={"command": "sleep 30"}, later={"command": "touch ran"}
    )
    busy = asyncio.ensure_future(runner.run("busy"))
    await started(runner, "busy")
    later = asyncio.ensure_future(runner.run("later"))
    while "later" not in runner.active:
        await asyncio.sleep(0.01)
    assert await runner.stop("later") == 1
    await runner.stop("busy")
    assert (await later).status == "canceled" and (await busy).status == "terminated"
    assert [e["task"] for e in events(journal, "task.started")] == ["busy"]
