"""Giving the C allocator's free memory back to the system, once a minute, in the daemon.

CPython keeps small objects in arenas of its own and unmaps an arena once it is empty; anything
larger than 512 bytes (a pipe read, a line of ffmpeg's stderr, an encoded event, a list of
paths) comes from the C library's ``malloc``. glibc's ``malloc`` keeps what is freed for reuse,
and gives pages back to the system only from the top of a heap, past a threshold that grows
after large blocks are freed. Measured in a 20-channel daemon (``mallinfo2``), every config edit
that restarted all channels left about 4 MB free in glibc's heap, resident until a later burst
reused it; the daemon's memory curve showed it as steps.

``malloc_trim(0)`` releases the free pages inside every arena (glibc 2.8 and later); the blocks
stay where they are, so nothing is copied and no pointer changes. :func:`trim_every` calls it
once every :data:`EVERY` seconds on the daemon's loop. A trim takes a few milliseconds (2 ms in
a process with the command line loaded); ``tests/daemon/test_daemon_memory.py`` checks that
one stays under :data:`SLOW_TRIM` seconds, and a slower one is logged. Where the C library has no
``malloc_trim`` (musl, macOS) nothing is done and :func:`libc_trim` says so once.

The C library is the one side effect, reached through :mod:`ctypes` and injected as a
``Callable[[], bool]`` for tests.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import time
from collections.abc import Callable

from streamrec.log import logger
from streamrec.runtime.pause import stopped_within

EVERY = 60.0
"""Seconds between two trims."""
SLOW_TRIM = 0.05
"""A trim that blocks the loop longer than this many seconds is logged as a warning."""

Trim = Callable[[], bool]
"""Gives free memory back; True when the C library could."""


def _load_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        function = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    trim: Callable[[int], int] = function
    return trim


class LibcTrim:
    """``malloc_trim(0)`` of the process's C library, looked up once on the first call."""

    def __init__(self) -> None:
        self._function: Callable[[int], int] | None = None
        self._looked = False

    def __call__(self) -> bool:
        if not self._looked:
            self._looked = True
            self._function = _load_trim()
            if self._function is None:
                logger.info("this C library has no malloc_trim: freed memory stays with it")
        if self._function is None:
            return False
        self._function(0)
        return True


libc_trim = LibcTrim()
"""The process's ``malloc_trim(0)`` (see the module docstring)."""


async def trim_every(
    stop: asyncio.Event,
    trim: Trim = libc_trim,
    *,
    every: float | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> None:
    """Call ``trim`` every ``every`` seconds (:data:`EVERY` when not given) until ``stop`` is
    set, or until the C library turns out to have no ``malloc_trim``."""
    every = EVERY if every is None else every
    while not await stopped_within(stop, every):
        began = monotonic()
        if not trim():
            return
        took = monotonic() - began
        if took > SLOW_TRIM:
            logger.warning("giving freed memory back took {:.0f} ms", took * 1000)
