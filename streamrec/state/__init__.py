"""The state log: append-only JSON lines, replay, compaction, and the fold into current state."""
