"""The narrowed command tree prints what the whole one does, for every command path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from typer._click.core import Command
from typer.main import get_command
from typer.testing import CliRunner

from streamrec.cli.app import ROOT_VALUED_OPTIONS as VALUED
from streamrec.cli.app import app
from streamrec.cli.narrowing import command_word, narrowed, root_valued_options


def paths(command: Command, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, child in sorted(getattr(command, "commands", {}).items()):
        yield from paths(child, (*prefix, name))


ALL_PATHS = list(paths(get_command(app)))


def shown(application: typer.Typer, words: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(application, words, env={"COLUMNS": "100"})
    return result.exit_code, result.output


def test_every_command_path_is_found():
    """The walk sees the groups and their subcommands (else the test below proves little)."""
    assert len(ALL_PATHS) > 30
    assert ("channel", "list") in ALL_PATHS and ("status",) in ALL_PATHS


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: " ".join(p) or "root")
def test_a_commands_help_is_that_of_the_whole_tree(path: tuple[str, ...]):
    """``--help`` of each command, group and the root reads the same through the narrowed tree."""
    words = [*path, "--help"]
    assert shown(narrowed(app, words, VALUED), words) == shown(app, words)


@pytest.mark.parametrize(
    "words",
    [
        [],
        ["-c", "status", "--help"],
        ["--log-format", "json", "-v", "--help"],
        ["-q", "channel"],
        ["statsu"],
        ["channel", "lisst"],
        ["status", "--bogus"],
        ["--bogus", "status"],
        ["--version"],
    ],
    ids=repr,
)
def test_a_usage_error_or_a_bare_line_reads_the_same(words: list[str]):
    """No command, a misspelt one (with its suggestion), a bad option: the same answer."""
    assert shown(narrowed(app, words, VALUED), words) == shown(app, words)


def test_the_written_out_valued_options_are_the_roots():
    """``cli.app.ROOT_VALUED_OPTIONS`` is what the built root group's options say."""
    assert root_valued_options(app) == VALUED == {"-c", "--config", "--log-format"}


def test_the_command_word_skips_root_options_and_their_values():
    """The word that picks the command is the first one that is not an option or a value."""
    assert command_word(["-c", "status", "validate"], VALUED) == "validate"
    assert command_word(["--config=x", "-vv", "plan", "-o", "json"], VALUED) == "plan"
    assert command_word(["--log-format", "json"], VALUED) is None
    assert command_word(["--", "status"], VALUED) is None


def test_narrowing_keeps_only_the_named_command_and_never_changes_the_app():
    """``status`` gets a tree of one command; the application keeps every command."""
    before = (len(app.registered_commands), len(app.registered_groups))
    narrow = get_command(narrowed(app, ["-v", "status", "-o", "json"], VALUED))
    assert list(getattr(narrow, "commands", {})) == ["status"]
    assert (len(app.registered_commands), len(app.registered_groups)) == before


def test_a_completion_request_gets_the_whole_tree(monkeypatch):
    """A shell asking for completions sees every command."""
    monkeypatch.setenv("_STREAMREC_COMPLETE", "bash_complete")
    assert narrowed(app, ["status"], VALUED) is app
