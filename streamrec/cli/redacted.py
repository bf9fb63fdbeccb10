"""Task output on its way to the terminal, with the known secrets hidden, line by line.

``streamrec logs`` (and ``logs --follow``) and the output ``task run`` echoes copy a task's raw log
files (kept verbatim under ``state/logs/``) to standard output and error through
:class:`RedactedSink`, so what reaches the terminal passes the same
:class:`~streamrec.core.redact.Redactor` as every other output. Lines are redacted whole (a secret
split across two reads of the file is still found); bytes that are not UTF-8 pass through as they
are.
"""

from __future__ import annotations

from typing import BinaryIO

from streamrec.core.redact import Redactor

MAX_HELD = 1 << 16
"""A line longer than this is redacted and written in pieces rather than held back."""


class RedactedSink:
    """A binary stream that writes what it is given redacted, each complete line at a time.

    A partial last line is held until its end arrives or :meth:`finish` is called.
    """

    def __init__(self, stream: BinaryIO, redactor: Redactor) -> None:
        self.stream = stream
        self.redactor = redactor
        self.held = b""

    def _emit(self, data: bytes) -> None:
        text = data.decode("utf-8", errors="surrogateescape")
        self.stream.write(self.redactor.text(text).encode("utf-8", errors="surrogateescape"))

    def write(self, data: bytes) -> int:
        """Take ``data``; every line it completes is written, redacted."""
        self.held += data
        end = self.held.rfind(b"\n") + 1
        if end == 0 and len(self.held) > MAX_HELD:
            end = len(self.held)
        if end:
            ready, self.held = self.held[:end], self.held[end:]
            self._emit(ready)
        return len(data)

    def flush(self) -> None:
        """Flush what was written (a partial line stays held)."""
        self.stream.flush()

    def finish(self) -> None:
        """Write the held partial line too, and flush."""
        if self.held:
            held, self.held = self.held, b""
            self._emit(held)
        self.stream.flush()
