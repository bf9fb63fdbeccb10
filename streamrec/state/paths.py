"""Where everything lives inside a state directory.

One frozen value names every path under ``state_dir``; the journal, the task runner (logs), the
recorder supervisor (pids), the daemon (locks) and ``apply`` (applied.json) all take their paths
from here, so the layout is written down once::

    state/
      events.jsonl        the live tail of the event log (append-only JSON lines)
      snapshot.json       the fold of every event up to a seq: {"seq": N, "state": {...}}
      archive/            compacted history, kept: events-<first>-<last>.jsonl, torn-<seq>.bin
      logs/               task stdout/stderr files
      locks/              lock files (journal.lock serialises writers of the event log)
      pids/               pid files of children
      applied.json        the last applied config

``StatePaths.at(root)`` only computes paths; ``ensure()`` creates the directories.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from streamrec.errors import StateError


@dataclass(frozen=True)
class StatePaths:
    """The paths of one state directory (nothing is created until :meth:`ensure`)."""

    root: Path
    events: Path
    snapshot: Path
    archive: Path
    logs: Path
    locks: Path
    pids: Path
    applied: Path

    @classmethod
    def at(cls, root: Path) -> StatePaths:
        """The layout under ``root``."""
        root = Path(root)
        return cls(
            root=root,
            events=root / "events.jsonl",
            snapshot=root / "snapshot.json",
            archive=root / "archive",
            logs=root / "logs",
            locks=root / "locks",
            pids=root / "pids",
            applied=root / "applied.json",
        )

    @property
    def journal_lock(self) -> Path:
        """The advisory lock every writer of the event log holds (flock on this file)."""
        return self.locks / "journal.lock"

    def ensure(self) -> StatePaths:
        """Create the state directory and its subdirectories if missing; returns ``self``."""
        try:
            for directory in (self.root, self.archive, self.logs, self.locks, self.pids):
                directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"cannot create the state directory {self.root}: {exc.strerror or exc}; "
                "check that the path is writable (settings.state_dir)"
            ) from exc
        return self
