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

``StatePaths.at(root)`` only computes paths; ``ensure()`` creates the directories, private to
their owner (0700, see ``state.private``), and tightens a state directory that an older version or
a volume mount left group- or world-readable, once, logging how many paths it changed. The CLI,
the daemon and the journal's writer call it whenever they open the state directory; it costs one
``stat`` when nothing is missing and the directory is private already.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from streamrec.errors import StateError
from streamrec.log import logger
from streamrec.state.private import is_private, private_dir, tighten


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
        """Create the state directory and its subdirectories if missing; returns ``self``.

        Made 0700 (the root's own parents keep the usual modes); an existing state directory
        that is not private is tightened first, with one log line.
        """
        try:
            self.root.parent.mkdir(parents=True, exist_ok=True)
            if self.root.exists() and not is_private(self.root):
                changed = tighten(self.root)
                logger.warning(
                    "state: tightened permissions of {} paths under {} (were world/group-readable)",
                    changed,
                    self.root,
                )
            for directory in (self.root, self.archive, self.logs, self.locks, self.pids):
                if not directory.is_dir():
                    private_dir(directory)
        except OSError as exc:
            raise StateError(
                f"cannot create the state directory {self.root}: {exc.strerror or exc}; "
                "check that the path is writable (settings.state_dir)"
            ) from exc
        return self
