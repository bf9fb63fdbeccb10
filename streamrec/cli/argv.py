"""Global options anywhere on the line: ``streamrec plan -c DIR`` is ``streamrec -c DIR plan``.

Click reads an option only where its command stands, so the root group's own options (``-c``,
``--log-format``, ``-v``, ``-q``, ...) would be refused after the subcommand. Before click parses,
:func:`hoist_globals` walks the words along the command tree and moves each recognised root option
(with its value: ``-c DIR``, ``-cDIR``, ``--config=DIR``, ``-vv``) in front of the subcommand
path. It leaves alone:

- everything after ``--``;
- the value of a subcommand's own option (``history -O -v`` filters on an object named ``-v``),
  and a subcommand's option that has the same name as a root option (the subcommand's wins);
- the words of a command that passes words through (one that ignores unknown options or takes
  no interspersed options, such as a command line for a task): from its first argument on.

The walk is pure: it reads the command objects and the list, and returns a new list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from typer._click.core import Command
from typer.core import TyperOption as Option

__all__ = ["hoist_globals"]


@dataclass(frozen=True)
class _Options:
    """The option words of one command: which take a value, which do not."""

    valued: frozenset[str]
    flags: frozenset[str]

    @classmethod
    def of(cls, command: Command) -> _Options:
        valued: set[str] = set()
        flags: set[str] = set()
        for param in command.params:
            if not isinstance(param, Option):
                continue
            words = {*param.opts, *param.secondary_opts}
            if param.is_flag or param.count:
                flags |= words
            else:
                valued |= words
        return cls(frozenset(valued), frozenset(flags))

    def __contains__(self, word: str) -> bool:
        return word in self.valued or word in self.flags


def _subcommands(command: Command) -> dict[str, Command]:
    found = getattr(command, "commands", None)
    return found if isinstance(found, dict) else {}


def _passes_words(command: Command) -> bool:
    settings = command.context_settings
    return bool(settings.get("ignore_unknown_options")) or not command.allow_interspersed_args


def _global_words(word: str, following: str | None, roots: _Options) -> list[str] | None:
    """The words of a root option starting at ``word`` (with its value), or None if it is not one."""
    name, eq, _ = word.partition("=")
    if word.startswith("--"):
        if name in roots.valued:
            if eq:
                return [word]
            return None if following is None else [word, following]
        return [word] if word in roots.flags else None
    if not word.startswith("-") or len(word) < 2 or word == "-":
        return None
    head = word[:2]
    if head in roots.valued:
        if len(word) > 2:
            return [word]  # -cDIR
        return None if following is None else [word, following]
    if all(f"-{letter}" in roots.flags for letter in word[1:]):
        return [word]  # -v, -vv, -vq
    return None


def hoist_globals(args: Sequence[str], root: Command) -> list[str]:
    """``args`` with the root's options found after the subcommand moved in front of it."""
    roots = _Options.of(root)
    words = list(args)
    before: list[str] = []  # the root's words before the first subcommand
    hoisted: list[str] = []
    after: list[str] = []  # the subcommand path and its words
    command = root
    passing = False
    i = 0
    while i < len(words):
        word = words[i]
        following = words[i + 1] if i + 1 < len(words) else None
        target = before if command is root else after
        if word == "--" or passing:
            target.extend(words[i:])
            break
        if command is root:
            if word in roots.valued and following is not None:
                before.extend([word, following])
                i += 2
                continue
            if word in _subcommands(root):
                command = _subcommands(root)[word]
                after.append(word)
            else:
                before.append(word)
            i += 1
            continue
        local = _Options.of(command)
        name = word.partition("=")[0] if word.startswith("--") else word[:2]
        found = None if name in local else _global_words(word, following, roots)
        if found is not None:
            hoisted.extend(found)
            i += len(found)
            continue
        if word in local.valued and following is not None:
            after.extend([word, following])
            i += 2
            continue
        children = _subcommands(command)
        if word in children:
            command = children[word]
        elif not word.startswith("-") and _passes_words(command) and not children:
            passing = True
            continue
        after.append(word)
        i += 1
    return [*before, *hoisted, *after]
