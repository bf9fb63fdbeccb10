"""Which commands skip the shell: only plain program calls, looked up as the shell would."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from taskkit import MakeRunner, events, group_gone

from streamrec.core.shellwords import plain_argv
from streamrec.runtime.processes import command_argv, find_program
from streamrec.state.journal import Journal


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("true", ["true"]),
        ("  ffmpeg -i in.ts -c copy out.mp4  ", ["ffmpeg", "-i", "in.ts", "-c", "copy", "out.mp4"]),
        (
            "tool --opt=value a,b user@host:/x +1",
            ["tool", "--opt=value", "a,b", "user@host:/x", "+1"],
        ),
        ("sleep\t30", ["sleep", "30"]),
    ],
)
def test_a_plain_call_is_split_into_its_words(command: str, words: list[str]) -> None:
    assert plain_argv(command) == words


@pytest.mark.parametrize(
    "command",
    [
        "", "   ", "echo hi > out", "a | b", "a && b", "a; b", "a &", "(a)", "echo $HOME",
        "echo `date`", "echo 'quoted'", 'echo "quoted"', "echo a\\ b", "ls *.ts", "ls ?",
        "ls [ab]", "cd ~", "echo # comment", "FOO=1 env", "{ a; }", "! false", "a\nb",
        "exit 3", "cd /tmp", "export A=1", ". ./env.sh", "source env.sh", "exec sleep 1",
        "if", "wait", "kill %1", "set -e", "echo a\x00b",
    ],
)  # fmt: skip
def test_anything_the_shell_would_parse_goes_through_the_shell(command: str) -> None:
    assert plain_argv(command) is None


def test_the_program_is_looked_up_on_the_childs_path_and_relative_to_its_cwd(
    tmp_path: Path,
) -> None:
    tool = tmp_path / "bin" / "tool"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(stat.S_IRWXU)
    env = {"PATH": f"/nonexistent:{tool.parent}"}
    assert command_argv("tool -x", env, tmp_path) == (["tool", "-x"], str(tool))
    assert command_argv("bin/tool", env, tmp_path) == (["bin/tool"], str(tmp_path / "bin/tool"))
    assert find_program("tool", "/nonexistent", tmp_path) is None
    assert find_program("tool", f"relative:{tool.parent}", tmp_path) is None  # the shell decides
    tool.chmod(stat.S_IRUSR)
    assert command_argv("tool", env, tmp_path)[1] == "/bin/sh"  # not executable: sh says why


def test_a_missing_program_goes_to_the_shell_which_reports_it() -> None:
    assert command_argv("no-such-program-here", dict(os.environ), Path("/")) == (
        ["/bin/sh", "-c", "no-such-program-here"],
        "/bin/sh",
    )


async def test_a_plain_command_runs_without_a_shell_and_its_group_is_still_stopped(
    make_runner: MakeRunner, journal: Journal
) -> None:
    """``sleep 30`` is exec'd directly (its own group leader); a timeout still ends the group."""
    runner = make_runner(nap={"command": "sleep 30", "timeout": "0.3s"})
    result = await runner.run("nap")
    assert result.status == "terminated" and "timed out" in (result.reason or "")
    started = events(journal, "task.started")[0]
    assert group_gone(started["pid"])
    assert (result.duration or 0) < 5


async def test_a_plain_command_is_the_child_itself(make_runner: MakeRunner, workdir: Path) -> None:
    """The pid in the events is the program's own (no shell in between)."""
    runner = make_runner(me={"command": f"{sys.executable} -c print(__import__('os').getpid())"})
    assert plain_argv(runner.tasks["me"].command) is None  # parentheses: through the shell
    runner = make_runner(me={"command": "readlink /proc/self/exe"})
    result = await runner.run("me")
    assert result.status == "completed"
    assert Path(result.stdout_tail.strip()).name == "readlink"
