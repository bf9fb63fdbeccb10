"""Running tasks and queues: one run (``runner``), many runs (``graph``), what a run returns and
keeps in memory (``values``), and what it keeps in the state directory (``files``)."""
