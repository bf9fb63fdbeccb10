"""Faults: torn tails, corrupt lines, a full disk, a failing fsync. No line is lost to any of them."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from streamrec.errors import StateError
from streamrec.state.journal import Journal


def fill(root: Path, count: int) -> list[dict[str, Any]]:
    """Append ``count`` events with a healthy journal and return them."""
    with Journal(root) as journal:
        return [journal.append("tick", i=i) for i in range(count)]


class FullDisk:
    """A write seam that writes part of the data, then fails with ENOSPC, while ``full``."""

    def __init__(self, errno_: int = errno.ENOSPC) -> None:
        self.full = True
        self.errno = errno_

    def __call__(self, fd: int, data: bytes) -> int:
        if not self.full:
            return os.write(fd, data)
        if len(data) > 1:
            os.write(fd, data[: len(data) // 2])  # a short write lands on disk first
        raise OSError(self.errno, os.strerror(self.errno))


def test_a_torn_tail_is_cut_off_and_kept_in_the_archive_by_the_next_append(
    root: Path, warnings_logged: list[str]
) -> None:
    """The partial last line moves to archive/torn-<seq>.bin and the new event takes its seq."""
    fill(root, 3)
    torn = b'{"seq":4,"ts":"2026-01-01T00:00:00.000Z","type":"task.fin'
    with (root / "events.jsonl").open("ab") as fh:
        fh.write(torn)
    with Journal(root) as journal:
        event = journal.append("after")
        assert event["seq"] == 4
        assert [e["seq"] for e in journal.read()] == [1, 2, 3, 4]
    assert (root / "archive" / "torn-4.bin").read_bytes() == torn
    assert (root / "events.jsonl").read_bytes().endswith(b'"type":"after"}\n')
    assert any("torn" in message for message in warnings_logged)


def test_readers_skip_a_torn_tail_without_writing(root: Path) -> None:
    """read(), state() and last_seq ignore a partial last line and leave the file as it is."""
    fill(root, 2)
    with (root / "events.jsonl").open("ab") as fh:
        fh.write(b'{"seq":3,"ts":"2026-01')
    before = (root / "events.jsonl").read_bytes()
    with Journal(root) as journal:
        assert [e["seq"] for e in journal.read()] == [1, 2]
        assert journal.state()["seq"] == 2
        assert journal.last_seq == 2
    assert (root / "events.jsonl").read_bytes() == before
    assert not list((root / "archive").glob("torn-*"))


DYING_WRITER = """
import os, signal, sys
from pathlib import Path
from streamrec.state.journal import Journal

def write_half_then_die(fd, data):
    os.write(fd, data[: len(data) // 2])
    os.kill(os.getpid(), signal.SIGKILL)

Journal(Path(sys.argv[1]), write=write_half_then_die).append("task.finished", task="t", status="completed")
"""


def test_a_writer_killed_mid_line_loses_nothing_the_next_writer_repairs_it(
    root: Path, children: Any
) -> None:
    """A real process killed halfway through its write leaves a tail the next append repairs."""
    fill(root, 5)
    result = children.run(DYING_WRITER, str(root))
    assert result.returncode == -9, result.stderr
    assert not (root / "events.jsonl").read_bytes().endswith(b"\n")
    with Journal(root) as journal:
        assert [e["seq"] for e in journal.read()] == [1, 2, 3, 4, 5]
        assert journal.append("after")["seq"] == 6
        assert [e["seq"] for e in journal.read()] == [1, 2, 3, 4, 5, 6]
    torn = (root / "archive" / "torn-6.bin").read_bytes()
    assert torn.startswith(b'{"seq":6,') and b"\n" not in torn


def test_corrupt_lines_are_skipped_with_a_warning_naming_the_line(
    root: Path, warnings_logged: list[str]
) -> None:
    """Garbage, bad UTF-8, non-objects and seq-less objects never stop a reader or a writer."""
    fill(root, 2)
    with (root / "events.jsonl").open("ab") as fh:
        fh.write(b'not json at all\n\xff\xfe\x00binary\n[1, 2, 3]\n{"type": "no seq"}\n\n')
    with Journal(root) as journal:
        journal.append("good")
        with (root / "events.jsonl").open("ab") as fh:
            fh.write(b'{"seq": "4", "type": "seq is a string"}\n')
        assert [e["seq"] for e in journal.read()] == [1, 2, 3]
        assert journal.state()["seq"] == 3
        assert journal.append("still good")["seq"] == 4
        assert [e["type"] for e in journal.read()] == ["tick", "tick", "good", "still good"]
    assert any("line 3 is not a valid event" in m for m in warnings_logged)
    assert any("line 6 is not a valid event" in m for m in warnings_logged)


def test_many_corrupt_lines_are_summed_up_in_one_warning(
    root: Path, warnings_logged: list[str]
) -> None:
    """A log full of garbage gives a few detailed warnings and one total, not a flood."""
    fill(root, 1)
    with (root / "events.jsonl").open("ab") as fh:
        fh.write(b"garbage\n" * 1000)
    with Journal(root) as journal:
        assert [e["seq"] for e in journal.read()] == [1]
    assert len(warnings_logged) <= 6
    assert any("1000 corrupt lines" in m for m in warnings_logged)


@pytest.mark.parametrize("failure", [errno.ENOSPC, errno.EIO])
def test_a_full_disk_raises_state_error_and_leaves_the_file_unchanged(
    root: Path, failure: int
) -> None:
    """ENOSPC (or EIO) mid-write raises StateError saying so, and the half line is cut off."""
    fill(root, 3)
    before = (root / "events.jsonl").read_bytes()
    disk = FullDisk(failure)
    with Journal(root, write=disk) as journal:
        with pytest.raises(StateError) as raised:
            journal.append("recording.segment", channel="c", file="f.ts", bytes=10)
        assert os.strerror(failure) in str(raised.value)
        assert "not recorded" in str(raised.value)
        if failure == errno.ENOSPC:
            assert "free space" in str(raised.value)
        assert (root / "events.jsonl").read_bytes() == before
        with pytest.raises(StateError):
            journal.extend([("a", {}), ("b", {})])
        assert (root / "events.jsonl").read_bytes() == before
        disk.full = False
        assert journal.append("after")["seq"] == 4
    with Journal(root) as other:
        assert [e["seq"] for e in other.read()] == [1, 2, 3, 4]


def test_a_failed_fsync_is_undone_like_a_failed_write(root: Path) -> None:
    """If fsync fails the event is not acknowledged, so it is taken back off the file too."""
    fill(root, 2)
    before = (root / "events.jsonl").read_bytes()

    def failing_sync(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with (
        Journal(root, sync=failing_sync) as journal,
        pytest.raises(StateError, match="not recorded"),
    ):
        journal.append("x")
    assert (root / "events.jsonl").read_bytes() == before


def test_a_full_disk_during_compaction_leaves_the_log_readable(root: Path) -> None:
    """A snapshot that cannot be written fails compaction cleanly; nothing moves, nothing is lost."""
    fill(root, 10)
    disk = FullDisk()
    with Journal(root, write=disk, compact_after=None) as journal:
        disk.full = False
        expected = journal.state()
        disk.full = True
        with pytest.raises(StateError, match="compact"):
            journal.compact()
        assert not (root / "snapshot.json").exists()
        assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []
        assert journal.state() == expected
        assert [e["seq"] for e in journal.read()] == list(range(1, 11))
        disk.full = False
        journal.compact()
        assert journal.state() == expected
        assert [e["seq"] for e in journal.read(include_archive=True)] == list(range(1, 11))


def test_a_failed_automatic_compaction_does_not_fail_the_append(
    root: Path, warnings_logged: list[str]
) -> None:
    """The event is written even when the compaction it triggers cannot finish."""
    snapshot_writes = {"allowed": False}

    def no_snapshot(fd: int, data: bytes) -> int:
        if (
            data.startswith(b'{"seq":')
            and b'"state":' in data[:40]
            and not snapshot_writes["allowed"]
        ):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)

    with Journal(root, write=no_snapshot, compact_after=3) as journal:
        events = [journal.append("tick", i=i) for i in range(5)]
        assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
        assert not (root / "snapshot.json").exists()
        snapshot_writes["allowed"] = True
        journal.append("tick", i=5)
        assert (root / "snapshot.json").exists()
        assert [e["seq"] for e in journal.read(include_archive=True)] == list(range(1, 7))
    assert any("automatic compaction failed" in m for m in warnings_logged)


def test_reading_a_state_dir_that_does_not_exist_gives_the_empty_state_and_creates_nothing(
    root: Path,
) -> None:
    """status on a fresh install works and leaves no trace."""
    journal = Journal(root)
    assert journal.state()["seq"] == 0
    assert list(journal.read(include_archive=True)) == []
    assert journal.last_seq == 0
    assert not root.exists()


def test_an_unreadable_log_raises_state_error_for_readers_and_writers(root: Path) -> None:
    """An events.jsonl that is not a file is a StateError naming the log, not a bare OSError."""
    (root / "events.jsonl").mkdir(parents=True)
    with Journal(root) as journal:
        with pytest.raises(StateError, match="state log"):
            journal.state()
        with pytest.raises(StateError, match="state log"):
            list(journal.read())
        with pytest.raises(StateError, match=r"events\.jsonl"):
            journal.append("x")
