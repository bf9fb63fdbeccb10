"""Raising the open-file soft limit to the hard limit, once, when the daemon starts.

Every recording ffmpeg holds pipes in the daemon (stdin, stderr, the segment list, ``-progress``):
about five descriptors per channel, so 500 channels need some 2,500 while many systems start
processes with a soft limit of 1,024. The hard limit is what the process may raise itself to
without privileges; :func:`raise_fd_limit` does that and says what it did, and
``daemon.service`` logs the result once at start-up. A limit that cannot be raised (a platform
without ``RLIMIT_NOFILE``, a container that refuses) is reported, never fatal: the daemon runs
with the limit it has, and a channel whose ffmpeg cannot be spawned is retried by its supervisor.

The ``resource`` module is the one side effect, injected as :class:`Limits` for tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

WANTED_CAP = 1 << 20
"""Never ask for more than this many descriptors, even when the hard limit is unlimited."""


class Limits(Protocol):
    """The part of :mod:`resource` used here."""

    RLIMIT_NOFILE: int
    RLIM_INFINITY: int

    def getrlimit(self, resource: int, /) -> tuple[int, int]: ...

    def setrlimit(self, resource: int, limits: tuple[int, int], /) -> None: ...


@dataclass(frozen=True)
class FdLimit:
    """The open-file limits before and after, and why it was not raised (None if it was or
    needed not be)."""

    before: int
    after: int
    hard: int
    problem: str | None = None

    def describe(self) -> str:
        """One log line."""
        if self.problem is not None:
            return f"open-file limit stays {self.before} (hard {self.hard}): {self.problem}"
        if self.after == self.before:
            return f"open-file limit {self.before} (already the hard limit)"
        return f"open-file limit raised from {self.before} to {self.after}"


def target(soft: int, hard: int, infinity: int) -> int:
    """The soft limit to ask for: the hard one, capped at :data:`WANTED_CAP` when unlimited."""
    if soft == infinity:
        return soft
    if hard == infinity:
        return max(soft, WANTED_CAP)
    return max(soft, hard)


def raise_fd_limit(limits: Limits | None = None) -> FdLimit:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit where allowed (module docstring)."""
    if limits is None:
        try:
            import resource
        except ImportError:  # pragma: no cover - streamrec records on Linux
            return FdLimit(0, 0, 0, "no resource module on this platform")
        limits = resource
    soft, hard = limits.getrlimit(limits.RLIMIT_NOFILE)
    wanted = target(soft, hard, limits.RLIM_INFINITY)
    if wanted == soft:
        return FdLimit(soft, soft, hard)
    try:
        limits.setrlimit(limits.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError) as exc:
        return FdLimit(soft, soft, hard, f"{exc}; channels beyond it may fail to start ffmpeg")
    return FdLimit(soft, wanted, hard)
