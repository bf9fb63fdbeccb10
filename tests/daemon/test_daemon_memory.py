"""What the daemon holds: freed memory given back once a minute (``runtime.heaptrim``), only a few
finished files per recorder (the state log is its catalog), and a read model that follows the log
every few seconds rather than catching up an hour at the first request."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from daemonkit import never
from loguru import logger

from streamrec.core.clock import FakeClock
from streamrec.daemon import service
from streamrec.daemon.service import RECORDER_KEEPS, Daemon
from streamrec.daemon.webapi import ReadModel
from streamrec.runtime import heaptrim
from streamrec.runtime.finishing import KEEP_FILES
from streamrec.runtime.heaptrim import SLOW_TRIM, libc_trim, trim_every

needs_glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="malloc_trim is glibc's"
)

FRAGMENT = textwrap.dedent(
    """
    import ctypes, sys
    from streamrec.runtime.heaptrim import libc_trim

    def heap_kb():
        for line in open("/proc/self/status"):
            if line.startswith("RssAnon:"):
                return int(line.split()[1])

    # 60 MB of 1 kB blocks from malloc (past pymalloc's 512 bytes), every hundredth kept: the
    # rest is freed between live blocks, where glibc does not give it back on its own
    blocks = [bytes(1000) for _ in range(60_000)]
    kept = blocks[::100]
    del blocks
    before = heap_kb()
    assert libc_trim()
    after = heap_kb()
    print(before, after, len(kept))
    """
)


@needs_glibc
def test_a_trim_gives_back_memory_freed_between_live_blocks() -> None:
    """Without the trim the freed 59 MB stays resident (glibc returns only the heap's top)."""
    done = subprocess.run(
        [sys.executable, "-c", FRAGMENT], capture_output=True, text=True, check=True
    )
    before, after, _ = (int(word) for word in done.stdout.split())
    assert before - after > 30_000, (before, after)


@needs_glibc
def test_a_trim_of_this_process_is_quick() -> None:
    began = time.monotonic()
    assert libc_trim()
    assert time.monotonic() - began < SLOW_TRIM


async def test_trim_every_trims_until_stopped() -> None:
    stop = asyncio.Event()
    calls: list[float] = []

    def trim() -> bool:
        calls.append(time.monotonic())
        if len(calls) == 3:
            stop.set()
        return True

    await asyncio.wait_for(trim_every(stop, trim, every=0.01), 5)
    assert len(calls) == 3


async def test_trim_every_ends_when_the_c_library_cannot_trim() -> None:
    calls: list[int] = []

    def cannot() -> bool:
        calls.append(1)
        return False

    await asyncio.wait_for(trim_every(asyncio.Event(), cannot, every=0.01), 5)
    assert calls == [1]


async def test_a_slow_trim_is_logged() -> None:
    stop = asyncio.Event()
    readings = iter([0.0, 1.0])

    def trim() -> bool:
        stop.set()
        return True

    warnings: list[str] = []
    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING", format="{message}")
    try:
        await trim_every(stop, trim, every=0.01, monotonic=lambda: next(readings))
    finally:
        logger.remove(sink)
    assert any("took 1000 ms" in w for w in warnings)


@pytest.mark.timeout(60)
async def test_the_daemon_trims_keeps_up_and_its_recorders_keep_few_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(heaptrim, "EVERY", 0.05)
    monkeypatch.setattr(service, "KEEP_UP", 0.05)
    made: dict[str, object] = {}
    kept_up: list[int] = []
    keep_up = ReadModel.keep_up

    def counted(self: ReadModel) -> None:
        kept_up.append(1)
        keep_up(self)

    monkeypatch.setattr(ReadModel, "keep_up", counted)

    class Spy(service.Recording):
        def __init__(self, *args: object, **kwargs: object) -> None:
            made.update(kwargs)
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "Recording", Spy)
    config = tmp_path / "config"
    config.mkdir()
    (config / "tasks.yaml").write_text('tasks:\n  a:\n    command: "true"\n')
    trims: list[int] = []

    def trim() -> bool:
        trims.append(1)
        return True

    clock = FakeClock(datetime(2030, 1, 1, tzinfo=timezone.utc))
    daemon = Daemon(
        config,
        environ={"STREAMREC_STATE_DIR": str(tmp_path / "state")},
        changes=never(),
        clock=clock,
        trim_heap=trim,
    )
    running = asyncio.create_task(daemon.run())
    try:
        deadline = time.monotonic() + 30
        while (len(trims) < 3 or len(kept_up) < 3) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert len(trims) >= 3
        assert len(kept_up) >= 3
        assert made["keep_files"] == RECORDER_KEEPS < KEEP_FILES
    finally:
        daemon.request_shutdown("test over")
        assert await asyncio.wait_for(running, 30) == 0
