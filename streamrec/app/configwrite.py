"""Config files replaced atomically for a save of the config API, never through a link out.

``app.configadmin`` calls :func:`write_changes` with the checked changes of one save (directory
mode). Every changed file is first written in full beside itself (a temporary dot-file, fsynced,
with the old file's mode, or the umask's for a new one), and only when every one is ready are
they renamed over the old files, the directory fsynced after each: a disk that fills up or a
file that cannot be written leaves every file as it was. Each file is replaced where it really
is (through a link inside the config directory, as a ConfigMap's), and a path whose real place is
outside the config directory is refused before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from streamrec.app.configchecks import Change
from streamrec.spec.editing import EditError


def write_changes(directory: Path, changes: Sequence[Change]) -> None:
    """Replace each changed file (module docstring); :class:`EditError` when one cannot be."""
    root = os.path.realpath(directory).rstrip(os.sep) + os.sep
    targets = [Path(os.path.realpath(change.real)) for change in changes]
    for change, real in zip(changes, targets, strict=True):
        if not str(real).startswith(root):
            raise EditError(f"{change.path} leads out of the config directory; nothing written")
    ready: list[tuple[Path, Path]] = []
    try:
        for change, real in zip(changes, targets, strict=True):
            ready.append((_prepared(real, change.after), real))
    except OSError as exc:
        for tmp, _ in ready:
            tmp.unlink(missing_ok=True)
        raise EditError(
            f"cannot write {exc.filename}: {exc.strerror or exc}; nothing written"
        ) from None
    for index, (tmp, real) in enumerate(ready):
        try:
            tmp.replace(real)
            _sync_directory(real.parent)
        except OSError as exc:
            for left, _ in ready[index:]:
                left.unlink(missing_ok=True)
            done = ", ".join(c.path for c in changes[:index]) or "none"
            raise EditError(
                f"cannot replace {real}: {exc.strerror or exc} (written: {done})"
            ) from None


def _prepared(real: Path, text: str) -> Path:
    """``text`` in a temporary file beside ``real``, fsynced, with the mode ``real`` will have."""
    real.parent.mkdir(parents=True, exist_ok=True)
    mode = real.stat().st_mode & 0o7777 if real.exists() else 0o666 & ~_umask()
    fd, name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(mode)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # a file system without directory fsync
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    """The process's umask, read without setting it (``os.umask`` would race other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
