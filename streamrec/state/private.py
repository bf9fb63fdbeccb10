"""The one rule for what streamrec creates in a state directory: private to the user who runs it.

The state log, snapshots, the archive, task logs (which hold output tails), pid files, locks,
``applied.json``, ``daemon.json`` and the thumbnail cache are readable by their owner only:
directories 0700, files 0600. The modes are given at creation (``os.open(..., 0o600)``,
``mkdir(mode=0o700)`` then a ``chmod`` of what was made, since a umask could leave less); the
process umask is never changed, so recordings keep the user's normal modes.

Called by ``state.paths`` (the layout, and :func:`tighten` once at start-up), the journal's writer
and snapshot, ``state.applied``, the daemon (``daemon.json``, its lock, ffmpeg pid files) and
``web.thumbnails``. ``runtime`` may not import ``state`` (the layers are siblings), so
``runtime.processes.open_private`` applies the same modes to task logs and run files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
_OTHERS = 0o077
"""Group and world permission bits: none of them may stay set under a state directory."""


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700 directories; returns ``path``.

    Directories that exist already are left as they are (see :func:`tighten`).
    """
    missing: list[Path] = []
    current = Path(path)
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process: its maker chose the mode
        directory.chmod(DIR_MODE)
    return path


def open_private(path: Path, flags: int) -> int:
    """``os.open`` with mode 0600 and close-on-exec, making missing parents 0700 if it creates."""
    try:
        return os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    except FileNotFoundError:
        if not flags & os.O_CREAT:
            raise
        private_dir(path.parent)
        return os.open(path, flags | os.O_CLOEXEC, FILE_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` through a 0600 temp file and a rename (readers never see half)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def is_private(path: Path) -> bool:
    """Whether ``path`` exists and has no group or world permission bits."""
    try:
        return not os.lstat(path).st_mode & _OTHERS
    except FileNotFoundError:
        return False


def tighten(root: Path) -> int:
    """Clear the group and world bits of ``root`` and everything below it; how many changed.

    Symlinks are neither followed nor changed. The owner's bits are kept (an executable stays
    executable for its owner). Entries that vanish during the walk are skipped.
    """
    changed = 0
    for path in _walk(Path(root)):
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode) or not info.st_mode & _OTHERS:
            continue
        try:
            path.chmod(stat.S_IMODE(info.st_mode) & ~_OTHERS)
        except FileNotFoundError:
            continue
        changed += 1
    return changed


def _walk(root: Path) -> list[Path]:
    found = [root]
    for directory, dirs, files in os.walk(root, followlinks=False):
        base = Path(directory)
        found.extend(base / name for name in dirs)
        found.extend(base / name for name in files)
    return found
