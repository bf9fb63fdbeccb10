"""The Python API for scripting: ``Task`` and ``Queue`` objects over the task runner.

For people who script streamrec, in the shape of the task systems it replaces (django-task-style)::

    from streamrec import Queue, Task

    fetch = Task(command="curl -fsSL https://example.com/epg.xml -o epg.xml")
    index = Task(command="python index.py", depends=fetch, timeout="00:05:00")
    fetch.run(check=True)            # blocks; ProcessError if it does not complete
    index.run()
    print(index.status, index.get_status_display(), index.stdout, index.ended_at)

    Queue().add(index).start()       # dependencies are inserted first

The parts: ``api.task`` (``Task``), ``api.queue`` (``Queue``), ``api.manager`` (``Task.objects``,
``Queue.objects``), ``api.names`` (each live object's own name) and ``api.engine`` (the background
loop every synchronous call runs on, one runner per state directory). Objects live in memory (their
logs in a private temporary directory, removed at exit) unless ``state_dir=`` is given: then their
runs go to that state directory's log and show in ``streamrec status`` (under ``api``), and the task
lock keeps two processes from running the same task at once. Commands run in the current directory
unless ``workdir=`` says otherwise.

Every object has a name of its own among the live objects of its state directory (or of the
process, in memory): a name another live object holds, or one the applied config declares, is a
:class:`TaskError` when the object is made. ``Task.objects.get(name, config=DIR)`` binds to a
declared task instead.
"""

from __future__ import annotations

from streamrec.api.queue import Queue
from streamrec.api.task import Task

__all__ = ["Queue", "Task"]
