"""Names of the API's objects: each one unique among the live objects of its state directory.

A ``Task`` or ``Queue`` object takes a name when it is made and keeps it while it lives; another
live object of the same kind cannot take it, so two objects are never mixed up in the runner, the
state log or ``streamrec status``. Without a state directory the names are the process's; with one
they are the directory's, across processes: each object holds an ``flock`` on
``locks/api-<kind>-<name>.claim`` (its pid written in it, for the message), released when the
object is dropped or the process ends. Names the state directory's config declares (the last
applied snapshot, ``applied.json``) are refused too: such a task is reached by binding to it
(``Task.objects.get(name, config=DIR)``), not by making a new one.

Names left to the API are ``task-<n>`` and ``queue-<n>``: in memory ``n`` counts the process's
objects; in a state directory it is the next number after the highest one the state log has used,
skipping names live objects hold, so separate scripts sharing a directory never reuse a name the
log already knows (a name made but never run may be given out again).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import re
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Literal

from streamrec.core.lifecycle import safe_name
from streamrec.errors import TaskError
from streamrec.state.applied import read_applied
from streamrec.state.paths import StatePaths

Kind = Literal["task", "queue"]
_TABLES = {"task": "tasks", "queue": "queues"}
_LABELS = {"task": "Task", "queue": "Queue"}


class Names:
    """The names held by the live objects of one engine (``paths``: its state directory, or None
    in memory); ``seen`` gives the fold of its state log."""

    def __init__(self, paths: StatePaths | None, seen: Callable[[], dict[str, Any]]) -> None:
        self._paths, self._seen = paths, seen
        self._lock = threading.RLock()  # a finalizer may run while it is held
        self._live: dict[tuple[Kind, str], weakref.ref[Any]] = {}
        self._fds: dict[tuple[Kind, str], int] = {}
        self._counters: dict[Kind, Iterator[int]] = {
            "task": itertools.count(1), "queue": itertools.count(1),
        }  # fmt: skip

    def declared(self, kind: Kind) -> set[str]:
        """The names of the ``kind`` objects the last applied config declares (none in memory)."""
        if self._paths is None:
            return set()
        keys = read_applied(self._paths.applied).definitions
        return {key.partition("/")[2] for key in keys if key.partition("/")[0] == kind}

    def take(self, kind: Kind, name: str | None, owner: object, *, bound: bool = False) -> str:
        """Give ``owner`` the name ``name`` (None: the next free one) for as long as it lives.

        TaskError when a live object holds it (here or in another process), or when it is a
        declared name and ``owner`` is not ``bound`` to the declared object.
        """
        with self._lock:
            if name is not None:
                if not bound and name in self.declared(kind):
                    raise TaskError(
                        f"{name!r} is a {kind} declared in the config applied to "
                        f"{self._paths.root if self._paths else '?'}; an API {kind} cannot take "
                        f"its name: pick another name, or bind to the declared {kind} with "
                        f"{_LABELS[kind]}.objects.get({name!r}, config=CONFIG_DIR)"
                    )
                held = self._hold(kind, name, owner)
                if held is not None:
                    raise TaskError(
                        f"the name {name!r} belongs to another live {_LABELS[kind]} ({held}); "
                        "pick another name, or drop the other object first (del it, or let "
                        "its process end)"
                    )
                return name
            for candidate in self._candidates(kind):
                if self._hold(kind, candidate, owner) is None:
                    return candidate
        raise AssertionError("unreachable: the candidates never end")  # pragma: no cover

    def _candidates(self, kind: Kind) -> Iterator[str]:
        """``<kind>-<n>`` names to try, in order (see the module docstring)."""
        if self._paths is None:
            counter = self._counters[kind]
        else:
            used = set(self._seen().get(_TABLES[kind]) or {}) | self.declared(kind)
            shape = re.compile(rf"{kind}-(\d+)")
            numbers = [int(m[1]) for m in map(shape.fullmatch, used) if m is not None]
            counter = itertools.count(max(numbers, default=0) + 1)
        declared = self.declared(kind)
        for number in counter:
            name = f"{kind}-{number}"
            if name not in declared:
                yield name

    def _hold(self, kind: Kind, name: str, owner: object) -> str | None:
        """Claim ``name`` for ``owner``; None when done, else who holds it (for the message)."""
        key = (kind, name)
        ref = self._live.get(key)
        other = ref() if ref is not None else None
        if other is not None:
            return f"{other!r}, in this process"
        fd = None
        if self._paths is not None:
            self._paths.locks.mkdir(parents=True, exist_ok=True)
            path = self._paths.locks / f"api-{kind}-{safe_name(name)}.claim"
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                return f"in process {pid}"
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            self._fds[key] = fd
        self._live[key] = weakref.ref(owner)
        weakref.finalize(owner, self._release, key, fd)
        return None

    def _release(self, key: tuple[Kind, str], fd: int | None) -> None:
        """Free a name when its object is gone (and its claim file's lock)."""
        with self._lock:
            ref = self._live.get(key)
            if ref is not None and ref() is None:
                del self._live[key]
            if fd is not None and self._fds.get(key) == fd:
                del self._fds[key]
                with contextlib.suppress(OSError):
                    os.close(fd)

    def release_all(self) -> None:
        """Free every claim (at interpreter exit)."""
        with self._lock:
            for fd in self._fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fds.clear()
            self._live.clear()
