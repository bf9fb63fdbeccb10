"""Compaction: snapshot plus tail, a history that is kept whole, and crashes at every step."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from streamrec.state.fold import fold
from streamrec.state.journal import Journal


def segments(journal: Journal, start: int, count: int) -> list[dict[str, Any]]:
    """Append ``count`` segment events (files start..start+count-1) and return them."""
    return [
        journal.append(
            "recording.segment",
            channel=f"c{i % 3}",
            file=f"/r/{i}.ts",
            start="s",
            end="e",
            duration=60.0,
            bytes=1000 + i,
        )
        for i in range(start, start + count)
    ]


def test_compaction_keeps_the_state_and_moves_the_tail_into_the_archive(root: Path) -> None:
    """After compact() the tail is empty, the snapshot holds the fold, the archive the events."""
    with Journal(root, compact_after=None) as journal:
        written = segments(journal, 0, 20)
        before = journal.state()
        journal.compact()
        assert journal.state() == before == fold(None, written)
        assert (root / "events.jsonl").read_bytes() == b""
        snapshot = json.loads((root / "snapshot.json").read_text())
        assert snapshot == {"seq": 20, "state": before}
        assert [p.name for p in (root / "archive").iterdir()] == ["events-1-20.jsonl"]
        assert list(journal.read()) == []
        assert list(journal.read(include_archive=True)) == written
        assert journal.last_seq == 20
        more = segments(journal, 20, 5)
        assert more[0]["seq"] == 21
        journal.compact()
        assert sorted(p.name for p in (root / "archive").iterdir()) == [
            "events-1-20.jsonl",
            "events-21-25.jsonl",
        ]
        assert list(journal.read(include_archive=True)) == written + more
        assert [e["seq"] for e in journal.read(since=22, include_archive=True)] == [23, 24, 25]
        assert journal.state() == fold(None, written + more)


def test_compacting_an_already_compacted_log_changes_nothing(root: Path) -> None:
    """A second compact() with no new events writes no file."""
    with Journal(root, compact_after=None) as journal:
        segments(journal, 0, 3)
        journal.compact()
        stamp = (root / "snapshot.json").stat().st_mtime_ns
        journal.compact()
        assert (root / "snapshot.json").stat().st_mtime_ns == stamp
        assert len(list((root / "archive").iterdir())) == 1


def test_append_compacts_by_itself_once_the_tail_passes_compact_after(root: Path) -> None:
    """With compact_after=10 the tail never holds more than 10 events after an append."""
    with Journal(root, compact_after=10) as journal:
        written = segments(journal, 0, 35)
        assert len(list(journal.read())) <= 10
        assert len(list((root / "archive").glob("events-*.jsonl"))) == 3
        assert list(journal.read(include_archive=True)) == written
        assert journal.state() == fold(None, written)


def test_compact_after_none_never_compacts(root: Path) -> None:
    """None turns automatic compaction off."""
    with Journal(root, compact_after=None) as journal:
        segments(journal, 0, 50)
    assert not (root / "snapshot.json").exists()


CRASHING_COMPACTOR = """
import os, sys
from pathlib import Path
from streamrec.state.journal import Journal

root, step = Path(sys.argv[1]), sys.argv[2]

def checkpoint(name):
    if name == step:
        os._exit(9)

def crash_in_snapshot(fd, data):
    if step == "writing-snapshot" and os.readlink(f"/proc/self/fd/{fd}").endswith("snapshot.json"):
        os.write(fd, data[: len(data) // 2])
        os._exit(9)
    return os.write(fd, data)

journal = Journal(root, compact_after=None, checkpoint=checkpoint, write=crash_in_snapshot)
for i in range(30):
    journal.append("recording.segment", channel="c", file=f"/r/{i}.ts", duration=1.0, bytes=i)
journal.compact()
"""


@pytest.mark.parametrize("step", ["writing-snapshot", "snapshot", "archive", "tail"])
def test_a_crash_at_any_step_of_compaction_leaves_a_consistent_log(
    root: Path, children: Any, step: str
) -> None:
    """A compactor process dying at each step leaves the state, the history and the seq right."""
    with Journal(root, compact_after=None) as journal:
        first = segments(journal, 100, 10)
        journal.compact()  # so that the crash happens on top of an earlier snapshot
    result = children.run(CRASHING_COMPACTOR, str(root), step)
    assert result.returncode == 9, result.stderr
    with Journal(root, compact_after=None) as journal:
        history = list(journal.read(include_archive=True))
        assert [e["seq"] for e in history] == list(range(1, 41))
        assert history[:10] == first
        expected = fold(None, history)
        assert journal.state() == expected
        assert journal.last_seq == 40
        assert journal.append("after")["seq"] == 41
        journal.compact()
        assert journal.state() == fold(
            None, [*history, *journal.read(since=40, include_archive=True)]
        )
        assert [e["seq"] for e in journal.read(include_archive=True)] == list(range(1, 42))
        assert list(journal.read()) == []
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []


COMPACTING_WRITER = """
import sys, time
from pathlib import Path
from streamrec.state.journal import Journal
journal = Journal(Path(sys.argv[1]), fsync="never", compact_after=25)
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    journal.append("recording.segment", channel="c", file=f"/r/{journal.last_seq}.ts", bytes=1)
"""


def test_readers_never_see_a_half_compacted_log(root: Path, children: Any) -> None:
    """While another process appends and compacts, every state() read is complete up to its seq."""
    writer = children.start(COMPACTING_WRITER, str(root), "2.5")
    seen, cached = 0, Journal(root)
    deadline = time.monotonic() + 2.5
    try:
        while time.monotonic() < deadline:
            for reader in (cached, Journal(root)):
                state = reader.state()
                channel = state["channels"].get("c", {"segments": 0})
                assert channel["segments"] == state["seq"], "an event is missing from the fold"
                assert state["seq"] >= seen
                seen = state["seq"]
                assert len(state["recordings"]) == state["seq"]
    finally:
        _out, err = writer.communicate(timeout=30)
        cached.close()
    assert writer.returncode == 0, err
    assert seen > 25
    with Journal(root) as journal:
        assert [e["seq"] for e in journal.read(include_archive=True)] == list(
            range(1, journal.last_seq + 1)
        )


def test_a_corrupt_snapshot_is_rebuilt_from_the_archive(
    root: Path, warnings_logged: list[str]
) -> None:
    """The archive is the whole history, so a damaged snapshot costs time, not state."""
    with Journal(root, compact_after=None) as journal:
        written = segments(journal, 0, 12)
        journal.compact()
        written += segments(journal, 12, 3)
    (root / "snapshot.json").write_text('{"seq": 12, "state": {"trunc')
    with Journal(root) as journal:
        assert journal.state() == fold(None, written)
    assert any("rebuilding the state from the archive" in m for m in warnings_logged)


def test_a_missing_snapshot_with_an_archive_is_rebuilt_too(
    root: Path, warnings_logged: list[str]
) -> None:
    """Deleting snapshot.json by hand does not make the archived history disappear from state."""
    with Journal(root, compact_after=None) as journal:
        written = segments(journal, 0, 5)
        journal.compact()
    (root / "snapshot.json").unlink()
    with Journal(root) as journal:
        assert journal.state() == fold(None, written)
        assert journal.append("x")["seq"] == 6
    assert any("missing" in m for m in warnings_logged)


def test_state_follows_appends_incrementally_and_matches_a_cold_fold(root: Path) -> None:
    """A long-lived journal's cached state equals a fresh journal's after every kind of change."""
    with Journal(root, compact_after=None) as warm:
        for round_ in range(5):
            segments(warm, round_ * 10, 10)
            with Journal(root) as other:
                other.append("retention.deleted", file=f"/r/{round_ * 10}.ts")
            if round_ == 2:
                warm.compact()
            with Journal(root) as cold:
                assert warm.state() == cold.state()
        assert warm.state() == fold(None, warm.read(include_archive=True))


def test_state_returns_a_copy_the_caller_may_change(journal: Journal) -> None:
    """Mutating what state() returned does not change the next state()."""
    segments(journal, 0, 2)
    state = journal.state()
    state["channels"].clear()
    state["recordings"]["x"] = {}
    assert len(journal.state()["recordings"]) == 2
    assert journal.state()["channels"]
