"""Shell children in their own process group: spawn, wait, stop politely then firmly, clean up.

Called by the task runner (``runtime.tasks.runner``) for every attempt, and by ``runtime.tasks.files`` to
stop a run that another process owns. One :class:`ShellProcess` is ``/bin/sh -c COMMAND``, or the
program itself when the command is one plain call that the shell would only split into words
(:func:`command_argv`, decided by ``core.shellwords``), started with ``start_new_session`` (so its
pid is its process group id; CPython starts it with ``vfork``, as no ``preexec_fn`` is given), stdin from ``/dev/null`` and
stdout/stderr opened straight onto log files: the child writes the files itself, we never read a
pipe, so no pipe can fill and block it and its output never passes through our memory. The log
files are created private (0600 in 0700 directories, :func:`open_private`).

Starting happens on a small spawner thread (:meth:`ShellProcess.start`): creating the log files and
fork/exec block for a while with the GIL let go, and the event loop goes on meanwhile. Waiting
uses a pidfd watched by the event loop (Linux >= 5.3; elsewhere a short poll), so a thousand
running children cost no thread each. Stopping sends SIGTERM (and SIGCONT, so that a stopped
process can act on it) to the whole group, waits ``grace``, then SIGKILLs what is left. After the
shell exits, whatever it left in its group (a forked background child) is stopped the same way.

Orphans: the process that spawns tasks makes itself a *child subreaper* (``prctl``), so that
processes orphaned inside a task group are re-parented to it and reaped here (``waitpid(-pgid)``),
instead of lingering as zombies under a PID 1 that may never reap them (containers without an init).
No parent-death signal is set: it would need a ``preexec_fn`` (unsafe with threads) and would only
reach the shell, not its children. A runner that dies leaves its task running; the task's pid file
says so (its owner is dead, its group alive), so a new trigger still sees the task as running, and
``task stop`` or the daemon's startup recovery (``taskfiles.interrupted_runs``) ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from streamrec.core.shellwords import plain_argv

_PR_SET_CHILD_SUBREAPER = 36
_POLL = 0.01
"""Seconds between checks while waiting for a group to go away."""
KILL_WAIT = 5.0
"""After SIGKILL, how long to wait for the kernel to remove the group before giving up."""

_subreaper: bool | None = None


def enable_subreaper() -> bool:
    """Make this process the reaper of orphans among its descendants (Linux); once per process."""
    global _subreaper
    if _subreaper is None:
        _subreaper = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                _subreaper = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
            except (OSError, AttributeError):  # no libc symbol: fall back to the /proc scan
                _subreaper = False
    return _subreaper


def start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])  # field 22 of stat(5), counted after "pid (comm)"
    except (IndexError, ValueError):
        return None


def process_exists(pid: int) -> bool:
    """Whether a process ``pid`` exists (a zombie counts; so does another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and another user's
        pass
    return True


def _live_member(pgid: int) -> bool:
    """Whether a process other than a zombie is in group ``pgid`` (scans /proc)."""
    try:
        entries = [p.name for p in Path("/proc").iterdir() if p.name.isdigit()]
    except OSError:
        return True  # no /proc: trust kill(0), which counts zombies too
    for entry in entries:
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def group_alive(pgid: int) -> bool:
    """Whether process group ``pgid`` has a process that is not a zombie."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _live_member(pgid)


def reap_group(pgid: int) -> bool:
    """Collect every exited child of ours in group ``pgid`` (orphans re-parented to us).

    True while children of ours are left in the group (still running).
    """
    while True:
        try:
            pid, _status = os.waitpid(-pgid, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False when the group is gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


async def wait_group_gone(pgid: int, timeout: float, *, reap: bool = False) -> bool:
    """Wait until the group is gone; True if it went within ``timeout``.

    With ``reap`` (the caller is the parent or subreaper) exited members are collected as they
    go, so that the group really disappears; zombies that belong to someone else do not count.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        ours = reap_group(pgid) if reap else False
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        else:
            if not ours and not _live_member(pgid):
                return True  # only zombies that are not ours to reap
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(_POLL)


async def stop_group(pgid: int, grace: float, *, reap: bool = False) -> bool:
    """SIGTERM the group, wait ``grace``, SIGKILL what is left; True if SIGKILL was needed."""
    if not signal_group(pgid, signal.SIGTERM):
        return False
    signal_group(pgid, signal.SIGCONT)
    if await wait_group_gone(pgid, grace, reap=reap):
        return False
    signal_group(pgid, signal.SIGKILL)
    await wait_group_gone(pgid, KILL_WAIT, reap=reap)
    return True


_SPAWNER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="streamrec-spawn")
"""Where children are started: creating the log files and fork/exec block for a while with the
GIL let go, so a start on this thread lets the event loop go on with other runs meanwhile."""


class ShellProcess:
    """One command (through ``/bin/sh -c`` or not) leading its own process group, writing to
    two log files."""

    @classmethod
    async def start(
        cls,
        command: str,
        *,
        cwd: Path,
        env: Mapping[str, str],
        stdout: Path,
        stderr: Path,
        pass_fds: Sequence[int] = (),
    ) -> ShellProcess:
        """Start the child on a spawner thread; OSError when it cannot start.

        A caller canceled meanwhile does not lose the child: it is stopped before the
        cancellation goes on.
        """
        start = functools.partial(
            cls, command, cwd=cwd, env=env, stdout=stdout, stderr=stderr, pass_fds=pass_fds
        )
        started = asyncio.get_running_loop().run_in_executor(_SPAWNER, start)
        try:
            return await asyncio.shield(started)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                proc = await started
                await proc.stop(0.5)
                proc.close()
            raise

    def __init__(
        self,
        command: str,
        *,
        cwd: Path,
        env: Mapping[str, str],
        stdout: Path,
        stderr: Path,
        pass_fds: Sequence[int] = (),
    ) -> None:
        """Start the child now; OSError when it cannot start (e.g. a missing working directory)."""
        enable_subreaper()
        self.out_fd = _open_log(stdout)
        try:
            self.err_fd = _open_log(stderr)
        except OSError:
            os.close(self.out_fd)
            raise
        argv, program = command_argv(command, env, cwd)
        try:
            self.popen = subprocess.Popen(
                argv,
                executable=program,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=self.out_fd,
                stderr=self.err_fd,
                start_new_session=True,
                close_fds=True,
                pass_fds=tuple(pass_fds),
            )
        except OSError:
            self.close()
            raise
        self.pid = self.popen.pid
        self.pgid = self.pid
        self.start_ticks = start_ticks(self.pid)
        self.started = time.monotonic()
        """Monotonic seconds (not the wall time): only the run's duration is taken from it."""
        self.ended: float | None = None
        self.killed = False
        """True when SIGKILL was needed to end the group."""

    @property
    def returncode(self) -> int | None:
        """The shell's exit status (negative: the signal that ended it), None while running."""
        return self.popen.returncode

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for the shell to exit; True if it did, False on timeout (it keeps running)."""
        if self.popen.poll() is not None:
            self._ended()
            return True
        try:
            await asyncio.wait_for(self._exited(), timeout)
        except asyncio.TimeoutError:
            return False
        self._ended()
        return True

    def _ended(self) -> None:
        if self.ended is None:
            self.ended = time.monotonic()

    async def _exited(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            fd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # no pidfd (old kernel, not Linux): poll instead
            delay = 0.001
            while self.popen.poll() is None:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)
            return
        exited: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not exited.done():
                exited.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await exited
        finally:
            loop.remove_reader(fd)
            os.close(fd)
        self.popen.wait()  # readable pidfd: the child has exited, this reaps it at once

    async def stop(self, grace: float) -> None:
        """End the whole group: SIGTERM, ``grace`` seconds, SIGKILL; returns once it is gone."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        if signal_group(self.pgid, signal.SIGTERM):
            signal_group(self.pgid, signal.SIGCONT)
        if await self.wait(grace):
            left = max(0.0, deadline - loop.time())
            if await wait_group_gone(self.pgid, left, reap=True):
                return
        self.killed = True
        signal_group(self.pgid, signal.SIGKILL)
        await self.wait()
        await wait_group_gone(self.pgid, KILL_WAIT, reap=True)

    async def clean_up(self, grace: float) -> bool:
        """Once the shell exited: stop what it left in its group; True if anything was left."""
        if await wait_group_gone(self.pgid, 0.0, reap=True):
            return False
        if await stop_group(self.pgid, grace, reap=True):
            self.killed = True
        return True

    def tails(self, limit: int) -> tuple[str, str]:
        """The last ``limit`` bytes of stdout and stderr, as text (see :func:`read_tail`)."""
        return _tail(self.out_fd, limit), _tail(self.err_fd, limit)

    def close(self) -> None:
        """Let go of our descriptors of the log files (the child has its own)."""
        for fd in (self.out_fd, self.err_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.out_fd = self.err_fd = -1

    def kill_now(self) -> None:
        """SIGKILL the group and reap the shell, without waiting (for interpreter shutdown)."""
        signal_group(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(KILL_WAIT)
        reap_group(self.pgid)


def command_argv(command: str, env: Mapping[str, str], cwd: Path) -> tuple[list[str], str]:
    """``(argv, program)`` to start ``command``: the program itself when the command is plain.

    ``core.shellwords.plain_argv`` says whether the shell can be skipped; the first word is then
    looked up as ``sh`` would (a path with a ``/`` against ``cwd``, else each ``PATH`` entry of
    the child's environment), and remembered as ``sh`` does (checked again before each use). Not found, or a ``PATH`` with a relative entry: the shell runs it,
    so it fails exactly as the shell says (exit 127 and its message).
    """
    words = plain_argv(command)
    program = None if words is None else _cached_program(words[0], env.get("PATH"), cwd)
    if words is None or program is None:
        return ["/bin/sh", "-c", command], "/bin/sh"
    return words, program


_FOUND: dict[tuple[str, str | None, Path | None], str] = {}
"""Programs found by :func:`find_program`, as ``sh`` remembers them (its ``hash``)."""


def _cached_program(word: str, path: str | None, cwd: Path) -> str | None:
    """:func:`find_program`, remembered while the program found is still there and executable."""
    key = (word, path, cwd if "/" in word else None)
    found = _FOUND.get(key)
    if found is not None and _executable(Path(found)):
        return found
    found = find_program(word, path, cwd)
    if found is None:
        _FOUND.pop(key, None)
    elif len(_FOUND) < 1024:
        _FOUND[key] = found
    return found


def find_program(word: str, path: str | None, cwd: Path) -> str | None:
    """Where ``word`` is as an executable file, searched as ``sh`` would; None if not found."""
    if "/" in word:
        found = cwd / word
        return str(found) if _executable(found) else None
    for directory in (os.defpath if path is None else path).split(os.pathsep):
        if not directory.startswith("/"):
            return None  # '' or a relative entry means the child's cwd: leave it to the shell
        found = Path(directory, word)
        if _executable(found):
            return str(found)
    return None


def _executable(path: Path) -> bool:
    return os.access(path, os.X_OK) and path.is_file()


def exit_words(returncode: int | None) -> str:
    """``exit code 3`` or ``killed by SIGKILL``."""
    if returncode is None:
        return "did not start"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def shell_exit_code(returncode: int | None) -> int | None:
    """The exit status as a shell shows it: a death by signal N is 128 + N."""
    if returncode is None or returncode >= 0:
        return returncode
    return 128 - returncode


def open_private(path: Path, flags: int) -> int:
    """``os.open`` of a file in the state dir: mode 0600, close-on-exec, missing parents 0700.

    The same rule as ``state.private`` (which ``runtime`` may not import): task logs hold output
    tails, and run files say what runs; only their owner may read them. The umask is left alone.
    """
    try:
        return os.open(path, flags | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        if not flags & os.O_CREAT:
            raise
        missing = [path.parent, *(p for p in path.parent.parents)]
        for directory in reversed(missing[: next(i for i, p in enumerate(missing) if p.exists())]):
            with contextlib.suppress(FileExistsError):
                directory.mkdir(mode=0o700)
                directory.chmod(0o700)
        return os.open(path, flags | os.O_CLOEXEC, 0o600)


def _open_log(path: Path) -> int:
    """A log file opened for appending (and reading back its tail), private (see above)."""
    return open_private(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)


def _tail(fd: int, limit: int) -> str:
    try:
        size = os.fstat(fd).st_size
        data = os.pread(fd, limit, max(0, size - limit))
    except OSError:
        return ""
    return _tail_text(data, size > limit)


def read_tail(path: Path, limit: int) -> str:
    """The last ``limit`` bytes of a file as text (invalid UTF-8 replaced), '' if missing."""
    try:
        with path.open("rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - limit))
            data = file.read(limit)
    except OSError:
        return ""
    return _tail_text(data, size > limit)


def _tail_text(data: bytes, cut: bool) -> str:
    if cut:
        # drop a partial first line (or a split UTF-8 sequence) where the tail was cut
        newline = data.find(b"\n")
        if 0 <= newline < len(data) - 1:
            data = data[newline + 1 :]
    return data.decode("utf-8", errors="replace")
