"""Group commit: appends made while an fsync is in flight share the next one, and nobody is told
"done" before the fsync that covers its line."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import threading
import time
from pathlib import Path

import pytest

from streamrec.core.events import Event, TaskSkipped
from streamrec.errors import StateError
from streamrec.state.journal import Journal


class GatedSync:
    """An fsync seam that records the file size it made durable and can be held closed."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Semaphore(0)
        self.durable: list[int] = []
        """File size at each fsync, in order."""

    def __call__(self, fd: int) -> None:
        self.entered.release()
        assert self.gate.wait(10), "the test never opened the gate"
        self.durable.append(os.fstat(fd).st_size)

    def hold(self) -> None:
        """From now on, fsyncs wait until the gate is opened; forget the ones done so far."""
        self.durable.clear()
        self.entered = threading.Semaphore(0)
        self.gate.clear()

    def covered(self, offset: int) -> bool:
        """Whether an fsync has made the file durable up to ``offset``."""
        return any(size >= offset for size in self.durable)


def line_ends(root: Path) -> dict[int, int]:
    """seq -> the offset just past its line."""
    ends, offset = {}, 0
    for line in (root / "events.jsonl").read_bytes().splitlines(keepends=True):
        offset += len(line)
        ends[json.loads(line)["seq"]] = offset
    return ends


def test_appenders_waiting_on_an_fsync_share_the_next_and_return_only_once_it_is_done(
    root: Path,
) -> None:
    """One fsync in flight, three threads append meanwhile: one more fsync covers all three."""
    sync = GatedSync()
    with Journal(root, sync=sync) as journal:
        journal.append("warm.up")
        sync.hold()
        returned: dict[str, tuple[int, bool]] = {}

        def append(name: str) -> None:
            seq = journal.append("test.event", name=name)["seq"]
            returned[name] = (seq, sync.covered(line_ends(root)[seq]))

        first = threading.Thread(target=append, args=("first",))
        first.start()
        assert sync.entered.acquire(timeout=5)  # its fsync is in flight, and held
        others = [threading.Thread(target=append, args=(n,)) for n in ("a", "b", "c")]
        for thread in others:
            thread.start()
        time.sleep(0.2)
        assert returned == {}, "an appender returned before its fsync was done"
        sync.gate.set()
        for thread in [first, *others]:
            thread.join(10)
    assert len(returned) == 4
    assert all(covered for _seq, covered in returned.values()), returned
    assert len(sync.durable) == 2  # the first append's fsync, then one for the other three
    seqs = [e["seq"] for e in Journal(root).read()]
    assert seqs == [1, 2, 3, 4, 5]


def test_many_threads_land_every_event_once_in_order_with_fewer_fsyncs_than_appends(
    root: Path,
) -> None:
    """Eight threads, 50 appends each: each thread's events in its order, seqs 1..400."""
    fsyncs: list[int] = []

    def slow_sync(fd: int) -> None:
        fsyncs.append(fd)
        time.sleep(0.002)

    with Journal(root, sync=slow_sync) as journal:

        def worker(n: int) -> None:
            for i in range(50):
                journal.append("test.event", name=f"{n}:{i}")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        batches = journal.batches
    events = list(Journal(root).read())
    assert [e["seq"] for e in events] == list(range(1, 401))
    for n in range(8):
        mine = [int(e["name"].split(":")[1]) for e in events if e["name"].startswith(f"{n}:")]
        assert mine == list(range(50))
    assert len(fsyncs) == batches < 400


def test_async_appends_share_fsyncs_and_resolve_only_after_theirs(root: Path) -> None:
    """Coroutines awaiting ``append_async`` are resolved once an fsync covers their line."""
    sync = GatedSync()

    async def main(journal: Journal) -> list[dict[str, object]]:
        journal.append("warm.up")
        sync.hold()
        first = asyncio.ensure_future(journal.append_async(_event("first")))
        await asyncio.to_thread(sync.entered.acquire, True, 5)
        rest = [asyncio.ensure_future(journal.append_async(_event(f"e{i}"))) for i in range(5)]
        await asyncio.sleep(0.2)
        assert not first.done() and not any(f.done() for f in rest)
        sync.gate.set()
        written = await asyncio.gather(first, *rest)
        ends = line_ends(root)
        assert all(sync.covered(ends[int(str(w["seq"]))]) for w in written)
        return written

    with Journal(root, sync=sync) as journal:
        written = asyncio.run(main(journal))
    assert [w["task"] for w in written] == ["first", *(f"e{i}" for i in range(5))]
    assert [w["seq"] for w in written] == [2, 3, 4, 5, 6, 7]
    assert len(sync.durable) == 2


def _event(name: str) -> Event:
    """A small event for ``append_async`` (which takes records only)."""
    return TaskSkipped(task=name, reason="already_running", trigger="cli", detail="test")


def test_a_failed_fsync_fails_every_appender_of_its_batch_and_leaves_the_log_unchanged(
    root: Path,
) -> None:
    """No one in a batch whose fsync failed is told "done", and none of its lines stays."""
    sync = GatedSync()
    failing = threading.Event()

    def seam(fd: int) -> None:
        sync(fd)
        if failing.is_set():
            raise OSError(errno.EIO, os.strerror(errno.EIO))

    with Journal(root, sync=seam) as journal:
        journal.append("warm.up")
        before = (root / "events.jsonl").read_bytes()
        sync.hold()
        errors: list[str] = []

        def append() -> None:
            try:
                journal.append("test.event")
            except StateError as exc:
                errors.append(str(exc))

        first = threading.Thread(target=append)
        first.start()
        assert sync.entered.acquire(timeout=5)
        failing.set()
        others = [threading.Thread(target=append) for _ in range(3)]
        for thread in others:
            thread.start()
        time.sleep(0.1)
        sync.gate.set()
        for thread in [first, *others]:
            thread.join(10)
        assert len(errors) == 4 and all("not recorded" in e for e in errors)
        assert (root / "events.jsonl").read_bytes() == before
        failing.clear()
        assert journal.append("after")["seq"] == 2


def test_an_event_that_is_not_json_fails_alone_in_its_batch(root: Path) -> None:
    """A bad event takes no seq and fails only its own appender; the rest of the batch lands."""
    sync = GatedSync()
    with Journal(root, sync=sync) as journal:
        journal.append("warm.up")
        sync.hold()
        outcome: dict[str, object] = {}

        def append(name: str, value: object) -> None:
            try:
                outcome[name] = journal.append("test.event", name=name, value=value)["seq"]
            except StateError as exc:
                outcome[name] = exc

        first = threading.Thread(target=append, args=("first", 1))
        first.start()
        assert sync.entered.acquire(timeout=5)
        batch = [
            threading.Thread(target=append, args=(name, value))
            for name, value in (("good", 2), ("bad", object()), ("also-good", 3))
        ]
        for thread in batch:
            thread.start()
            time.sleep(0.05)  # queued in this order
        sync.gate.set()
        for thread in [first, *batch]:
            thread.join(10)
    assert isinstance(outcome["bad"], StateError)
    assert [outcome["first"], outcome["good"], outcome["also-good"]] == [2, 3, 4]
    assert [e["seq"] for e in Journal(root).read()] == [1, 2, 3, 4]


@pytest.mark.parametrize("policy", ["interval", "never"])
def test_async_appends_without_fsync_are_written_at_once(root: Path, policy: str) -> None:
    """With no fsync to wait for, ``append_async`` writes before it first yields."""

    async def main(journal: Journal) -> None:
        pending = asyncio.ensure_future(journal.append_async(_event("x")))
        await asyncio.sleep(0)
        assert pending.done()

    with Journal(root, fsync=policy) as journal:  # type: ignore[arg-type]
        asyncio.run(main(journal))
    assert [e["task"] for e in Journal(root).read()] == ["x"]
