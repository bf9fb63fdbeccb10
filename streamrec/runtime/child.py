"""One ffmpeg child process: spawned from an argument list, read through its pipes, stopped politely.

Used by the recorder (``runtime.ffmpegrun``) for every start of ffmpeg. The child:

- is spawned from an argument list, never through a shell (dash, Debian's sh, does not exec its last
  command, so signals would reach the shell and not ffmpeg);
- gets its own session and process group (a Ctrl-C in our terminal is not its Ctrl-C: we decide
  how it stops) and a parent-death signal (SIGTERM via ``prctl(PR_SET_PDEATHSIG)`` on Linux), so a
  killed streamrec does not leave it recording alone; ffmpeg closes its file on SIGTERM, and a
  stalled input ends at ``-rw_timeout`` anyway. The signal is set by util-linux's
  ``setpriv --pdeathsig TERM``, which then execs ffmpeg (same pid, the signal survives exec), so no
  Python code runs between fork and exec and the spawn can use ``vfork``: a ``preexec_fn`` makes
  every spawn copy the daemon's page tables while the event loop waits (tens of ms each, most of
  the cost of starting 500 channels). Without ``setpriv`` on PATH, or for a program that is not
  found (the spawn then fails as before), the ``prctl`` runs in a ``preexec_fn``;
- receives two extra pipes with :func:`os.pipe` + ``pass_fds``: one for the segment list, one for
  ``-progress``. ``make_argv(segment_fd, progress_fd)`` builds the command with their numbers.

:meth:`FfmpegChild.stop` is the stop ladder: ``q`` on stdin, then SIGINT, SIGINT again, then
SIGKILL, each step bounded by ``step`` seconds and logged (a stalled ffmpeg ignores ``q`` and the
first SIGINT).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import shutil
import signal
import sys
from collections import deque
from collections.abc import Callable, Sequence

from streamrec.errors import RecorderError
from streamrec.log import logger

_LEVEL = re.compile(r"^(?:\[[^\]]* @ [^\]]*\] )?(\[(\w+)\] )")
_CHATTY = frozenset({"info", "verbose", "debug", "trace"})
_PR_SET_PDEATHSIG = 1
_prctl: Callable[..., int] | None = None
if sys.platform.startswith("linux"):  # pragma: no branch - streamrec records on Linux
    with contextlib.suppress(OSError, AttributeError):
        _prctl = ctypes.CDLL(None, use_errno=True).prctl


SETPRIV = shutil.which("setpriv") if _prctl is not None else None
"""util-linux ``setpriv``, which sets the parent-death signal and execs the program."""


def with_parent_death(
    argv: Sequence[str], setpriv: str | None, which: Callable[[str], str | None] = shutil.which
) -> list[str] | None:
    """``argv`` behind ``setpriv --pdeathsig TERM --``, or None when that cannot be used (no
    ``setpriv``, or the program is not found: spawning it must fail as itself, not as setpriv)."""
    if setpriv is None or not argv or which(argv[0]) is None:
        return None
    return [setpriv, "--pdeathsig", "TERM", "--", *argv]


def _in_child() -> None:
    """Runs in the forked child before exec: die (politely) when the parent dies."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class FfmpegChild:
    """A running ffmpeg (or a stand-in with the same interface) and its two reporting pipes."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        segments: asyncio.StreamReader,
        progress: asyncio.StreamReader,
        label: str,
    ) -> None:
        self.proc = proc
        self.segments = segments
        self.progress = progress
        self.label = label
        self.stderr_tail: deque[str] = deque(maxlen=20)
        self.stop_step_taken = ""
        self._exit: asyncio.Future[int] | None = None

    @property
    def pid(self) -> int:
        """The child's process id (also its process group id)."""
        return self.proc.pid

    @classmethod
    async def spawn(
        cls,
        make_argv: Callable[[int, int], Sequence[str]],
        *,
        label: str,
        env: dict[str, str] | None = None,
        setpriv: str | None = SETPRIV,
    ) -> FfmpegChild:
        """Start the child with fresh segment-list and progress pipes (``setpriv``: module
        docstring; None to set the parent-death signal in a ``preexec_fn``)."""
        loop = asyncio.get_running_loop()
        seg_r, seg_w = os.pipe()
        prog_r, prog_w = os.pipe()
        try:
            argv = list(make_argv(seg_w, prog_w))
            wrapped = with_parent_death(argv, setpriv)
            proc = await asyncio.create_subprocess_exec(
                *(wrapped or argv),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(seg_w, prog_w),
                start_new_session=True,
                preexec_fn=None if wrapped else _in_child,  # a prctl call, resolved before fork
                env=env,
            )
        except OSError as exc:
            for fd in (seg_r, prog_r):
                os.close(fd)
            raise RecorderError(f"{label}: cannot start ffmpeg: {exc}") from None
        finally:
            os.close(seg_w)
            os.close(prog_w)
        readers = []
        for fd in (seg_r, prog_r):
            reader = asyncio.StreamReader(limit=1 << 20)
            await loop.connect_read_pipe(
                lambda r=reader: asyncio.StreamReaderProtocol(r),  # type: ignore[misc]
                os.fdopen(fd, "rb", buffering=0),
            )
            readers.append(reader)
        return cls(proc, readers[0], readers[1], label)

    async def read_stderr(self, on_line: Callable[[str], None]) -> None:
        """Pass each stderr line to ``on_line`` until ffmpeg closes it; keep the last problems.

        With ``-loglevel level+info`` each line carries its level (``[hls @ 0x..] [info] ...``):
        the tag is dropped, and only lines above ``info`` go into :attr:`stderr_tail`, the
        reason given when a run ends.
        """
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            text = line.decode("utf-8", "replace").rstrip()
            if not text:
                continue
            level = _LEVEL.search(text)
            if level is not None:
                text = text[: level.start(1)] + text[level.end(1) :]
            if level is None or level.group(2) not in _CHATTY:
                self.stderr_tail.append(text)
            on_line(text)

    @property
    def exited(self) -> bool:
        """Whether the child has exited (and been reaped)."""
        return self.proc.returncode is not None

    @property
    def exit(self) -> asyncio.Future[int]:
        """Done when the child has exited (one waiter for its whole life: cheap to poll)."""
        if self._exit is None:
            self._exit = asyncio.ensure_future(self.proc.wait())
        return self._exit

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for the child to exit; False if it is still running after ``timeout`` seconds."""
        done, _ = await asyncio.wait({self.exit}, timeout=timeout)
        return bool(done)

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    async def stop(self, step: float = 3.0) -> str:
        """The stop ladder: ``q``, SIGINT, SIGINT, SIGKILL; returns the step that worked."""
        if self.exited:
            return "exited"
        ladder: list[tuple[str, Callable[[], None]]] = [
            ("q", self._send_q),
            ("SIGINT", lambda: self._signal(signal.SIGINT)),
            ("second SIGINT", lambda: self._signal(signal.SIGINT)),
        ]
        for name, action in ladder:
            logger.debug("{}: stopping ffmpeg (pid {}) with {}", self.label, self.pid, name)
            action()
            if await self.wait(step):
                self.stop_step_taken = name
                logger.debug("{}: ffmpeg stopped after {}", self.label, name)
                return name
            logger.info("{}: ffmpeg ignored {} for {:g}s", self.label, name, step)
        logger.warning("{}: ffmpeg did not stop, killing it (SIGKILL)", self.label)
        self._signal(signal.SIGKILL)
        await self.wait()
        self.stop_step_taken = "SIGKILL"
        return "SIGKILL"

    def _send_q(self) -> None:
        stdin = self.proc.stdin
        if stdin is None or stdin.is_closing():
            return
        with contextlib.suppress(OSError, RuntimeError):
            stdin.write(b"q")

    def kill(self) -> None:
        """SIGKILL the child's process group at once (used on errors and cancellation)."""
        self._signal(signal.SIGKILL)
