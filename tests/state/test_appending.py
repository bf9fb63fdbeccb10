"""Appending to the journal: seq and ts, one line per event, threads, processes, fsync policies."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamrec.core.clock import FakeClock
from streamrec.errors import StateError
from streamrec.state.journal import Journal

HOSTILE = [
    "line\nbreak",
    "carriage\rreturn",
    "crlf\r\n",
    'quote"}\n{"seq": 999, "ts": "x", "type": "forged"}',
    "nul\x00byte",
    "unicode line sep\u2028and para sep\u2029",
    "next line\u0085",
    "lone surrogate \ud800",
    "emoji 🎬 and ı İ ş ğ",
    "\\n literal backslash-n",
]


class TickingClock(FakeClock):
    """A clock that advances by 1.5 ms each time it is read."""

    def now(self) -> datetime:
        moment = super().now()
        self.advance(timedelta(microseconds=1500))
        return moment


def ticking_clock(start: datetime) -> TickingClock:
    """A clock starting at ``start`` that advances by 1.5 ms on each read."""
    return TickingClock(start)


def test_each_event_gets_the_next_seq_and_a_utc_millisecond_timestamp(root: Path) -> None:
    """seq counts up from 1 and ts is UTC ISO 8601 with milliseconds and a Z."""
    start = datetime(2026, 3, 29, 2, 30, 0, 123456, tzinfo=timezone(timedelta(hours=3)))
    with Journal(root, clock=ticking_clock(start)) as journal:
        first = journal.append("daemon.started", pid=42, version="1.0")
        second = journal.append("daemon.stopped", reason="signal")
    assert first == {
        "seq": 1,
        "ts": "2026-03-28T23:30:00.123Z",
        "type": "daemon.started",
        "pid": 42,
        "version": "1.0",
    }
    assert (second["seq"], second["ts"]) == (2, "2026-03-28T23:30:00.124Z")
    assert [json.loads(line) for line in (root / "events.jsonl").read_text().splitlines()] == [
        first,
        second,
    ]


def test_a_fresh_journal_on_an_existing_log_continues_its_seq(root: Path) -> None:
    """Seq continues where the file ends, whichever journal object wrote last."""
    with Journal(root) as one, Journal(root) as two:
        one.append("a")
        two.append("b")
        one.append("c")
        assert [e["seq"] for e in two.read()] == [1, 2, 3]
        assert one.last_seq == two.last_seq == 3


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_string_stays_inside_its_one_line(journal: Journal, value: str) -> None:
    """No field value can add a line to the file or change another field."""
    journal.append("x.hostile", task=value, stdout_tail=value, **{value: value})
    journal.append("after")
    data = (journal.paths.events).read_bytes()
    assert data.count(b"\n") == 2
    events = list(journal.read())
    assert events[0]["task"] == events[0]["stdout_tail"] == events[0][value] == value
    assert [e["seq"] for e in events] == [1, 2]
    assert data.decode("utf-8").splitlines() == data.decode("utf-8").split("\n")[:-1]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.text(), key=st.text(min_size=1).filter(lambda k: k not in {"seq", "ts", "type"}))
def test_any_text_round_trips_through_the_log_on_one_line(
    tmp_path: Path, value: str, key: str
) -> None:
    """Whatever text a field holds, it is read back equal and the event takes exactly one line."""
    root = tmp_path / f"s{time.monotonic_ns()}"
    with Journal(root, fsync="never") as journal:
        written = journal.append("x", **{key: value, "list": [value]})
        assert list(journal.read()) == [written]
    assert (root / "events.jsonl").read_bytes().count(b"\n") == 1


def test_fields_named_seq_ts_or_type_are_refused(journal: Journal) -> None:
    """A caller cannot forge the fields the journal owns."""
    for name in ("seq", "ts", "type"):
        with pytest.raises(ValueError, match=name):
            journal.append("x", **{name: 1})
    assert journal.last_seq == 0


@pytest.mark.parametrize("value", [object(), float("nan"), {1, 2}, b"bytes"])
def test_a_value_that_is_not_json_raises_state_error_and_writes_nothing(
    journal: Journal, value: object
) -> None:
    """A field that JSON cannot carry is refused before any byte is written."""
    journal.append("before")
    with pytest.raises(StateError, match="JSON"):
        journal.append("bad", field=value)
    assert journal.append("after")["seq"] == 2
    assert [e["type"] for e in journal.read()] == ["before", "after"]


def test_extend_writes_several_events_with_one_write(root: Path) -> None:
    """extend() numbers its events consecutively and writes them in a single write()."""
    calls: list[int] = []

    def counting_write(fd: int, data: bytes) -> int:
        calls.append(data.count(b"\n"))
        return os.write(fd, data)

    with Journal(root, write=counting_write) as journal:
        journal.append("first")
        events = journal.extend([("a", {"n": 1}), ("b", {"n": 2}), ("c", {})])
    assert [(e["seq"], e["type"]) for e in events] == [(2, "a"), (3, "b"), (4, "c")]
    assert len({e["ts"] for e in events}) == 1
    assert calls == [1, 3]


def test_threads_sharing_one_journal_get_distinct_consecutive_seqs(root: Path) -> None:
    """Eight threads appending at once produce seqs 1..N with no repeat and no hole."""
    with Journal(root, fsync="never") as journal:

        def work(n: int) -> None:
            for i in range(100):
                journal.append("tick", thread=n, i=i)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [e["seq"] for e in journal.read()] == list(range(1, 801))


WRITER = """
import sys, time
from pathlib import Path
from streamrec.state.journal import Journal
root, name, count, policy, compact_after, go = sys.argv[1:7]
with Journal(Path(root), fsync=policy, compact_after=int(compact_after) or None) as journal:
    print("ready", flush=True)
    while not Path(go).exists():  # start together, so that the writers really contend
        time.sleep(0.001)
    for i in range(int(count)):
        journal.append("tick", writer=name, i=i)
"""


@pytest.mark.parametrize(
    ("policy", "count", "compact_after"),
    [("never", 2000, 0), ("always", 200, 0), ("interval", 1000, 0), ("never", 2000, 300)],
)
def test_processes_appending_at_once_lose_no_event_and_repeat_no_seq(
    tmp_path: Path, root: Path, children: Any, policy: str, count: int, compact_after: int
) -> None:
    """Four writer processes (compacting or not) leave seqs 1..N, each event exactly once."""
    go = tmp_path / "go"
    args = (str(root), str(count), policy, str(compact_after), str(go))
    procs = [children.start(WRITER, args[0], f"w{n}", *args[1:]) for n in range(4)]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
    go.touch()
    for proc in procs:
        _out, err = proc.communicate(timeout=50)
        assert proc.returncode == 0, err
    with Journal(root) as journal:
        events = list(journal.read(include_archive=True))
        assert [e["seq"] for e in events] == list(range(1, 4 * count + 1))
        for n in range(4):
            assert [e["i"] for e in events if e["writer"] == f"w{n}"] == list(range(count))
        assert journal.state()["seq"] == 4 * count
    switches = sum(a["writer"] != b["writer"] for a, b in itertools.pairwise(events))
    assert switches > 10, "the writers did not run at the same time; the test proves nothing"
    if compact_after:
        archived = list((root / "archive").glob("events-*.jsonl"))
        assert len(archived) >= 4 * count // compact_after - 1


LOOPING_WRITER = """
import sys
from pathlib import Path
from streamrec.state.journal import Journal
journal = Journal(Path(sys.argv[1]), fsync="never")
i = 0
while True:
    journal.append("tick", writer=sys.argv[2], i=i, pad="x" * (i % 300))
    i += 1
    if i == 50:
        print("going", flush=True)
"""


def test_writers_killed_mid_stream_leave_a_log_others_keep_appending_to(
    root: Path, children: Any
) -> None:
    """SIGKILL to two of three busy writers loses no written line and breaks no later append."""
    procs = [children.start(LOOPING_WRITER, str(root), f"w{n}") for n in range(3)]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "going\n"
    time.sleep(0.3)
    for proc in procs[:2]:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    time.sleep(0.2)
    procs[2].terminate()
    procs[2].wait(timeout=10)
    for proc in procs:
        proc.communicate()
    with Journal(root) as journal:
        seqs = [e["seq"] for e in journal.read()]
        assert seqs == list(range(1, len(seqs) + 1))
        per_writer = {
            f"w{n}": [e["i"] for e in journal.read() if e["writer"] == f"w{n}"] for n in range(3)
        }
        for numbers in per_writer.values():
            assert numbers == list(range(len(numbers)))
        assert journal.append("after")["seq"] == len(seqs) + 1


def test_always_fsyncs_after_every_append(root: Path) -> None:
    """Under "always" each append is followed by its own fsync."""
    synced: list[int] = []
    with Journal(root, fsync="always", sync=lambda fd: synced.append(fd)) as journal:
        for _ in range(5):
            journal.append("x")
    assert len(synced) == 5


def test_never_leaves_fsync_to_the_os(root: Path) -> None:
    """Under "never" the journal does not fsync the tail at all."""
    synced: list[int] = []
    with Journal(root, fsync="never", sync=lambda fd: synced.append(fd)) as journal:
        for _ in range(5):
            journal.append("x")
    assert synced == []


def test_interval_fsyncs_a_burst_at_once_then_within_a_second(root: Path) -> None:
    """Under "interval" a burst costs one fsync now and one a second later, none per append."""
    synced: list[float] = []
    with Journal(
        root, fsync="interval", sync=lambda fd: synced.append(time.monotonic())
    ) as journal:
        start = time.monotonic()
        for _ in range(200):
            journal.append("x")
        assert len(synced) == 1
        deadline = time.monotonic() + 3
        while len(synced) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(synced) == 2
        assert 0.9 <= synced[1] - start <= 2.0
        assert journal.last_seq == 200


def test_close_fsyncs_what_the_interval_policy_still_owes(root: Path) -> None:
    """Closing an "interval" journal flushes the appends the timer has not synced yet."""
    synced: list[int] = []
    journal = Journal(root, fsync="interval", sync=lambda fd: synced.append(fd))
    journal.append("first")
    journal.append("second")
    assert len(synced) == 1
    journal.close()
    assert len(synced) == 2


def _append_in_child(journal: Journal, count: int) -> None:
    for i in range(count):
        journal.append("child", i=i)


def test_a_forked_child_appends_through_its_own_lock_and_descriptors(root: Path) -> None:
    """A journal inherited over fork() keeps seqs unique between parent and child."""
    with Journal(root, fsync="never") as journal:
        journal.append("parent")
        child = multiprocessing.get_context("fork").Process(
            target=_append_in_child, args=(journal, 200)
        )
        child.start()
        for i in range(200):
            journal.append("parent", i=i)
        child.join(timeout=30)
        assert child.exitcode == 0
        seqs = [e["seq"] for e in journal.read()]
        assert seqs == list(range(1, 402))


def test_an_unknown_fsync_policy_is_refused(root: Path) -> None:
    """A typo in the policy fails loudly instead of silently meaning "never"."""
    with pytest.raises(ValueError, match="fsync"):
        Journal(root, fsync="sometimes")  # type: ignore[arg-type]  # the point of the test


def test_the_fsync_policy_literal_is_the_config_settings_literal() -> None:
    """settings.state_fsync accepts exactly the policies the journal implements."""
    from typing import get_args

    from streamrec.spec.model import FsyncPolicy as ConfigPolicy
    from streamrec.state.journal import FsyncPolicy

    assert get_args(FsyncPolicy) == get_args(ConfigPolicy)
