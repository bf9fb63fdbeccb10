"""The edits of one config directory: read as the loader reads, checked together, written together.

:class:`ConfigEdit` is what ``cli.channels`` (``channel add/remove``, ``category add``, ``import
m3u``) and ``docker/entrypoint.py`` use. It reads the directory once (``spec.sources``) to say where
each name is declared, collects ops per file, and on :meth:`~ConfigEdit.commit` edits each file's
text (``spec.editing.text``), loads a temporary copy of the whole directory with the edits through
:func:`~streamrec.spec.loading.load_config`, and only when that passes replaces each file
(temporary file beside it, fsync, rename). A change that would make the config invalid writes
nothing and raises the located :class:`~streamrec.errors.ConfigError`, paths naming the real files.

Every config file it reads (the files it edits, the files it copies for the check) goes through
:func:`~streamrec.spec.sources.read_counted`, the loader's own bounded reading: a FIFO, a device
or a file over the size limits is never read from and is the same located problem as in
``streamrec validate``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from streamrec.errors import ConfigError, Problem
from streamrec.spec.editing.ops import EditError, FileChange, Op
from streamrec.spec.editing.text import edit_text
from streamrec.spec.limits import DEFAULT_LIMITS, Limits
from streamrec.spec.loading import load_config
from streamrec.spec.sources import (
    Sources,
    config_files,
    display_path,
    read_counted,
    read_sources,
    suggest,
)

DEFAULT_FILE = "channels.yaml"


def _absolute(path: Path | str) -> Path:
    """``path`` made absolute without resolving links (a ConfigMap's or an overlay's stay put)."""
    return Path(os.path.abspath(path))  # noqa: PTH100 - Path.resolve() would follow the links


class ConfigEdit:
    """Edits of one config directory, checked together and written together."""

    def __init__(
        self,
        directory: Path | str,
        environ: Mapping[str, str] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.directory = Path(directory)
        self.environ = dict(os.environ if environ is None else environ)
        self.limits = limits
        self.sources = (
            read_sources(self.directory, self.environ, limits)
            if self.directory.is_dir()
            else Sources(self.directory, limits=limits)
        )
        self.ops: dict[Path, list[Op]] = {}

    def declared(self, section: str, name: str) -> tuple[Path, str] | None:
        """The file declaring ``section.name`` and its ``file:line:col``, if any file does."""
        origin = self.sources.origins.get((section, name))
        return None if origin is None else (_absolute(origin.path), str(origin))

    def names(self, section: str) -> list[str]:
        """Every name declared in ``section`` (as read, before this edit)."""
        return [name for kind, name in self.sources.origins if kind == section]

    def suggest(self, section: str, name: str) -> str:
        return suggest(name, self.names(section))

    def target(self, file: Path | str | None, default: str = DEFAULT_FILE) -> Path:
        """The file ``--file`` names (relative to the config directory), else ``default``."""
        root = _absolute(self.directory)
        path = _absolute(file if file else self.directory / default)
        if file and not Path(file).is_absolute() and not path.is_relative_to(root):
            path = _absolute(self.directory / file)  # relative to the config dir
        try:
            relative = path.relative_to(root)
        except ValueError:
            raise EditError(f"{path} is not inside the config directory {self.directory}") from None
        if path.suffix not in {".yaml", ".yml"} or any(p.startswith(".") for p in relative.parts):
            raise EditError(f"{path}: config files end in .yaml or .yml and are not dot-names")
        return path

    def add(self, path: Path, op: Op) -> None:
        """Plan ``op`` on the file ``path``."""
        self.ops.setdefault(_absolute(path), []).append(op)

    def changes(self) -> list[FileChange]:
        """Every planned file with its text before and after."""
        changes = []
        for path, ops in self.ops.items():
            before = self._read(path)
            after = edit_text(before or "", ops, display_path(path, self.directory))
            changes.append(FileChange(path, before, after))
        return changes

    def _read(self, path: Path) -> str | None:
        """The text of ``path`` read as the loader reads a config file; None when it is new."""
        if not path.exists():  # a link to nothing too: writing creates the file it names
            return None
        reading = Sources(self.directory, limits=self.limits)
        data = read_counted(reading, path)
        if data is None:
            raise ConfigError(reading.problems)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EditError(f"cannot read {path}: {exc}") from None

    def commit(self, dry_run: bool = False) -> list[FileChange]:
        """Check the whole directory after the edits; write them unless ``dry_run``."""
        changes = [c for c in self.changes() if c.after != c.before]
        self.check(changes)
        if not dry_run:
            for change in changes:
                _write(change.path, change.after)
        return changes

    def check(self, changes: Sequence[FileChange]) -> None:
        """Load a copy of the directory with ``changes``; raise its located ConfigError.

        The files are copied as the loader reads them: one it would not read is left out of the
        copy and its problem reported, and copying stops where the loader's reading would.
        """
        root = _absolute(self.directory)
        changed = {change.path for change in changes}
        reading = Sources(self.directory, limits=self.limits)
        with tempfile.TemporaryDirectory(prefix="streamrec-edit-") as tmp:
            copy = Path(tmp) / "config"
            copy.mkdir()
            for file in config_files(self.directory) if self.directory.is_dir() else []:
                if _absolute(file) in changed:
                    continue  # read by changes() already; its new text is written below
                data = read_counted(reading, file)
                if data is not None:
                    _put(copy / _absolute(file).relative_to(root), data)
                elif reading.stopped:
                    break
            if (self.directory / ".env").is_file():
                shutil.copyfile(self.directory / ".env", copy / ".env")
            for change in changes:
                _put(copy / change.path.relative_to(root), change.after.encode("utf-8"))
            problems = list(reading.problems)
            try:
                load_config(copy, self.environ, limits=self.limits)
            except ConfigError as exc:
                problems += [self._relocate(p, copy) for p in exc.problems]
        if problems:
            raise ConfigError(problems)

    def _relocate(self, problem: Problem, copy: Path) -> Problem:
        try:
            relative = _absolute(problem.path).relative_to(copy)
        except ValueError:
            return problem
        path = display_path(self.directory / relative, self.directory)
        return Problem(path, problem.line, problem.col, problem.message)


def _put(path: Path, data: bytes) -> None:
    """Write a file of the temporary copy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _write(path: Path, text: str) -> None:
    """Replace the file (through a symlink, the file it points to) by writing beside it."""
    real = Path(os.path.realpath(path))
    tmp = None
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        mode = real.stat().st_mode & 0o7777 if real.exists() else None
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if mode is None:
            umask = os.umask(0o022)
            os.umask(umask)
            mode = 0o666 & ~umask
        Path(tmp).chmod(mode)
        Path(tmp).replace(real)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise EditError(f"cannot write {path}: {exc.strerror or exc}") from None
