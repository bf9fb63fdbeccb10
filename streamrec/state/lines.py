"""JSON lines on disk: encoding one event, reading events back, finding the last one.

The byte-level half of the journal, kept apart so that the locking and policy code in
``state.journal`` reads as a sequence of steps. Called by ``state.journal`` and
``state.snapshot``; nothing here takes a lock or writes.

Encoding guarantees one event is exactly one line: ``json.dumps`` escapes every control character
(so a field holding ``"\\n"`` or ``"\\r"`` cannot split the line), and U+0085, U+2028 and U+2029
are escaped as well, since ``str.splitlines()`` and some other line readers treat them as line ends. Reading splits on ``b"\\n"`` only, skips a
line that is not a JSON object with an integer ``seq`` (logging a warning that names the file and
line), and stops at the last newline: bytes after it are a torn tail (a writer died mid-line, or is
writing right now) and are never yielded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from streamrec.errors import StateError
from streamrec.log import logger

LoggedEvent = dict[str, Any]
"""One event as a line of the log holds it (``core.events.from_json`` reads it into its record)."""

CHUNK = 1 << 22
"""Bytes read at a time when streaming a file (4 MiB)."""
_BACK_CHUNK = 1 << 16
"""Bytes read at a time when scanning a file backwards from its end."""
_LINE_ENDS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}
"""Line ends of str.splitlines() that json.dumps leaves raw (it escapes those below U+0020)."""
_LOUD_WARNINGS = 5
"""Corrupt lines reported one by one per read; the rest are summed up in one warning."""


def encode(event: LoggedEvent) -> bytes:
    """One event as one UTF-8 JSON line ending in ``\\n``; raises StateError if not JSON-able."""
    try:
        text = json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StateError(
            f"event {event.get('type')!r} cannot be written to the state log: {exc}; "
            "event fields must be JSON values (str, int, float, bool, None, list, dict)"
        ) from exc
    text = text.translate(_LINE_ENDS)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: let json escape it as \udXXX instead
        data = json.dumps(event, allow_nan=False, separators=(",", ":")).encode("ascii")
    return data + b"\n"


def decode(line: bytes) -> LoggedEvent | None:
    """The event on one line (without its newline), or None if the line is not a valid event."""
    try:
        event = json.loads(line)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both derive from it
        return None
    if type(event) is not dict or type(event.get("seq")) is not int:
        return None
    return event


class LineReader:
    """Events of one open file from ``start`` up to its last complete line, in file order.

    Iterate once. Afterwards ``end`` is the offset just past the last complete line read, which is
    where a later incremental read of the same (append-only) file starts.
    """

    def __init__(self, fd: int, source: str, start: int = 0) -> None:
        self.fd, self.source, self.start, self.end = fd, source, start, start
        self.corrupt = 0

    def __iter__(self) -> Iterator[LoggedEvent]:
        fd, loads, offset, carry, lineno = self.fd, json.loads, self.start, b"", 0
        while True:
            chunk = os.pread(fd, CHUNK, offset)
            if not chunk:
                break
            offset += len(chunk)
            lines = (carry + chunk).split(b"\n")
            carry = lines.pop()
            for line in lines:
                lineno += 1
                try:
                    event = loads(line)
                except ValueError:
                    event = None
                if type(event) is dict and type(event.get("seq")) is int:
                    yield event
                elif line.strip():
                    self._corrupt(lineno, line)
            self.end = offset - len(carry)
        if carry:
            logger.debug(
                "{}: {} bytes after the last newline (torn tail) skipped", self.source, len(carry)
            )
        if self.corrupt > _LOUD_WARNINGS:
            logger.warning(
                "{}: {} corrupt lines skipped in all ({} more than reported)",
                self.source, self.corrupt, self.corrupt - _LOUD_WARNINGS,
            )  # fmt: skip

    def _corrupt(self, lineno: int, line: bytes) -> None:
        self.corrupt += 1
        if self.corrupt <= _LOUD_WARNINGS:
            where = (
                f"line {lineno}" if self.start == 0 else f"line {lineno} after byte {self.start}"
            )
            logger.warning(
                "{}: {} is not a valid event and is skipped: {!r}", self.source, where, line[:120]
            )


def complete_size(fd: int, size: int) -> int:
    """The offset just past the last newline before ``size`` (0 when there is none)."""
    end = size
    while end > 0:
        start = max(0, end - _BACK_CHUNK)
        block = os.pread(fd, end - start, start)
        cut = block.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        end = start
    return 0


def last_seq(fd: int, size: int) -> int | None:
    """The seq of the last valid event among the complete lines of the first ``size`` bytes."""
    end, carry = complete_size(fd, size), b""
    while end > 0:
        start = max(0, end - _BACK_CHUNK)
        block = os.pread(fd, end - start, start) + carry
        lines = block.split(b"\n")
        carry = lines.pop(0) if start > 0 else b""  # maybe the end of a longer line: read on
        for line in reversed(lines):
            event = decode(line) if line else None
            if event is not None:
                return int(event["seq"])
        end = start
    return None


def first_seq(fd: int) -> int | None:
    """The seq of the first valid event in the file (looking at its first 64 lines)."""
    head = os.pread(fd, _BACK_CHUNK, 0)
    for line in head.split(b"\n")[:-1][:64]:
        event = decode(line) if line else None
        if event is not None:
            return int(event["seq"])
    return None
