"""The read view: equal to the full fold of the same log, copied only where events reached."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest

from streamrec.state.channelfiles import ChannelFiles
from streamrec.state.fold import fold
from streamrec.state.journal import Journal
from streamrec.state.readview import Changes, ReadView, Writes, publish

CHANNELS = ("a", "b", "c")
TASKS = ("t1", "t2")


def _random_event(rng: random.Random, n: int) -> tuple[str, dict[str, Any]]:
    """One event of a type the fold reduces, on a few objects so that they collide often."""
    channel, task = rng.choice(CHANNELS), rng.choice(TASKS)
    file = f"/rec/{channel}/{rng.randrange(6)}.mkv"
    choices: list[tuple[str, dict[str, Any]]] = [
        ("recording.started", {"channel": channel, "file": file, "pid": n}),
        (
            "recording.segment",
            {"channel": channel, "file": file, "start": f"s{n}", "end": f"e{n}",
             "duration": 10.0, "bytes": n},
        ),
        ("recording.segment", {"channel": channel, "file": file, "bytes": n}),
        ("recording.stopped", {"channel": channel, "reason": "done"}),
        ("recording.stalled", {"channel": channel, "reason": "stall"}),
        ("recording.reconnecting", {"channel": channel, "attempt": n}),
        ("recording.gap", {"channel": channel, "start": f"g{n}", "end": None, "cause": "x"}),
        ("recording.processed", {"file": file, "status": "ok"}),
        ("retention.deleted", {"file": file}),
        ("task.started", {"task": task, "run": n % 4, "trigger": rng.choice(["api", "cron"])}),
        ("task.finished", {"task": task, "run": n % 4, "status": "failed", "exit_code": 1}),
        ("task.skipped", {"task": task, "reason": "busy"}),
        ("queue.started", {"queue": "q", "run": n, "order": list(TASKS), "trigger": "api"}),
        ("queue.finished", {"queue": "q", "run": n, "status": "ok", "results": {"t1": "ok"}}),
        ("queue.skipped", {"queue": "q", "reason": "running"}),
        ("daemon.started", {"pid": n, "version": "1"}),
        ("daemon.stopped", {"reason": "signal"}),
        (
            "daemon.recovered",
            {"interrupted": [{"kind": "channel", "name": channel}, {"kind": "task", "name": task}],
             "stopped": []},
        ),
        ("config.applied", {"revision": f"r{n}"}),
        ("config.rejected", {"errors": ["bad"]}),
        ("schedule.missed", {"kind": rng.choice(["task", "queue", "channel"]), "name": task}),
    ]  # fmt: skip
    return rng.choice(choices)


@pytest.mark.parametrize("seed", range(8))
def test_the_view_after_every_batch_equals_the_full_fold(tmp_path: Path, seed: int) -> None:
    """Random batches of events on colliding objects: each view equals the fold of the whole log
    and the journal's own fold (key order included), and a view once handed out never changes."""
    rng = random.Random(seed)
    journal = Journal(tmp_path / "state", fsync="never", compact_after=None)
    earlier: list[tuple[dict[str, Any], dict[str, Any]]] = []
    n = 0
    for _batch in range(30):
        events = []
        for _ in range(rng.randrange(1, 8)):
            n += 1
            events.append(_random_event(rng, n))
        journal.extend(events)
        if rng.random() < 0.1:
            journal.compact()
        view = journal.view().state
        expected = fold(None, journal.read(include_archive=True))
        live = journal.state()  # the fold kept by the journal (its order follows the snapshot)
        assert view == expected == live
        for table in ("channels", "tasks", "queues", "recordings"):
            assert list(view[table]) == list(live[table])
        earlier.append((view, copy.deepcopy(view)))
    for view, as_it_was in earlier:
        assert view == as_it_was


def test_a_read_copies_only_what_the_new_events_reached(tmp_path: Path) -> None:
    """One segment of channel a: its entry and its file are new objects; every other entry, and
    the tables no event reached, are the very objects of the view before."""
    journal = Journal(tmp_path / "state", fsync="never", compact_after=None)
    for channel in CHANNELS:
        journal.append("recording.segment", channel=channel, file=f"/rec/{channel}/0.mkv", bytes=1)
    journal.append("task.started", task="t1", run=1)
    before = journal.view()
    journal.append("recording.segment", channel="a", file="/rec/a/1.mkv", bytes=2)
    after = journal.view()
    assert after.generation == before.generation + 1
    old, new = before.state, after.state
    assert new["tasks"] is old["tasks"] and new["queues"] is old["queues"]
    assert new["config"] is old["config"] and new["daemon"] is old["daemon"]
    assert new["channels"] is not old["channels"]
    assert new["channels"]["a"] is not old["channels"]["a"]
    assert new["channels"]["b"] is old["channels"]["b"]
    assert new["recordings"]["/rec/b/0.mkv"] is old["recordings"]["/rec/b/0.mkv"]
    assert new["recordings"]["/rec/a/0.mkv"] is old["recordings"]["/rec/a/0.mkv"]
    assert after.changes.keys == {"channels": {"a"}, "recordings": {"/rec/a/1.mkv"}}
    assert after.changes.whole == {"seq"}
    assert journal.view() is after  # nothing appended: the same view, nothing copied


def test_the_view_shares_nothing_with_the_live_fold(tmp_path: Path) -> None:
    """Events folded after a view leave it as it was, even in the entries they change."""
    journal = Journal(tmp_path / "state", fsync="never", compact_after=None)
    journal.append("recording.gap", channel="a", start="s", end="e")
    view = journal.view().state
    journal.append("recording.gap", channel="a", start="s2", end="e2")
    assert len(view["channels"]["a"]["gaps"]) == 1
    assert len(journal.view().state["channels"]["a"]["gaps"]) == 2


def test_a_table_reached_other_than_by_key_is_copied_whole() -> None:
    """A reducer iterating a table marks it whole: the next view copies it all, still equal."""
    live: dict[str, Any] = {"seq": 1, "channels": {"a": {"n": 1}, "b": {"n": 1}}}
    view = publish(None, live, Changes())
    changes = Changes(False)
    writes = Writes(live, changes)
    for entry in writes["channels"].values():
        entry["n"] += 1
    assert changes.whole == {"channels"}
    new = publish(view, live, changes)
    assert new == live and new["channels"]["a"] is not live["channels"]["a"]
    assert view["channels"] == {"a": {"n": 1}, "b": {"n": 1}}


def _one_pass(state: dict[str, Any], keep: int) -> dict[str, tuple[int, int, tuple[str, ...]]]:
    """What the status counted before: one pass over every recording."""
    found: dict[str, list[Any]] = {}
    for file, record in state["recordings"].items():
        entry = found.setdefault(str(record.get("channel")), [0, 0, []])
        entry[0] += 1
        entry[1] += int(record.get("bytes") or 0)
        entry[2].append((str(record.get("end") or ""), file))
    return {
        name: (count, size, tuple(f for _, f in sorted(pairs, reverse=True)[:keep]))
        for name, (count, size, pairs) in found.items()
    }


def test_channel_files_follow_the_views_step_by_step(tmp_path: Path) -> None:
    """Counts, bytes and newest files equal one pass over the recordings after every batch, and
    the table is read whole only for the first view, after compaction, or a skipped view."""
    rng = random.Random(7)
    journal = Journal(tmp_path / "state", fsync="never", compact_after=None)
    files = ChannelFiles(3)
    n = 0
    for batch in range(40):
        for _ in range(rng.randrange(1, 6)):
            n += 1
            journal.extend([_random_event(rng, n)])
        if batch == 20:
            journal.compact()
        view: ReadView = journal.view()
        got = {k: (v.count, v.bytes, v.newest) for k, v in files.of(view).items()}
        assert got == _one_pass(view.state, 3)
    assert files.rebuilds == 2  # the first view, and the fold made afresh after compaction
    journal.append("recording.segment", channel="a", file="/rec/a/new.mkv", bytes=5)
    journal.view()
    journal.append("recording.segment", channel="a", file="/rec/a/newer.mkv", bytes=5)
    skipped = journal.view()  # the view before was never shown to ``files``
    got = {k: (v.count, v.bytes, v.newest) for k, v in files.of(skipped).items()}
    assert got == _one_pass(skipped.state, 3)
    assert files.rebuilds == 3


def test_views_only_noted_keep_the_channel_files_stepwise(tmp_path: Path) -> None:
    """Views made for another reader (``/metrics``) and only noted do not force a rebuild; an
    older view than the newest noted one is counted apart, correctly, without a rebuild."""
    rng = random.Random(11)
    journal = Journal(tmp_path / "state", fsync="never", compact_after=None)
    files = ChannelFiles(3)
    n = 0
    older: ReadView | None = None
    for batch in range(30):
        for _ in range(rng.randrange(1, 5)):
            n += 1
            journal.extend([_random_event(rng, n)])
        view = journal.view()
        if batch % 3:  # a scrape: the view is only noted
            files.note(view)
            older = view
            continue
        got = {k: (v.count, v.bytes, v.newest) for k, v in files.of(view).items()}
        assert got == _one_pass(view.state, 3)
    assert files.rebuilds == 1
    assert older is not None
    n += 1
    journal.extend([_random_event(rng, n)])
    files.note(journal.view())
    got = {k: (v.count, v.bytes, v.newest) for k, v in files.of(older).items()}
    assert got == _one_pass(older.state, 3)
    assert files.rebuilds == 1
