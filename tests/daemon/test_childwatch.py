"""Children watched by pidfd, not by a thread each (``runtime.childwatch``)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from streamrec.runtime.childwatch import pidfd_usable, pidfd_watching


@pytest.mark.skipif(not pidfd_usable(), reason="no pidfds on this kernel")
def test_many_children_need_no_thread_each() -> None:
    async def main() -> int:
        procs = [await asyncio.create_subprocess_exec("sleep", "5") for _ in range(20)]
        threads = threading.active_count()
        for proc in procs:
            proc.kill()
        await asyncio.gather(*(proc.wait() for proc in procs))
        return threads

    before = threading.active_count()
    with pidfd_watching() as pidfd:
        assert pidfd
        during = asyncio.run(main())
    assert during - before < 5  # a thread per child would add 20


@pytest.mark.skipif(not pidfd_usable(), reason="no pidfds on this kernel")
def test_installed_from_a_running_loop_it_serves_that_loop() -> None:
    """What the daemon does: installed from inside ``asyncio.run``, then children spawned."""

    async def main() -> int:
        with pidfd_watching() as pidfd:
            assert pidfd
            proc = await asyncio.create_subprocess_exec("true")
            return await proc.wait()

    assert asyncio.run(main()) == 0


def test_calling_it_twice_is_harmless() -> None:
    with pidfd_watching() as first, pidfd_watching() as second:
        assert first == second


@pytest.mark.skipif(not pidfd_usable(), reason="no pidfds on this kernel")
def test_after_the_block_a_later_loop_spawns_children_again() -> None:
    """What a daemon run leaves behind: the watcher of before, so a new loop, which the pidfd
    watcher of a closed loop would refuse ("not activated"), spawns and waits for a child."""

    async def daemon_like() -> bool:
        with pidfd_watching() as pidfd:
            proc = await asyncio.create_subprocess_exec("true")
            await proc.wait()
            return pidfd

    assert asyncio.run(daemon_like())
    loop = asyncio.new_event_loop()  # not set as the current loop, as some libraries do
    try:

        async def later() -> int:
            proc = await asyncio.create_subprocess_exec("true")
            return await proc.wait()

        assert loop.run_until_complete(later()) == 0
    finally:
        loop.close()
