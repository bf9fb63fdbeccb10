"""The state directory layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.errors import StateError
from streamrec.state.paths import StatePaths


def test_at_names_every_path_under_the_root_without_creating_anything(tmp_path: Path) -> None:
    """StatePaths.at only computes paths."""
    paths = StatePaths.at(tmp_path / "state")
    assert paths.events == tmp_path / "state" / "events.jsonl"
    assert paths.snapshot == tmp_path / "state" / "snapshot.json"
    assert paths.archive == tmp_path / "state" / "archive"
    assert paths.applied == tmp_path / "state" / "applied.json"
    assert paths.journal_lock == tmp_path / "state" / "locks" / "journal.lock"
    assert not (tmp_path / "state").exists()


def test_ensure_creates_the_directories_and_returns_the_same_paths(tmp_path: Path) -> None:
    """ensure() is mkdir -p for the root and its subdirectories, and can be repeated."""
    paths = StatePaths.at(tmp_path / "state")
    assert paths.ensure().ensure() is paths
    for directory in (paths.root, paths.archive, paths.logs, paths.locks, paths.pids):
        assert directory.is_dir()


def test_ensure_on_an_unusable_root_raises_state_error(tmp_path: Path) -> None:
    """A state_dir that is a file is reported as a StateError naming it."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(StateError, match="cannot create the state directory"):
        StatePaths.at(tmp_path / "file").ensure()
