"""The state log: append-only JSON lines, replay, compaction, and the fold into current state."""

from streamrec.state.fold import empty_state, fold
from streamrec.state.journal import FsyncPolicy, Journal
from streamrec.state.paths import StatePaths

__all__ = ["FsyncPolicy", "Journal", "StatePaths", "empty_state", "fold"]
