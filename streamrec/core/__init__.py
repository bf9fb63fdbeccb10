"""Pure decisions: plans, task graphs, schedule windows, retention, file names. No I/O, no clock."""
