"""Whether a task's command needs a shell, and its words when it does not.

A task's ``command`` is shell text (``/bin/sh -c``). Most are one program and its arguments
(``true``, ``ffmpeg -i in.ts -c copy out.mp4``), which the shell would only split on blanks and
exec; starting that program directly saves the shell's own start-up on every run. The decision is
made here, on the text alone, and conservatively: :func:`plain_argv` gives the words only when
running them directly is sure to do exactly what ``sh -c`` would. Anything else is ``None`` and
goes through the shell:

- any character the shell treats specially: quotes, ``\\``, ``$`` and backquotes (expansion),
  ``| & ; < > ( )`` (pipes, lists, redirections, subshells), ``* ? [ ]`` (globs), ``~`` (tilde),
  ``#`` (comments), ``{ } !`` (groups, history, negation), ``=`` in the first word (an
  assignment), ``%`` (job specs), and any control character, newlines included;
- a first word that is a shell keyword or builtin (``exit 3``, ``cd dir``, ``if``, ``export``,
  ``.``), whose meaning a program of that name would not have.

``runtime.processes`` then looks the first word up on the child's ``PATH``; when it is not found
there the shell runs it after all, so a missing program still fails as ``sh`` reports it (exit 127,
"not found" on stderr). Nothing here touches the file system.
"""

from __future__ import annotations

import re

_PLAIN = re.compile(r"[A-Za-z0-9_./:,+@=-]+(?:[ \t]+[A-Za-z0-9_./:,+@=-]+)*")
"""Words of safe characters separated by blanks: nothing a POSIX shell would expand or parse."""

SHELL_WORDS = frozenset(
    {
        # keywords
        *("if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while"),
        *("until", "do", "done", "in", "function", "time", "coproc"),
        # special and regular builtins whose effect is on the shell itself, or differs from
        # a program of the same name
        *(".", ":", "alias", "bg", "break", "builtin", "cd", "command", "continue", "declare"),
        *("eval", "exec", "exit", "export", "fc", "fg", "getopts", "hash", "jobs", "let"),
        *("local", "logout", "read", "readonly", "return", "set", "shift", "source", "trap"),
        *("type", "typeset", "ulimit", "umask", "unalias", "unset", "wait", "times"),
    }
)
"""First words that always go through the shell."""


def plain_argv(command: str) -> list[str] | None:
    """The argv of ``command`` when it is one plain program call, else None (use the shell)."""
    text = command.strip(" \t")
    if not text or _PLAIN.fullmatch(text) is None:
        return None
    words = text.split()
    if "=" in words[0] or words[0] in SHELL_WORDS:
        return None
    return words
