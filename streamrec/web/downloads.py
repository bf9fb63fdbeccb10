"""Opening a recording for download without following links: one descriptor, checked, then served.

``daemon.webapi`` calls :func:`open_inside` for a file the state log lists; ``web.routes`` streams
the :class:`Download` it returns and closes it. The file is opened once, by name, with
``O_NOFOLLOW`` (a symlink put in place of a recording is refused) and ``O_NONBLOCK`` (a FIFO put in
its place does not hang the open); the opened descriptor is then checked with ``fstat``: only a
regular file, whose resolved path lies inside the recordings directory and is the very file that was
opened (same device and inode), is served. Anything else is closed and reported as absent.

A download may ask for one byte range (``Range: bytes=A-B``, ``A-``, ``-N``; :func:`byte_range`):
it gets those bytes (206), or 416 when the range starts past the end; anything else gets the whole
file. The same opened descriptor feeds browser playback (``web.playback``).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 256 * 1024
"""How much one read of a download takes."""


@dataclass
class Download:
    """An opened, checked recording: its descriptor, name and size when opened."""

    fd: int
    name: str
    size: int

    def chunks(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Bytes ``start`` up to ``stop`` (default: the ``size`` announced) of the file, ``CHUNK``
        at a time; the descriptor is closed after."""
        end = self.size if stop is None else min(stop, self.size)
        try:
            offset = start
            while offset < end:
                data = os.pread(self.fd, min(CHUNK, end - offset), offset)
                if not data:
                    return
                offset += len(data)
                yield data
        finally:
            self.close()

    def close(self) -> None:
        """Close the descriptor (once)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Unsatisfiable(Exception):
    """A ``Range`` that names no byte of the file (answered 416)."""


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The ``(start, stop)`` a ``Range`` header asks of a file of ``size`` bytes (``stop``
    exclusive), or None for the whole file (no header, one that is not a single byte range:
    RFC 9110 lets a server ignore it). Raises :class:`Unsatisfiable` for a range past the end."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise Unsatisfiable(header)
        return max(0, size - length), size
    start = int(first)
    if start >= size:
        raise Unsatisfiable(header)
    stop = size if not last else min(size, int(last) + 1)
    if stop <= start:
        return None  # last before first: invalid, so ignored
    return start, stop


def open_inside(path: Path, base: Path) -> Download | None:
    """``path`` opened for reading if it is a regular file inside ``base`` (no link); else None."""
    if not path.is_absolute() or ".." in path.parts:
        return None
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError:  # gone, a symlink (ELOOP), no permission: absent for the client
        return None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise LookupError(path)
        resolved = path.resolve()
        if not resolved.is_relative_to(base.resolve()):
            raise LookupError(path)
        named = resolved.lstat()
        if (named.st_dev, named.st_ino) != (opened.st_dev, opened.st_ino):
            raise LookupError(path)  # the path was swapped after the open
    except (OSError, LookupError):
        os.close(fd)
        return None
    return Download(fd, path.name, opened.st_size)
