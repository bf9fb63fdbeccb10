"""The files of a config directory, found and read without importing the config model.

:func:`config_files` lists the YAML files a config directory is made of and :func:`read_bounded`
reads one the way loading does: a regular file only, never blocking, within a size limit. They
live apart from ``spec.sources`` (which re-exports them) so that ``app.configcache`` can hash a
directory's files to look up a cached result without importing pydantic or the YAML parser.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from streamrec.spec.limits import size_text

__all__ = ["config_files", "read_bounded"]


def config_files(directory: Path) -> list[Path]:
    """Every ``*.yaml``/``*.yml`` below ``directory``, sorted; names starting with ``.`` skipped.

    Symbolic links are followed (a Kubernetes ConfigMap mounts each file as a link into
    ``..data``, which itself is skipped as a dot-name), each real directory once.
    """
    found: list[Path] = []
    seen: set[str] = set()
    for root, dirs, files in os.walk(directory, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and name.endswith((".yaml", ".yml")):
                found.append(Path(root, name))
    return sorted(found)


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def _not_regular(file: Path, mode: int) -> str:
    """Why ``file`` (of ``mode``) is not read: what it is, and through which link."""
    kind = next((text for test, text in _KINDS if test(mode)), "not a regular file")
    target = file.resolve()
    through = f" (it links to {target})" if target != file.absolute() else ""
    return (
        f"the path is {kind}, not a regular file{through}; it is skipped and the config "
        "is not loaded (only regular files are read: remove it or replace it with a file)"
    )


def read_bounded(file: Path, limit: int) -> bytes | str:
    """The bytes of the regular file ``file``, or why they were not read (as text).

    Never blocks: the type is checked before opening (a device is never opened) and again on the
    open descriptor (the path may have been swapped), the open is non-blocking (a FIFO swapped in
    cannot hang it), and at most ``limit + 1`` bytes are read (a growing file cannot exceed it).
    """
    try:
        info = file.stat()
        if not stat.S_ISREG(info.st_mode):
            return _not_regular(file, info.st_mode)
        if info.st_size > limit:
            return _too_large(info.st_size, limit)
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        return f"cannot read the file: {exc.strerror}; it is skipped and the config is not loaded"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return _not_regular(file, info.st_mode)
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        return f"cannot read the file: {exc.strerror}; it is skipped and the config is not loaded"
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return _too_large(len(data), limit, grew=True) if len(data) > limit else data


def _too_large(size: int, limit: int, grew: bool = False) -> str:
    what = "grew past" if grew else f"is {size:,} bytes, over"
    return (
        f"the file {what} {size_text(limit)} (the limit of one config file); it is skipped "
        "and the config is not loaded"
    )
