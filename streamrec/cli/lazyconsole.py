"""The command line's two consoles, made on first use: rich is imported when one first prints.

Importing rich's console costs more than the rest of ``streamrec --help``, and most commands print
through :func:`streamrec.cli.output.write`, which needs the console's file only. A
:class:`LazyConsole` stands in for a ``rich.console.Console`` built with the options every console
of the command line has (no highlighting, soft wrap, no markup, no emoji codes; a piped standard
output 200 columns wide, so tables are drawn at full width, not the 80 columns rich assumes):

- reading ``file`` answers what the console would write to (the file set, else standard error or
  output as they are now) without building it;
- setting an attribute before the console exists keeps it, and applies it when it is built;
- reading ``is_terminal`` answers False without building it when the file is not a terminal and
  nothing forces one (no ``TTY_COMPATIBLE`` nor ``FORCE_COLOR`` in the environment, no
  ``force_terminal`` set): what rich would answer then;
- anything else (``print``, ``capture``, ``is_terminal``, ``width``...) builds the console once
  and is answered by it. rich's own objects that keep a console (``Live``, ``Progress``) are given
  the console itself, :func:`real`, since they also use it as a context manager, which a stand-in
  cannot forward.

The standard streams are looked up when the console is built or its file read, never at import,
so a test harness that replaces them gets the output.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["PIPED_WIDTH", "LazyConsole", "built", "real"]

PIPED_WIDTH = 200
"""The width of standard output when it is not a terminal."""


class _Stand:
    """The real state of a :class:`LazyConsole`, kept apart from the names it forwards."""

    def __init__(self, stderr: bool) -> None:
        self.stderr = stderr
        self.console: Console | None = None
        self.pending: dict[str, Any] = {}

    def build(self) -> Console:
        """The rich console, built on the first call with the pending attributes applied."""
        if self.console is None:
            from rich.console import Console

            console = Console(
                stderr=self.stderr, highlight=False, soft_wrap=True, markup=False, emoji=False
            )
            if not self.stderr and not console.is_terminal:
                console.width = PIPED_WIDTH
            for name, value in self.pending.items():
                setattr(console, name, value)
            self.pending.clear()
            self.console = console
        return self.console


class LazyConsole:
    """A ``rich.console.Console`` built on first use; see the module docstring."""

    _stand: _Stand

    def __new__(cls, stderr: bool = False) -> Console:  # type: ignore[misc]
        # Typed as the Console it stands for: callers use it as one.
        self = object.__new__(cls)
        object.__setattr__(self, "_stand", _Stand(stderr))
        return cast("Console", self)

    @property
    def file(self) -> Any:
        """The file the console writes to, read without building it when possible."""
        stand = self._stand
        if stand.console is not None:
            return stand.console.file
        file = stand.pending.get("file") or (sys.stderr if stand.stderr else sys.stdout)
        file = getattr(file, "rich_proxied_file", file)
        return stand.build().file if file is None else file

    @property
    def is_terminal(self) -> bool:
        """Whether the console writes to a terminal, answered without building it when rich's
        answer can only be False (see the module docstring)."""
        stand = self._stand
        forced = "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ
        if stand.console is None and not forced and "force_terminal" not in stand.pending:
            isatty = getattr(self.file, "isatty", None)
            try:
                if isatty is None or not isatty():
                    return False
            except ValueError:  # a closed file: rich answers False too
                return False
        return bool(stand.build().is_terminal)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stand.build(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        stand = self._stand
        if stand.console is None:
            stand.pending[name] = value
        else:
            setattr(stand.console, name, value)


def real(console: Console) -> Console:
    """The rich console ``console`` stands for (built now if need be), or ``console`` itself."""
    if isinstance(console, LazyConsole):
        return console._stand.build()
    return console


def built(console: Console) -> bool:
    """Whether ``console`` is a rich console, or a :class:`LazyConsole` that built its own."""
    return not isinstance(console, LazyConsole) or console._stand.console is not None
