"""The one wait of the daemon's periodic loops (``runtime.pause``) and the pid check the config
loader's worker and a run's lock file share (``runtime.processes.process_exists``)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from streamrec.daemon import cluster, service, statekeeper
from streamrec.runtime import heaptrim, supervisor
from streamrec.runtime.pause import stopped_within
from streamrec.runtime.processes import process_exists


def test_the_time_running_out_is_not_a_stop() -> None:
    async def go() -> tuple[bool, float]:
        began = time.monotonic()
        stopped = await stopped_within(asyncio.Event(), 0.05)
        return stopped, time.monotonic() - began

    stopped, took = asyncio.run(go())
    assert not stopped and took >= 0.04


def test_a_stop_ends_the_wait_at_once() -> None:
    async def go() -> tuple[bool, float]:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.02, stop.set)
        began = time.monotonic()
        stopped = await stopped_within(stop, 30.0)
        return stopped, time.monotonic() - began

    stopped, took = asyncio.run(go())
    assert stopped and took < 5.0


def test_a_stop_already_set_does_not_wait_at_all() -> None:
    async def go() -> bool:
        stop = asyncio.Event()
        stop.set()
        return await stopped_within(stop, 30.0)

    assert asyncio.run(asyncio.wait_for(go(), 1.0))


def test_every_periodic_loop_waits_through_it() -> None:
    """The loops named in ``runtime.pause``'s docstring: none writes its own wait any more."""
    for module in (heaptrim, service, statekeeper, cluster, supervisor):
        assert module.stopped_within is stopped_within, module.__name__
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        assert not re.search(r"wait_for\([\w.]+\.wait\(\)", source), module.__name__


def test_a_process_exists_until_it_is_reaped() -> None:
    assert process_exists(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_exists(child.pid)
