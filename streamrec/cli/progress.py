"""Progress on a terminal: the live status line of ``record`` and the bars of ``import m3u``.

Progress is drawn on standard error only when it is a terminal that can redraw a line (not
``TERM=dumb``), ``-q`` was not given and log lines are text (JSON logs are for machines):
:func:`progress_wanted`. Otherwise every class here does
nothing, so a pipe, a file, a test or a CI log never sees a control sequence.

- :class:`RecordStatus` is the recorder's ``on_progress`` hook for ``record``: one line, redrawn at
  each reading (about once a second), with the name of the file being written, its size, the
  bitrate over the last seconds and the media time in it. The event lines ``record`` prints go
  above it; the line is removed when recording ends.
- :class:`ImportProgress` shows the phases of ``import m3u``: parsing the playlist, the entries
  added (a bar, N of M), then writing and validating the file.

What is shown (file names come from templates and stream metadata) is made printable and passes
the redactor; nothing is read as markup.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from streamrec.cli.app import err_console, globals_
from streamrec.cli.lazyconsole import real
from streamrec.cli.output import human_size
from streamrec.core.liveprogress import LiveProgress
from streamrec.core.printable import printable


def progress_wanted(console: Console = err_console) -> bool:
    """Whether to draw progress: a terminal (not ``TERM=dumb``), no ``-q``, text logs."""
    return (
        globals_.verbosity >= 0
        and globals_.log_format != "json"
        and console.is_terminal
        and not console.is_dumb_terminal
    )


def media_time(seconds: float) -> str:
    """``H:MM:SS`` of a media duration."""
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def status_text(channel: str, reading: LiveProgress) -> str:
    """The status line of one reading: ``news: FILE  4.2 MiB  812 kb/s  0:01:05``."""
    rate = "- kb/s" if reading.bitrate_bps is None else f"{reading.bitrate_bps / 1000:.0f} kb/s"
    name = printable(globals_.redactor.text(reading.name))
    return (
        f"{printable(channel)}: writing {name}  {human_size(reading.bytes)}  {rate}  "
        f"{media_time(reading.media_seconds)}"
    )


class RecordStatus:
    """The live one-line status of ``record`` (a no-op unless :func:`progress_wanted`)."""

    def __init__(self, channel: str, console: Console = err_console) -> None:
        self.channel = channel
        self.console = real(console)
        self.enabled = progress_wanted(console)
        self.live: Live | None = None

    def __call__(self, reading: LiveProgress) -> None:
        """The recorder's ``on_progress`` hook: redraw the line."""
        if not self.enabled:
            return
        text = Text(status_text(self.channel, reading), no_wrap=True, overflow="ellipsis")
        if self.live is None:
            self.live = Live(
                text,
                console=self.console,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,  # standard output stays the command's, even if piped
            )
            self.live.start()
        self.live.update(text, refresh=True)

    def close(self) -> None:
        """Remove the line (recording ended)."""
        if self.live is not None:
            self.live.stop()
            self.live = None


class ImportProgress:
    """The phases of ``import m3u`` as bars (a no-op unless :func:`progress_wanted`)."""

    def __init__(self, console: Console = err_console) -> None:
        self.progress: Progress | None = None
        if progress_wanted(console):
            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=real(console),
                transient=True,
                redirect_stdout=False,
            )
        self.task: TaskID | None = None

    def __enter__(self) -> ImportProgress:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.progress is not None:
            self.progress.stop()

    def phase(self, description: str, total: int | None = None) -> None:
        """Begin a phase (the one before it shown as done); ``total`` None: no known end."""
        if self.progress is None:
            return
        if self.task is not None:
            done = self.progress.tasks[-1]
            self.progress.update(self.task, total=done.total or 1, completed=done.total or 1)
        self.task = self.progress.add_task(printable(description), total=total)

    def advance(self, count: int = 1) -> None:
        """``count`` more entries of this phase are done."""
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task, count)
