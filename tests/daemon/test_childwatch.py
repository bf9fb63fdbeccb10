"""Children watched by pidfd, not by a thread each (``runtime.childwatch``)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from streamrec.runtime.childwatch import pidfd_usable, use_pidfd_watcher


@pytest.mark.skipif(not pidfd_usable(), reason="no pidfds on this kernel")
def test_many_children_need_no_thread_each() -> None:
    assert use_pidfd_watcher()

    async def main() -> int:
        procs = [await asyncio.create_subprocess_exec("sleep", "5") for _ in range(20)]
        threads = threading.active_count()
        for proc in procs:
            proc.kill()
        await asyncio.gather(*(proc.wait() for proc in procs))
        return threads

    before = threading.active_count()
    during = asyncio.run(main())
    assert during - before < 5  # a thread per child would add 20


@pytest.mark.skipif(not pidfd_usable(), reason="no pidfds on this kernel")
def test_installed_from_a_running_loop_it_serves_that_loop() -> None:
    """What the daemon does: installed from inside ``asyncio.run``, then children spawned."""

    async def main() -> int:
        asyncio.set_child_watcher(asyncio.ThreadedChildWatcher())
        assert use_pidfd_watcher()
        proc = await asyncio.create_subprocess_exec("true")
        return await proc.wait()

    assert asyncio.run(main()) == 0


def test_calling_it_twice_is_harmless() -> None:
    assert use_pidfd_watcher() == use_pidfd_watcher()
