"""The error tree of streamrec.

Every error streamrec raises on purpose derives from :class:`StreamrecError`. The classes below
are defined here unless another module owns the rule they report (``EditError`` in
``spec.editing.ops``, ``ShardError`` in ``core.sharding``, ``GitSyncError`` in
``runtime.gitsync``, ``FetchError`` in ``runtime.fetching``, ``SocketError`` in ``web.server``,
``SlowConfigError`` in ``daemon.configload``). Errors say what happened and what happens next.

Who turns them into answers:

- the command line: each command module of ``cli`` (``cli.app.load`` for ``ConfigError``,
  ``cli.config``, ``cli.tasks``, ``cli.recording``, ``cli.daemon``, ``cli.channels``) catches the
  errors of what it called, prints the message (every located problem for a ``ConfigError``) and
  exits 1 through ``cli.app.fail``;
- the HTTP API: ``web.routes`` answers a ``TaskError`` with 409 and any other
  ``StreamrecError`` with 400, the message as ``{"error": ...}``;
- the daemon logs what it cannot carry out (a rejected config, a git fetch that failed, a socket it
  cannot make private) and runs on; the Python API (``streamrec.api``) raises them to its caller.

::

    StreamrecError
    ├── ConfigError            one or more located problems in the config directory
    │   └── SlowConfigError    loading did not finish within the daemon's deadline; the worker was killed
    ├── StateError             the state directory cannot be read or written
    ├── TaskError
    │   ├── DependenceError    a dependency of the task has not completed
    │   ├── StatusError        the task is running already, or has completed already
    │   ├── CommandError       the command is empty
    │   └── ProcessError       run(check=True) and the command failed
    ├── RecorderError          ffmpeg cannot be found or started
    ├── DaemonError            the daemon is not reachable, or another one owns the state dir
    ├── EditError              a config edit cannot be made as asked (name taken or missing, file unwritable)
    ├── ShardError             a shard specification cannot be understood, or is outside 0..N-1
    ├── GitSyncError           git could not clone, fetch or check out the config repository
    ├── FetchError             a playlist could not be read (network, HTTP status, timeout, too large)
    └── SocketError            the control socket could not be made private; it is not served

``tests/test_error_tree.py`` compares this tree with the classes found by importing every module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class StreamrecError(Exception):
    """The root of every error streamrec raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in a config file: rendered ``path:LINE:COL: message``.

    ``line`` and ``col`` are 1-based; 0 means the position is not known (for example a
    problem with a whole file or a whole directory).
    """

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{self.col}: {self.message}"
        return f"{self.path}: {self.message}"


class ConfigError(StreamrecError):
    """The config directory has one or more problems; each is located."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the config:\n{lines}")

    @classmethod
    def single(cls, path: Path | str, message: str, line: int = 0, col: int = 0) -> ConfigError:
        """One problem at one place."""
        return cls([Problem(str(path), line, col, message)])


class StateError(StreamrecError):
    """The state directory or its log cannot be read or written."""


class TaskError(StreamrecError):
    """A task cannot run, or ran and failed."""


class DependenceError(TaskError):
    """A dependency of the task has not completed (for its current definition)."""


class StatusError(TaskError):
    """The task is in a state that does not allow the request (running, or completed already)."""


class CommandError(TaskError):
    """The task's command is empty or cannot be used."""


class ProcessError(TaskError):
    """``run(check=True)`` was asked and the command did not complete successfully."""


class RecorderError(StreamrecError):
    """A recorder cannot be started: no ffmpeg, or a channel that cannot be recorded."""


class DaemonError(StreamrecError):
    """The daemon is not reachable, another daemon owns the state directory, or its API tokens
    cannot be used (a tokens file readable by others, a bad line, a token given twice)."""
