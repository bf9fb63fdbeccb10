"""The task runner against real shell commands: outcomes, output files, environment, events."""

from __future__ import annotations

import os
import resource
from pathlib import Path

from taskkit import MakeRunner, events, group_gone

from streamrec.state.journal import Journal


async def test_a_command_that_exits_zero_completes_and_its_output_is_kept(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """A run that exits 0 is completed, its output is in its log files and in the event's tail."""
    runner = make_runner(hello={"command": "echo hello; echo oops >&2"})
    result = await runner.run("hello")
    assert result.status == "completed" and result.exit_code == 0 and result.run == 1
    assert Path(result.stdout_log or "").read_text() == "hello\n"
    assert Path(result.stderr_log or "").read_text() == "oops\n"
    started, finished = events(journal, "task.started")[0], events(journal, "task.finished")[0]
    assert started["trigger"] == "cli" and started["attempt"] == 1 and started["pid"] > 0
    assert finished["stdout_tail"] == "hello\n" and finished["stderr_tail"] == "oops\n"
    assert finished["definition"] == started["definition"]
    assert journal.state()["tasks"]["hello"]["status"] == "completed"
    assert group_gone(started["pid"])


async def test_a_failing_command_is_failed_with_its_exit_code(make_runner: MakeRunner) -> None:
    """A non-zero exit is failed, with the exit code and the words for it."""
    runner = make_runner(bad={"command": "exit 3"})
    result = await runner.run("bad")
    assert (result.status, result.exit_code, result.reason) == ("failed", 3, "exit code 3")


async def test_a_command_that_is_not_found_fails_with_127_and_keeps_stderr(
    make_runner: MakeRunner,
) -> None:
    """A missing program is exit 127, said in words, with the shell's message kept."""
    runner = make_runner(missing={"command": "no-such-program-xyz --flag"})
    result = await runner.run("missing")
    assert result.status == "failed" and result.exit_code == 127
    assert "command not found" in (result.reason or "")
    assert "no-such-program-xyz" in result.stderr_tail


async def test_binary_and_invalid_utf8_output_is_stored_and_tailed_safely(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """Bytes that are not UTF-8 reach the log file unchanged and the event as replaced text."""
    runner = make_runner(binary={"command": r"printf '\377\376ok\000\n'"})
    result = await runner.run("binary")
    assert result.status == "completed"
    assert Path(result.stdout_log or "").read_bytes() == b"\xff\xfeok\x00\n"
    assert events(journal, "task.finished")[0]["stdout_tail"] == "\ufffd\ufffdok\x00\n"


async def test_the_environment_has_the_task_env_and_the_trigger_context(
    make_runner: MakeRunner, workdir: Path
) -> None:
    """The child sees the task's env, the context (prefixed) and the STREAMREC_* run variables."""
    command = 'echo "$GREETING|$STREAMREC_CHANNEL|$STREAMREC_FILE|$STREAMREC_TASK|$STREAMREC_RUN_ID|$STREAMREC_TRIGGER|$(pwd)"'
    runner = make_runner(show={"command": command, "env": {"GREETING": "hi"}})
    hostile = "x'; touch pwned; echo '"
    result = await runner.run(
        "show", trigger="hook", context={"channel": "news", "STREAMREC_FILE": hostile}
    )
    assert result.stdout_tail == f"hi|news|{hostile}|show|1|hook|{workdir}\n"
    assert not (workdir / "pwned").exists()


async def test_workdir_is_relative_to_the_config_parent(
    make_runner: MakeRunner, workdir: Path
) -> None:
    """``workdir:`` runs the command there; a missing one fails the run with a clear reason."""
    (workdir / "sub").mkdir()
    runner = make_runner(
        here={"command": "pwd", "workdir": "sub"}, nowhere={"command": "pwd", "workdir": "gone"}
    )
    assert (await runner.run("here")).stdout_tail == f"{workdir / 'sub'}\n"
    result = await runner.run("nowhere")
    assert result.status == "failed" and result.exit_code is None
    assert "could not start" in (result.reason or "") and "No such file" in result.stderr_tail


async def test_run_ids_count_up_per_task(make_runner: MakeRunner) -> None:
    """Each run of a task gets the next run id; another task counts on its own."""
    runner = make_runner(a={"command": "true"}, b={"command": "true"})
    assert [(await runner.run("a")).run for _ in range(3)] == [1, 2, 3]
    assert (await runner.run("b")).run == 1


async def test_hostile_task_names_stay_inside_the_state_directory(
    make_runner: MakeRunner, paths: object, tmp_path: Path
) -> None:
    """Names like ``../x``, with spaces or unicode, make log files inside state/logs only."""
    names = ["../escape", "with space", "ünï/cødé", "..", "."]
    runner = make_runner(**{name: {"command": "echo hi"} for name in names})
    logs = {Path((await runner.run(name)).stdout_log or "").resolve() for name in names}
    assert len(logs) == len(names)
    for log in logs:
        assert log.is_relative_to((tmp_path / "state" / "logs").resolve())
        assert log.read_text() == "hi\n"
    assert not (tmp_path / "escape").exists()


async def test_a_gigabyte_of_output_goes_to_the_file_not_into_our_memory(
    make_runner: MakeRunner,
) -> None:
    """1 GB written by a task lands in its log file while our peak memory stays where it was."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    runner = make_runner(big={"command": "head -c 1000000000 /dev/zero"})
    result = await runner.run("big")
    assert result.status == "completed"
    log = Path(result.stdout_log or "")
    assert log.stat().st_size == 1_000_000_000
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 20_000
    log.unlink()


async def test_a_task_that_closes_stdout_and_keeps_running_is_waited_for(
    make_runner: MakeRunner,
) -> None:
    """Closing stdout is not the end: the run ends when the process does, with stderr kept."""
    runner = make_runner(closer={"command": "echo before; exec >&-; sleep 0.3; echo after >&2"})
    result = await runner.run("closer")
    assert result.status == "completed" and (result.duration or 0) >= 0.3
    assert result.stdout_tail == "before\n" and result.stderr_tail == "after\n"


async def test_a_background_child_left_behind_is_stopped(
    make_runner: MakeRunner, journal: Journal, workdir: Path
) -> None:
    """A forked background child that outlives the shell is ended and the run says so."""
    runner = make_runner(forker={"command": "sleep 30 & echo $! > bg.pid; echo started"})
    result = await runner.run("forker")
    assert result.status == "completed" and (result.duration or 0) < 5
    assert "left processes behind" in (result.reason or "")
    assert not os.path.exists(f"/proc/{int((workdir / 'bg.pid').read_text())}")
    assert group_gone(events(journal, "task.started")[0]["pid"])


async def test_a_start_reads_the_shared_state_and_copies_no_history(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """What a run checks its dependencies against is the journal's shared read view: a start
    costs what the last events changed, not a copy of every recording the log lists."""
    for n in range(200):
        journal.append("recording.segment", channel="tv", file=f"/rec/{n}.ts", bytes=1)
    runner = make_runner(a={"command": "true"}, b={"command": "true", "depends_on": ["a"]})
    await runner.run("a")
    view = journal.view()
    assert runner.seen() is view.state["tasks"]
    assert (await runner.run("b")).status == "completed"
    assert journal.view().state["recordings"] is not None
    assert journal.view().state["recordings"]["/rec/0.ts"] is view.state["recordings"]["/rec/0.ts"]
