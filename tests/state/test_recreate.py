"""A journal whose state directory is removed while in use recreates it and numbers on."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from streamrec.errors import StateError
from streamrec.state.journal import Journal


def test_append_after_rmtree_recreates_the_dir_and_logs_state_recreated_first(
    journal: Journal, root: Path
) -> None:
    """The next append makes a 0700 dir whose log starts with state.recreated at the old seq + 1."""
    for n in range(3):
        journal.append("note", n=n)
    shutil.rmtree(root)
    event = journal.append("note", n=3)
    events = list(journal.read())
    assert [e["type"] for e in events] == ["state.recreated", "note"]
    assert events[0]["seq"] == 4 and event["seq"] == 5
    assert events[0]["previous_seq"] == 3 and events[0]["lost_events"] == 3
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "events.jsonl").stat().st_mode) == 0o600
    assert journal.failure is None


def test_reopen_recreates_without_an_append_and_a_second_journal_locks_the_same_file(
    journal: Journal, root: Path
) -> None:
    """reopen() alone writes state.recreated; another writer then continues the same numbering."""
    journal.append("note")
    shutil.rmtree(root)
    recreated = journal.reopen()
    assert recreated is not None and recreated["seq"] == 2
    assert journal.reopen() is None
    with Journal(root) as other:
        assert other.append("note")["seq"] == 3
    assert journal.append("note")["seq"] == 4


def test_failure_is_kept_until_a_write_succeeds(journal: Journal, root: Path) -> None:
    """An unwritable log sets failure; reopening alone does not clear it, a good append does."""
    journal.append("note")
    events = root / "events.jsonl"
    events.rename(root / "moved")
    events.mkdir()
    with pytest.raises(StateError, match="Is a directory"):
        journal.append("note")
    assert journal.failure and "Is a directory" in journal.failure
    events.rmdir()
    (root / "moved").rename(events)
    assert journal.reopen() is None
    assert journal.failure is not None
    journal.append("note")
    assert journal.failure is None
