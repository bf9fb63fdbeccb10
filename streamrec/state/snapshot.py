"""The snapshot and the archive: the files compaction writes, and how they are read back.

``snapshot.json`` holds ``{"seq": N, "state": fold}``, the fold of every event up to seq N. It is
replaced atomically (temp file, fsync, rename, fsync of the directory), so a reader sees the old
snapshot or the new one, never a mix. ``archive/events-<first>-<last>.jsonl`` are former tails,
moved there whole by compaction: together with the live tail they are the complete history.
``archive/torn-<seq>.bin`` keeps the bytes of a torn last line cut off by a repair.

Called by ``state.journal`` only. Writes go through a ``write(fd, bytes) -> int`` function passed
in by the journal (``os.write`` unless a test injects a failing one). Files are created 0600
(``state.private``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamrec.errors import StateError
from streamrec.state.paths import StatePaths
from streamrec.state.private import open_private

Writer = Callable[[int, bytes], int]

_SEQ_PREFIX = re.compile(rb'^\{"seq":\s*(\d+)')
_ARCHIVE_NAME = re.compile(r"^events-(\d+)-(\d+)(?:\.\d+)?\.jsonl$")
TMP_PREFIX = ".tmp-"


def write_all(fd: int, data: bytes, write: Writer) -> None:
    """Write every byte of ``data`` to ``fd`` (looping over short writes); OSError on failure."""
    done = 0
    while done < len(data):
        count = write(fd, data[done:] if done else data)
        if count <= 0:
            raise OSError(5, "write wrote nothing")  # errno 5 = EIO
        done += count


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_atomic(path: Path, data: bytes, write: Writer, *, sync: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically; the old file stays intact on any failure."""
    tmp = path.parent / f"{TMP_PREFIX}{os.getpid()}-{path.name}"
    try:
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            write_all(fd, data, write)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)
        if sync:
            fsync_dir(path.parent)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def write_snapshot(path: Path, seq: int, state: dict[str, Any], write: Writer) -> None:
    """Write the snapshot of the fold up to ``seq`` (``seq`` first, so it can be read cheaply)."""
    value = {"seq": seq, "state": state}
    try:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in some field: let json escape it
        data = json.dumps(value, separators=(",", ":")).encode("ascii")
    write_file_atomic(path, data, write)


def read_snapshot(path: Path) -> tuple[int, dict[str, Any]] | None:
    """``(seq, state)`` from the snapshot, or None if there is none; StateError if unreadable."""
    try:
        with path.open("rb") as fh:
            return _parse(fh.read(), path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read the snapshot {path}: {exc.strerror or exc}") from exc


def read_snapshot_fd(fd: int, path: Path) -> tuple[int, dict[str, Any]]:
    """``(seq, state)`` from an open snapshot file."""
    size = os.fstat(fd).st_size
    chunks, offset = [], 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return _parse(b"".join(chunks), path)


def _parse(data: bytes, path: Path) -> tuple[int, dict[str, Any]]:
    try:
        value = json.loads(data)
        seq, state = value["seq"], value["state"]
        if type(seq) is not int or type(state) is not dict:
            raise ValueError("seq must be an integer and state an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(f"the snapshot {path} is not valid ({exc})") from exc
    return seq, state


def snapshot_seq(path: Path) -> int:
    """The seq of the snapshot (0 without one), reading only its first bytes when possible."""
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
            match = _SEQ_PREFIX.match(head)
            if match:
                return int(match.group(1))
            found = _parse(head + fh.read(), path)
    except FileNotFoundError:
        return 0
    except (OSError, StateError):
        return 0  # an unreadable snapshot is reported by whoever reads the state
    return found[0]


def compacted_seq(paths: StatePaths) -> int:
    """The last seq compacted away: the snapshot's, or the archive's if the snapshot was lost."""
    archived = archive_files(paths.archive)
    return max(snapshot_seq(paths.snapshot), archived[-1][1] if archived else 0)


def archive_files(archive: Path) -> list[tuple[int, int, Path]]:
    """The archived tails as ``(first, last, path)``, oldest first."""
    try:
        names = [entry.name for entry in archive.iterdir()]
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        match = _ARCHIVE_NAME.match(name)
        if match:
            found.append((int(match.group(1)), int(match.group(2)), archive / name))
    return sorted(found)


def free_name(directory: Path, stem: str, suffix: str) -> Path:
    """``directory/stem+suffix``, or with ``.2``, ``.3``… before the suffix if that exists."""
    path, count = directory / f"{stem}{suffix}", 1
    while path.exists():
        count += 1
        path = directory / f"{stem}.{count}{suffix}"
    return path


def remove_stale_tmp(path: Path) -> None:
    """Delete temp files of ``path`` left by an atomic write that crashed before its rename.

    Call it under the lock that serialises writers of ``path``, so no write is in progress.
    """
    for tmp in path.parent.glob(f"{TMP_PREFIX}*-{path.name}"):
        tmp.unlink(missing_ok=True)
