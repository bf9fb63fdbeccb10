"""A config change checked before anything is written: its files, its located problems, its plan.

``app.configadmin`` calls :func:`check` for every ``POST /api/config/check`` and ``save``. It
turns a :class:`~streamrec.app.configrequest.ConfigRequest` into file changes: ops through
:class:`~streamrec.spec.editing.ConfigEdit` (the declaring file edited in place, every other byte
kept), whole files as given (CRLF and a BOM of the old text kept). Every existing file is read as
the loader reads it (``spec.sources.read_counted``: a FIFO, a device or an oversized file is the
same located problem as in ``streamrec validate``); a path is refused when it leads out of the
config directory through a link.

A text still holding the redaction marker (``***``) where the daemon showed a hidden secret is
given its secret back when the line is exactly as it was shown, and is a located problem otherwise
(a secret cannot be typed as ``***``). Then a temporary copy of the whole directory with the
changes is loaded by the ``load`` it is handed (the daemon's loader worker, with its deadline), its
problems relocated to paths relative to the config directory, and the new config planned against
what is applied (``core.planning``): the actions ``streamrec plan`` would print.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from streamrec.app.configrequest import ConfigRequest
from streamrec.core import planning
from streamrec.core.planlines import action_lines
from streamrec.core.printable import printable
from streamrec.core.redact import MASK
from streamrec.errors import ConfigError, Problem
from streamrec.spec.editing import ConfigEdit, EditError, Remove
from streamrec.spec.limits import DEFAULT_LIMITS, Limits
from streamrec.spec.loading import LoadedConfig
from streamrec.spec.sources import Sources, config_files, read_bounded, read_counted

Load = Callable[[Path], Awaitable[tuple[LoadedConfig, planning.Desired]]]
"""Load and plan a config directory (the copy); raises :class:`ConfigError` with its problems."""
Hide = Callable[[str], str]
"""A text with every secret the daemon knows redacted."""
MARKER_PROBLEM = (
    f"this line holds the redaction marker {MASK} where a secret was hidden; a secret cannot be "
    f"saved as {MASK}: type it again (or use ${{VARIABLE}}), or leave the line as it was shown"
)

EMPTY_PROBLEM = (
    "this change removes every channel and task at once; the daemon refuses such a config "
    "(unless it runs with --allow-empty), so it is not saved"
)


@dataclass(frozen=True)
class Change:
    """One config file before and after; ``before`` is None for a new file."""

    path: str
    """Relative to the config directory."""
    real: Path
    before: str | None
    after: str

    def diff(self) -> str:
        """A unified diff with ``a/`` and ``b/`` labels (``git apply``, ``patch -p1``)."""
        old = (self.before or "").splitlines(keepends=True)
        new = self.after.splitlines(keepends=True)
        source = "/dev/null" if self.before is None else f"a/{self.path}"
        return "".join(difflib.unified_diff(old, new, source, f"b/{self.path}"))


@dataclass(frozen=True)
class Checked:
    """What a change would do: the files, every located problem, the plan when valid."""

    changes: tuple[Change, ...]
    problems: tuple[Problem, ...] = ()
    actions: tuple[planning.Action, ...] = ()
    loaded: LoadedConfig | None = None
    """The new config (loaded from a copy since removed): its secrets and model."""

    @property
    def ok(self) -> bool:
        return not self.problems


def _inside(path: Path, directory: Path) -> bool:
    """Whether ``path`` (links followed) stays in ``directory`` (links followed)."""
    root = os.path.realpath(directory)
    return os.path.realpath(path).startswith(root.rstrip(os.sep) + os.sep)


def _abs(path: Path | str) -> str:
    """``path`` made absolute without following links (a ConfigMap's or git's stay put)."""
    return os.path.abspath(path)  # noqa: PTH100 - Path.resolve() would follow the links


def _relative(path: Path | str, directory: Path) -> str:
    return os.path.relpath(_abs(path), _abs(directory))


def _read(path: Path, directory: Path, limits: Limits) -> tuple[str | None, list[Problem]]:
    """The old text of ``path`` read as the loader reads it (None when new), or its problem."""
    name = _relative(path, directory)
    if not path.exists() and not path.is_symlink():
        return None, []
    if not _inside(path, directory):
        return None, [Problem(name, 0, 0, "the path leads out of the config directory")]
    reading = Sources(directory, limits=limits)
    data = read_counted(reading, path)
    if data is None:
        return None, [Problem(name, p.line, p.col, p.message) for p in reading.problems]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        return None, [Problem(name, 0, 0, "the file is not UTF-8; fix it in a text editor first")]


def _like(before: str | None, after: str) -> str:
    """``after`` with the line endings and BOM of ``before`` (a browser sends LF, no BOM)."""
    if before is None:
        return after
    if "\r\n" in before and "\r" not in after:
        after = after.replace("\n", "\r\n")
    if before.startswith("\ufeff") and not after.startswith("\ufeff"):
        after = "\ufeff" + after
    return after


def restore(before: str | None, after: str, hide: Hide) -> tuple[str, list[tuple[int, int]]]:
    """``after`` with each line shown redacted and sent back unchanged given its secret back;
    the ``(line, col)`` of each marker left where no secret can be restored."""
    if MASK not in after:
        return after, []
    raw = (before or "").splitlines()
    known = set(raw)
    originals: dict[str, str | None] = {}
    for line in raw:
        shown = hide(line)
        if shown != line:
            originals[shown] = line if originals.get(shown, line) == line else None
    lines, spots = [], []
    for number, line in enumerate(after.splitlines(keepends=True), 1):
        body = line.rstrip("\r\n")
        if MASK in body and body not in known:
            original = originals.get(body)
            if original is None:
                spots.append((number, body.index(MASK) + 1))
            else:
                line = original + line[len(body) :]
        lines.append(line)
    return "".join(lines), spots


def prepare(
    directory: Path, request: ConfigRequest, environ: Mapping[str, str], limits: Limits, hide: Hide
) -> tuple[list[Change], list[Problem]]:
    """The file changes a request makes, and the problems that stop it before any load."""
    problems: list[Problem] = []
    pairs: list[tuple[Path, str | None, str]] = []
    if request.files is not None:
        for name, text in request.files.items():
            path = directory / name
            if not _inside(path, directory):
                problems.append(Problem(name, 0, 0, "the path leads out of the config directory"))
                continue
            before, trouble = _read(path, directory, limits)
            problems += trouble
            pairs.append((path, before, _like(before, text)))
    else:
        edit = ConfigEdit(directory, environ, limits)
        try:
            for op in request.ops:
                declared = edit.declared(op.section, op.name)
                if declared is None and isinstance(op, Remove):
                    what = f"{op.section} entry {op.name!r} is not declared"
                    raise EditError(what + edit.suggest(op.section, op.name))
                new = Path(_abs(directory / request.file)) if request.file else None
                edit.add(declared[0] if declared else edit.target(new), op)
            for path in edit.ops:
                if not _inside(path, directory):
                    raise EditError(
                        f"{_relative(path, directory)} leads out of the config directory"
                    )
            pairs += [(c.path, c.before, c.after) for c in edit.changes()]
        except ConfigError as exc:
            problems += [located(p, directory, directory) for p in exc.problems]
        except EditError as exc:
            problems.append(Problem("", 0, 0, str(exc)))
    changes = []
    for path, before, after in pairs:
        name = _relative(path, directory)
        restored, spots = restore(before, after, hide)
        problems += [Problem(name, line, col, MARKER_PROBLEM) for line, col in spots]
        if restored != before:
            changes.append(Change(name, path, before, restored))
    return changes, problems


def located(problem: Problem, *roots: Path) -> Problem:
    """``problem`` with its file relative to the first of ``roots`` holding it ("" for a root);
    the first root's path is taken out of the message too (the copy's, in "declared at ...")."""
    message = problem.message
    first = _abs(roots[0])
    for shown in {first, os.path.relpath(first)} - {"."}:
        message = message.replace(shown + os.sep, "")
    path = Path(problem.path)
    path = path if path.is_absolute() else Path.cwd() / path
    for root in roots:
        try:
            relative = Path(_abs(path)).relative_to(_abs(root))
        except ValueError:
            continue
        name = "" if str(relative) == "." else str(relative)
        return Problem(name, problem.line, problem.col, message)
    return Problem(problem.path, problem.line, problem.col, message)


def _copy(directory: Path, changes: Sequence[Change], copy: Path, limits: Limits) -> list[Problem]:
    """The config directory with ``changes`` under ``copy``, read as the loader reads it."""
    changed = {_abs(c.real) for c in changes}
    reading = Sources(directory, limits=limits)
    for file in config_files(directory) if directory.is_dir() else []:
        if _abs(file) in changed:
            continue
        data = read_counted(reading, file)
        if data is not None:
            _put(copy / _relative(file, directory), data)
        elif reading.stopped:
            break
    env = directory / ".env"
    if env.is_file() and isinstance(values := read_bounded(env, limits.file_bytes), bytes):
        _put(copy / ".env", values)
    for change in changes:
        _put(copy / change.path, change.after.encode("utf-8"))
    return [located(p, directory) for p in reading.problems]


def _put(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


async def check(
    directory: Path,
    request: ConfigRequest,
    *,
    environ: Mapping[str, str],
    hide: Hide,
    load: Load,
    applied: planning.Applied,
    limits: Limits = DEFAULT_LIMITS,
    allow_empty: bool = False,
) -> Checked:
    """The changes ``request`` makes to ``directory`` checked as a whole (module docstring)."""
    changes, problems = await asyncio.to_thread(prepare, directory, request, environ, limits, hide)
    if problems or not changes:
        return Checked(tuple(changes), tuple(problems))
    with tempfile.TemporaryDirectory(prefix="streamrec-check-") as tmp:
        copy = Path(tmp) / "config"
        problems = await asyncio.to_thread(_copy, directory, changes, copy, limits)
        try:
            loaded, want = await load(copy)
        except ConfigError as exc:
            problems += [located(p, copy, directory) for p in exc.problems]
            return Checked(tuple(changes), tuple(dict.fromkeys(problems)))
    actions = tuple(planning.plan(want, applied))
    if not allow_empty and planning.removes_everything(want, applied):
        problems.append(Problem("", 0, 0, EMPTY_PROBLEM))
    return Checked(tuple(changes), tuple(problems), actions, loaded)


def plan_lines(actions: Sequence[planning.Action]) -> list[str]:
    """The actions as ``streamrec plan`` prints them (``core.planlines``), without colour."""
    return action_lines(actions)


def summary(actions: Sequence[planning.Action], changes: Sequence[Change]) -> str:
    """One line for a commit and the event: ``channel radio added, task x changed``."""
    words = {"add": "added", "change": "changed", "remove": "removed"}
    parts = [f"{a.kind} {a.name} {words[a.op]}" for a in actions]
    if not parts:
        return f"{', '.join(c.path for c in changes)} edited (nothing to apply)"
    more = f" and {len(parts) - 3} more" if len(parts) > 3 else ""
    return printable(", ".join(parts[:3]) + more)
