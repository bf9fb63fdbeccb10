"""How the event loop learns that a child exited: a pidfd per child, not a thread per child.

Python 3.11's asyncio waits for each subprocess in a thread of its own (``ThreadedChildWatcher``),
so a daemon recording 500 channels runs 500 extra threads, each blocked in ``waitpid``. On Linux
5.3 and later, ``PidfdChildWatcher`` puts a pidfd per child into the loop's selector instead: no
thread at all. Python 3.12 picks that by itself, so :func:`use_pidfd_watcher` only acts on older
versions; ``daemon.service`` runs inside :func:`pidfd_watching`, which puts the watcher that was
there before back when the daemon ends (asyncio's watcher is global to the process: one left
attached to a closed loop would break subprocesses of any later loop in the same process, a test
run or a script using the Python API). Where pidfds are not available the default watcher stays
(it works, with its threads).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import warnings
from collections.abc import Iterator


def pidfd_usable() -> bool:
    """Whether this kernel and Python offer pidfds (one ``pidfd_open`` on ourselves)."""
    if not hasattr(os, "pidfd_open") or not hasattr(asyncio, "PidfdChildWatcher"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


def use_pidfd_watcher() -> bool:
    """Install ``PidfdChildWatcher`` for this process on Python < 3.12 where pidfds work (attached
    to the running loop, if called from one, and to every loop set afterwards); whether children
    are now watched by pidfd (True on 3.12+ where that is the default already)."""
    if sys.version_info >= (3, 12):
        return pidfd_usable()
    if not pidfd_usable():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        current = asyncio.get_child_watcher()
        if isinstance(current, asyncio.PidfdChildWatcher):
            return True
        watcher = asyncio.PidfdChildWatcher()
        asyncio.set_child_watcher(watcher)  # attached to each loop set later (asyncio.run)
        with contextlib.suppress(RuntimeError):  # and to the loop running now, if any
            watcher.attach_loop(asyncio.get_running_loop())
    return True


@contextlib.contextmanager
def pidfd_watching() -> Iterator[bool]:
    """:func:`use_pidfd_watcher` for the ``with`` block (whether children are watched by pidfd);
    afterwards the watcher of before is set again (on Python < 3.12, where one was replaced)."""
    if sys.version_info >= (3, 12):
        yield pidfd_usable()
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        before = asyncio.get_child_watcher()
    try:
        yield use_pidfd_watcher()
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            now = asyncio.get_child_watcher()
            if now is not before:
                asyncio.set_child_watcher(before)
                with contextlib.suppress(RuntimeError):
                    before.attach_loop(asyncio.get_running_loop())
                now.close()
