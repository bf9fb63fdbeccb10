"""The command tree one command line needs: the named command alone, or every command's summary.

Typer builds the click command of every registered command before it parses a word: the
parameters of every command and group (36 command paths), from their annotations, on every
start-up, though a command line runs one. :func:`narrowed` gives :func:`streamrec.cli.main` a copy of the application that holds
only what the words need:

- the first word that is not a root option (nor a root option's value) names a command or a group
  (``status``, ``channel``): the copy holds that one, complete;
- no such word (``streamrec``, ``streamrec -c DIR --help``): the copy holds every command and group
  with its name, its help and its place in the listing, but without its parameters or a group's
  subcommands, which the root's help does not show;
- anything else (a word that names no command, so that click's suggestion sees every name; or a
  shell asking for completions, ``_STREAMREC_COMPLETE`` set): the whole application.

What each command line prints, the root's help and every command's and group's help included, is
the same as with the whole application; ``tests/cli/test_narrowing.py`` holds that for every
command path. The application itself is never changed: tests that run ``cli.app.app`` through
click's test runner get the whole tree.
"""

from __future__ import annotations

import copy
import inspect
import os
from collections.abc import Callable, Sequence
from typing import Any

import typer
from typer.main import get_command, get_command_name
from typer.models import CommandInfo, TyperInfo

from streamrec.cli.rootgroup import COMPLETE_VAR

__all__ = ["command_word", "narrowed", "root_valued_options"]


def root_valued_options(app: typer.Typer) -> frozenset[str]:
    """The option words of the root that take a value (``-c``, ``--config``, ``--log-format``),
    read off the built root group (``cli.app.ROOT_VALUED_OPTIONS`` is checked against it)."""
    bare = _without_commands(app)
    valued: set[str] = set()
    for param in get_command(bare).params:
        if isinstance(param, typer.core.TyperOption) and not (param.is_flag or param.count):
            valued |= {*param.opts, *param.secondary_opts}
    return frozenset(valued)


def command_word(words: Sequence[str], valued: frozenset[str]) -> str | None:
    """The first of ``words`` that is neither an option nor the value of a root ``valued`` option
    (``--`` ends the search: nothing after it names a command)."""
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            return None
        if word in valued:
            i += 2
            continue
        if not word.startswith("-") or word == "-":
            return word
        i += 1
    return None


def _name(info: CommandInfo) -> str:
    callback: Callable[..., Any] | None = info.callback
    return info.name or get_command_name(callback.__name__ if callback else "")


def narrowed(app: typer.Typer, words: Sequence[str], valued: frozenset[str]) -> typer.Typer:
    """A copy of ``app`` holding what ``words`` (the arguments after the program) need (module
    docstring), ``valued`` being the root's options that take a value; ``app`` itself when the
    words need the whole tree."""
    if os.environ.get(COMPLETE_VAR):
        return app
    word = command_word(words, valued)
    if word is None:
        return _summaries(app)
    commands = [info for info in app.registered_commands if _name(info) == word]
    groups = [info for info in app.registered_groups if info.name == word]
    if not commands and not groups:
        return app
    narrow = _without_commands(app)
    narrow.registered_commands = commands
    narrow.registered_groups = groups
    return narrow


def _without_commands(app: typer.Typer) -> typer.Typer:
    bare = copy.copy(app)
    bare.registered_commands = []
    bare.registered_groups = []
    return bare


def _summary_command(info: CommandInfo) -> CommandInfo:
    """``info`` with a callback that takes nothing and has the same help: listed as it is."""
    help_text = info.help if info.help is not None else inspect.getdoc(info.callback)

    def listed() -> None:  # pragma: no cover - a summary is listed, never run
        """A command shown in the root's help only."""

    summary = copy.copy(info)
    summary.name, summary.help, summary.callback = _name(info), help_text, listed
    return summary


def _summary_group(info: TyperInfo) -> TyperInfo:
    """``info`` with its Typer emptied: the group listed with its help, without subcommands."""
    summary = copy.copy(info)
    if info.typer_instance is not None:
        summary.typer_instance = _without_commands(info.typer_instance)
    return summary


def _summaries(app: typer.Typer) -> typer.Typer:
    narrow = _without_commands(app)
    narrow.registered_commands = [_summary_command(info) for info in app.registered_commands]
    narrow.registered_groups = [_summary_group(info) for info in app.registered_groups]
    return narrow
