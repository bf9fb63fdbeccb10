"""Running tasks and queues: one run (``runner``, which ties whether it may start, ``admission``,
each process run, ``attempt``, and what it writes to the state log, ``reporting``), many runs
(``graph``), what a run returns and keeps in memory (``values``), and what it keeps in the state
directory (``files``)."""
