"""A reconcile reads the state log's fold without copying it (``app.applying.apply_config``).

The daemon reconciles on every config change; a copy of the whole fold (every file within the
retention, every channel's gaps) for the one field a reconcile reads was a transient of about
0.5 MB at 600 files, and the allocator kept some of it after each edit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streamrec.app.applying import apply_config, desired_of
from streamrec.app.statedir import open_journal, open_paths
from streamrec.core import planning
from streamrec.runtime.clock import SYSTEM_CLOCK
from streamrec.spec.loading import load_config
from streamrec.state.journal import Journal


class NoCopies:
    """A journal whose copying ``state()`` fails the test; everything else is the journal's."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def append(self, event: Any, /, **fields: Any) -> dict[str, Any]:
        return self.journal.append(event, **fields)

    def state(self) -> dict[str, Any]:
        raise AssertionError("apply_config copied the whole state to read one field")

    def shared_state(self) -> dict[str, Any]:
        return self.journal.shared_state()


async def test_apply_reads_the_shared_state(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "tasks.yaml").write_text('tasks:\n  a:\n    command: "true"\n')
    paths = open_paths(tmp_path / "state")
    journal = open_journal(paths, clock=SYSTEM_CLOCK)
    want = desired_of(load_config(config))
    result = await apply_config(
        want,
        running=planning.Applied(),
        paths=paths,
        log=NoCopies(journal),
        directory=config,
        reason="test",
    )
    assert result.ok and result.seq is not None
    assert [e["type"] for e in journal.read(0)][-1] == "config.applied"
