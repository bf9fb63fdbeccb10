"""The command line's conventions: version, -h, exit codes, global options anywhere, -o formats,
plain tables off a terminal, short "did you mean", --since, and human metavars in every help."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
import typer
from ruamel.yaml import YAML
from typer.main import get_command
from typer.testing import CliRunner

from streamrec.cli import app
from streamrec.cli.argv import hoist_globals
from streamrec.cli.rootgroup import RootGroup
from streamrec.version import __version__

STREAMREC = [sys.executable, "-m", "streamrec"]
BOX = re.compile("[│─┃━╭╮╰╯┏┓┗┛├┤┼]")
CONFIG = {
    "main.yaml": """
        settings: {timezone: UTC}
        categories: {news: {description: "[b]News[/b]"}}
        channels:
          news-one: {url: "http://127.0.0.1:9/one.m3u8", category: news}
          radio: {url: "http://127.0.0.1:9/radio.aac", enabled: false}
        tasks:
          fetch: {command: "true"}
        queues:
          nightly: {tasks: [fetch]}
        """
}


def run(*args: str) -> tuple[int, str, str]:
    """The CLI in-process with exactly these words (no --config put in front)."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def yaml_of(text: str) -> object:
    return YAML(typ="safe", pure=True).load(io.StringIO(text))


@pytest.fixture
def config(write_config, monkeypatch) -> Path:
    directory = write_config(CONFIG)
    monkeypatch.chdir(directory.parent)
    monkeypatch.delenv("STREAMREC_CONFIG", raising=False)
    return directory


def test_version_flag_and_command() -> None:
    """--version and -V print one line; version -o json/yaml give version, python and ffmpeg."""
    for flag in ("--version", "-V"):
        assert run(flag) == (0, f"streamrec {__version__}\n", "")
    code, out, _ = run("version")
    assert code == 0 and out.startswith(f"streamrec {__version__}\n") and "ffmpeg" in out
    data = json.loads(run("version", "-o", "json")[1])
    assert data["version"] == __version__ and data["python"].count(".") == 2
    assert data["ffmpeg"]["path"] and data["ffmpeg"]["version"].startswith("ffmpeg version")
    assert yaml_of(run("version", "-o", "yaml")[1]) == data


def test_the_version_written_in_the_package_is_the_installed_packages() -> None:
    """``streamrec.version`` is what the build wrote into the package's metadata: the build takes
    it from that file, so the two cannot part."""
    from importlib.metadata import version

    assert version("streamrec") == __version__


def test_dash_h_is_help_everywhere_and_the_epilog_lists_the_exit_codes() -> None:
    """-h works on the root, on a group and on a leaf; --help names every exit code."""
    for words in ([], ["channel"], ["channel", "list"], ["history"]):
        code, out, _ = run(*words, "-h")
        assert code == 0 and out.startswith("Usage: streamrec"), words
    out = run("--help")[1]
    for code in ("0 success", "1 error", "2 changes", "64 usage error"):
        assert code in out


@pytest.mark.parametrize(
    "words",
    [["nosuch"], ["plan", "--nosuch"], ["record"], ["history", "-o", "xml"], ["channel", "zap"]],
)
def test_usage_errors_exit_64(words: list[str]) -> None:
    """Unknown commands and options, a missing argument and a bad choice: exit 64, never 2."""
    code, out, err = run(*words)
    assert code == 64, (code, out, err)
    assert "Usage: streamrec" in err and out == ""


def test_usage_error_of_the_real_binary_exits_64() -> None:
    """The console script (not only the test runner) maps usage errors to 64."""
    done = subprocess.run(
        [*STREAMREC, "plan", "--nosuch"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 64 and "No such option" in done.stderr


def test_global_options_are_accepted_after_the_subcommand(config: Path) -> None:
    """-c DIR, --config=DIR and -q work anywhere; a subcommand option's value stays its own."""
    elsewhere = config.parent / "elsewhere"
    elsewhere.mkdir()
    code, out, _ = run("plan", "-c", str(config))
    assert code == 0 and "+ channel/news-one" in out
    code, out, _ = run("channel", "list", "-o", "json", f"--config={config}", "-q")
    assert code == 0 and {r["name"] for r in json.loads(out)} == {"news-one", "radio"}
    code, out, _ = run("channel", f"-c{config}", "list", "-o", "plain")
    assert code == 0 and "news-one" in out
    done = subprocess.run(
        [*STREAMREC, "validate", "-c", str(config), "-o", "json"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and json.loads(done.stdout)["channels"] == 2


def test_hoisting_respects_double_dash_and_option_values() -> None:
    """Only the root's options move; `--`, values of a subcommand's options stay where they are."""
    root = get_command(app)
    assert hoist_globals(["plan", "-c", "D", "-vv"], root) == ["-c", "D", "-vv", "plan"]
    assert hoist_globals(["-q", "history", "-c", "D"], root) == ["-q", "-c", "D", "history"]
    assert hoist_globals(["history", "-O", "-v", "-n", "-q"], root) == [
        "history", "-O", "-v", "-n", "-q",
    ]  # fmt: skip
    assert hoist_globals(["recordings", "delete", "--", "-c", "x"], root) == [
        "recordings", "delete", "--", "-c", "x",
    ]  # fmt: skip
    assert hoist_globals(["channel", "add", "x", "--log-format=json"], root) == [
        "--log-format=json", "channel", "add", "x",
    ]  # fmt: skip
    assert hoist_globals(["plan", "-c"], root) == ["plan", "-c"]  # (click says what is missing)


def test_a_command_that_passes_words_through_keeps_them_from_its_first_argument() -> None:
    """Words after the first argument of a pass-through command (a task's argv) are its own."""
    demo = typer.Typer(cls=RootGroup)

    @demo.callback()
    def _root(
        config: Annotated[str, typer.Option("--config", "-c")] = "x",
        verbose: Annotated[int, typer.Option("-v", count=True)] = 0,
    ) -> None:
        del config, verbose

    @demo.command("exec", context_settings={"ignore_unknown_options": True})
    def _exec(name: str, words: Annotated[list[str] | None, typer.Argument()] = None) -> None:
        typer.echo(f"{name} {words}")

    @demo.command("other")
    def _other() -> None:
        pass

    root = get_command(demo)
    assert hoist_globals(["exec", "-v", "t", "-c", "D", "-v"], root) == [
        "-v", "exec", "t", "-c", "D", "-v",
    ]  # fmt: skip
    result = CliRunner().invoke(demo, ["exec", "-v", "t", "-c", "D", "-v"])
    assert result.exit_code == 0 and result.stdout == "t ['-c', 'D', '-v']\n", result.stdout


def test_plan_exits_zero_unless_detailed_exitcode(config: Path) -> None:
    """Changes to apply: exit 0, or 2 with --detailed-exitcode; json and yaml give one plan."""
    assert run("-c", str(config), "plan")[0] == 0
    code, out, _ = run("-c", str(config), "plan", "--detailed-exitcode", "-o", "json")
    assert code == 2
    data = json.loads(out)
    assert {a["name"] for a in data["actions"]} >= {"news-one", "radio", "fetch", "nightly"}
    assert yaml_of(run("-c", str(config), "plan", "-o", "yaml")[1]) == data


def test_a_failing_validate_prints_its_problems_as_json(write_config) -> None:
    """validate -o json of a broken directory: valid false, each problem located, exit 1."""
    bad = write_config(
        {"a.yaml": "channels:\n  x: {url: 'http://a/', formt: ts}\n", "b.yaml": "tasks: [\n"},
        name="bad",
    )
    code, out, err = run("-c", str(bad), "validate", "-o", "json")
    assert code == 1 and err == ""
    data = json.loads(out)
    assert data["valid"] is False
    located = {(p["file"].rsplit("/", 1)[-1], p["line"], p["column"], p["message"])
               for p in data["problems"]}  # fmt: skip
    assert (
        "a.yaml",
        2,
        25,
        "unknown key 'formt' (did you mean 'format'?) in channels.x",
    ) in located
    assert all(set(p) == {"file", "line", "column", "message"} for p in data["problems"])
    assert any(p["file"].endswith("b.yaml") and p["line"] >= 1 for p in data["problems"])
    code, out, _ = run("-c", str(bad), "validate", "-o", "yaml")
    assert code == 1 and yaml_of(out) == data


def test_every_read_command_speaks_json_and_yaml(config: Path) -> None:
    """The same data in JSON and YAML from each read command."""
    assert run("-c", str(config), "apply")[0] == 0
    for words in (
        ["validate"],
        ["status"],
        ["channel", "list"],
        ["category", "list"],
        ["recordings", "list"],
        ["task", "list"],
        ["queue", "list"],
        ["doctor"],
        ["version"],
    ):
        code, out, err = run("-c", str(config), *words, "-o", "json")
        assert code == 0, (words, err)
        data = json.loads(out)
        code, out, _ = run("-c", str(config), *words, "-o", "yaml")
        again = yaml_of(out)
        if words == ["doctor"]:  # the free space moves between two runs on a busy disk
            data["recordings"].pop("free_bytes"), again["recordings"].pop("free_bytes")
        assert code == 0 and again == data, words
    events = [
        json.loads(line) for line in run("-c", str(config), "history", "-o", "json")[1].splitlines()
    ]
    assert events and yaml_of(run("-c", str(config), "history", "-o", "yaml")[1]) == events


def test_tables_are_plain_columns_off_a_terminal_and_wide_adds_columns(config: Path) -> None:
    """In a pipe: a header line of upper-case names, aligned rows, no box drawing."""
    code, out, _ = run("-c", str(config), "channel", "list")
    assert code == 0 and not BOX.search(out)
    lines = out.splitlines()
    assert re.match(r"CHANNEL +CATEGORY +URL +DECLARED AT$", lines[0])
    assert lines[1].index(" news ") + 1 == lines[0].index("CATEGORY")  # aligned under its header
    wide = run("-c", str(config), "channel", "list", "-o", "wide")[1].splitlines()
    assert wide[0].endswith("ENABLED") and wide[2].endswith("no")
    assert run("-c", str(config), "channel", "list", "-o", "plain")[1] == out
    code, out, _ = run("-c", str(config), "status")
    assert code == 0 and not BOX.search(out) and re.search(r"^CHANNEL +STATE +SINCE", out, re.M)
    assert "LAST SEGMENT" not in out and "SCHEDULE" not in out
    wide = run("-c", str(config), "status", "-o", "wide")[1]
    assert re.search(r"^CHANNEL +STATE .* +LAST SEGMENT +GAPS 24H$", wide, re.M), wide
    assert re.search(r"^TASK +STATUS +SINCE +RUN +EXIT +SCHEDULE +NEXT$", wide, re.M), wide
    assert "[b]News[/b]" in run("-c", str(config), "category", "list")[1]
    tasks = run("-c", str(config), "task", "list")[1].splitlines()
    assert re.match(r"TASK +SCHEDULE +DEPENDS ON +COMMAND$", tasks[0]) and tasks[1].endswith("true")
    queues = run("-c", str(config), "queue", "list", "-o", "wide")[1].splitlines()
    assert re.match(r"QUEUE +TASKS +SCHEDULE +ON FAILURE +DECLARED AT +DESCRIPTION$", queues[0])
    assert queues[1].startswith("nightly") and " fetch " in queues[1]


def test_an_unknown_name_suggests_at_most_five_close_names(write_config) -> None:
    """Among 20,000 channels the message stays one short line, with close names only."""
    body = "".join(f"  chan-{n:05d}: {{url: 'http://127.0.0.1:9/{n}'}}\n" for n in range(20000))
    directory = write_config({"main.yaml": "channels:\n" + body}, name="many")
    code, _, err = run("-c", str(directory), "channel", "command", "chan-0001x")
    assert code == 1
    assert err.startswith("error: there is no channel named 'chan-0001x' (did you mean ")
    assert len(err) < 300 and 1 <= err.split("did you mean")[1].count("'chan-") <= 5, err
    code, _, err = run("-c", str(directory), "record", "zzz")
    assert code == 1 and "20000 channels are declared" in err and len(err) < 200, err


def test_history_since_takes_a_duration_or_a_time_and_after_seq_a_number(config: Path) -> None:
    """--since 10m keeps recent events, --since in the future none, --after-seq N the later ones."""
    assert run("-c", str(config), "apply")[0] == 0
    assert run("-c", str(config), "task", "run", "fetch")[0] == 0

    def seqs(*words: str) -> list[int]:
        out = run("-c", str(config), "history", "-o", "json", *words)[1]
        return [json.loads(line)["seq"] for line in out.splitlines()]

    every = seqs()
    assert len(every) >= 3
    assert seqs("--since", "10m") == every and seqs("--since", "1d") == every
    assert seqs("--since", "2999-01-01T00:00:00Z") == []
    assert seqs("--since", "2000-01-01T00:00:00+02:00") == every
    assert seqs("--after-seq", str(every[0])) == every[1:]
    code, _, err = run("-c", str(config), "history", "--since", "yesterday")
    assert code == 1 and "duration (10m, 2h, 1d) or an ISO 8601 time" in err


def test_doctor_json_and_free_space_in_human_units(config: Path) -> None:
    """doctor -o json says what it checked; the text gives free space like '76.4 GiB'."""
    data = json.loads(run("-c", str(config), "doctor", "-o", "json")[1])
    assert data["ok"] is True and data["ffmpeg"]["path"]
    assert {r["name"]: r["install"] for r in data["resolvers"]}["yt-dlp"] == (
        "pip install 'streamrec[yt-dlp]'"
    )
    assert data["recordings"]["free_bytes"] > 0
    out = run("-c", str(config), "doctor")[1]
    assert re.search(r"recordings: .*: \d+\.\d (KiB|MiB|GiB|TiB) free", out), out


def _commands(command, path):
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _commands(sub, [*path, name])


def test_every_help_shows_human_metavars() -> None:
    """No Python type (<str>, <int range>, list[str], INTEGER, TEXT, PATH) in any --help."""
    python_types = re.compile(
        r"<[^>]*>|\blist\[|\b(TEXT|INTEGER|FLOAT|PATH|BOOLEAN|FILENAME|RANGE)\b|\{[A-Z]"
    )
    metavar = re.compile(r"^\[?[A-Z][A-Z0-9_/|.-]*\]?(\.\.\.)?$")
    checked = 0
    for path, command in _commands(get_command(app), []):
        code, out, _ = run(*path, "--help")
        assert code == 0, path
        assert not python_types.search(out), (path, python_types.search(out), out)
        for param in command.params:
            if getattr(param, "is_flag", False) or getattr(param, "count", False):
                continue
            assert param.metavar and metavar.match(param.metavar), (path, param.name)
        checked += 1
    assert checked > 25
