"""Finding, reading and merging the YAML files of a config directory.

``spec.loading`` calls :func:`read_sources`, which returns one :class:`Sources`: every declared
object as raw values, and where it came from (file, the mapping that holds it, its key), so that
problems found later (by pydantic, by the reference checks) can be located. Reading never stops at
the first problem: every file is read and every problem collected.

Reading is bounded by ``spec.limits``: only regular files are read (a FIFO, a device or a socket,
also behind a symlink, is a problem and is never read from), files are opened non-blocking and
checked again after opening, and no more than the size limits are ever read. Declared names are
checked here too: a name with a control or formatting character (NUL, newline, DEL, U+202E, ...)
is a problem at its key, printed escaped.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamrec.errors import Problem
from streamrec.spec.configfiles import config_files as config_files  # re-exported
from streamrec.spec.configfiles import read_bounded as read_bounded  # re-exported
from streamrec.spec.interpolate import Interpolator, read_env_file
from streamrec.spec.limits import DEFAULT_LIMITS, Limits, size_text
from streamrec.spec.model import OBJECT_KINDS, SECTIONS
from streamrec.spec.yamlio import Pos, YMap, read_documents


@dataclass(frozen=True)
class Origin:
    """Where one declared thing stands: ``holder[key]`` in ``path``."""

    path: str
    holder: YMap
    key: Any

    @property
    def key_pos(self) -> Pos:
        return self.holder.key_pos[self.key]

    @property
    def value_pos(self) -> Pos:
        return self.holder.value_pos[self.key]

    def __str__(self) -> str:
        line, col = self.key_pos
        return f"{self.path}:{line}:{col}"


@dataclass
class Sources:
    """The merged raw content of a config directory, with the origin of everything in it."""

    directory: Path
    files: list[Path] = field(default_factory=list)
    raw: dict[str, dict[str, Any]] = field(default_factory=lambda: {s: {} for s in SECTIONS})
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    limits: Limits = DEFAULT_LIMITS
    bytes_read: int = 0

    @property
    def stopped(self) -> bool:
        """Whether the files read so far crossed the directory's total size limit."""
        return self.bytes_read > self.limits.total_bytes


class _Layered(Mapping[str, str]):
    """The environment over ``.env``, looked up by name only: loading reads no variable that the
    config does not name (copying the whole environment would read every one)."""

    def __init__(self, first: Mapping[str, str], second: Mapping[str, str]) -> None:
        self._maps = (first, second)

    def __getitem__(self, name: str) -> str:
        for layer in self._maps:
            if name in layer:
                return layer[name]
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter({name: None for layer in self._maps for name in layer})

    def __len__(self) -> int:
        return len(set().union(*self._maps))


def display_path(path: Path, directory: Path) -> str:
    """How a config file is named in messages: relative to the current directory when below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _decode(path: str, data: bytes) -> tuple[str | None, Problem | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        return None, Problem(
            path,
            line,
            col,
            f"the file is not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded "
            "(save the file as UTF-8)",
        )


_NOT_IN_NAMES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
"""Unicode categories a name may not contain: controls (C0, C1, DEL), formatting characters
(bidi overrides such as U+202E, zero-width ones), line and paragraph separators, surrogates."""


def name_problem(kind: str, name: str) -> str | None:
    """Why ``name`` cannot name a ``kind``, or None: names end up in file names, hooks and logs."""
    if name.isprintable():  # the common case: no control, format or separator character
        return None
    for char in name:
        category = unicodedata.category(char)
        if category in _NOT_IN_NAMES:
            what = "a formatting character" if category == "Cf" else "a control character"
            return (
                f"{kind} name {name!r} contains {what} (U+{ord(char):04X}); names may not "
                "contain control or formatting characters (they end up in file names, hooks "
                "and logs)"
            )
    return None


def suggest(word: str, choices: Any) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else an empty string."""
    matches = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def read_sources(
    directory: Path, environ: Mapping[str, str], limits: Limits = DEFAULT_LIMITS
) -> Sources:
    """Read, interpolate and merge every config file of ``directory``."""
    sources = Sources(directory, limits=limits)
    if not directory.is_dir():
        problem = "no such directory" if not directory.exists() else "not a directory"
        sources.problems.append(Problem(str(directory), 0, 0, f"config: {problem}"))
        return sources
    env = _Layered(environ, read_env_file(directory))
    sources.files = config_files(directory)
    if not sources.files:
        sources.problems.append(
            Problem(
                str(directory),
                0,
                0,
                "no *.yaml or *.yml files in the config directory (nothing would be recorded; "
                "see config/ in the streamrec repository for an example)",
            )
        )
    for file in sources.files:
        if not _read_file(sources, file, env):
            break
    return sources


def read_counted(sources: Sources, file: Path) -> bytes | None:
    """The bytes of the config file ``file``, counted in ``sources.bytes_read``; None once the
    reason they are not used is in ``sources.problems``.

    The file is read by :func:`read_bounded` within the file size limit; the bytes that cross the
    directory's total are a problem too, and then :attr:`Sources.stopped` says to read no further.
    Loading reads every file through here, and so does ``spec.editing`` (the file it edits, the
    files of the copy it checks), so an edit meets the same located problems as ``validate``.
    """
    name = display_path(file, sources.directory)
    limits = sources.limits
    data = read_bounded(file, limits.file_bytes)
    if isinstance(data, str):
        sources.problems.append(Problem(name, 0, 0, data))
        return None
    sources.bytes_read += len(data)
    if sources.stopped:
        sources.problems.append(
            Problem(
                str(sources.directory),
                0,
                0,
                f"the config files together are over {size_text(limits.total_bytes)} (the limit "
                f"of a config directory; reading stopped at {name}); the config is not loaded",
            )
        )
        return None
    return data


def _read_file(sources: Sources, file: Path, env: Mapping[str, str]) -> bool:
    """Read one file into ``sources``; False when the directory's total size limit is crossed."""
    name = display_path(file, sources.directory)
    data = read_counted(sources, file)
    if data is None:
        return not sources.stopped
    text, problem = _decode(name, data)
    if problem or text is None:
        sources.problems.append(problem or Problem(name, 0, 0, "cannot decode"))
        return True
    documents, problems = read_documents(name, text, sources.limits)
    sources.problems.extend(problems)
    if problems and not documents:
        return True
    if all(doc is None for doc, _ in documents):
        sources.problems.append(
            Problem(
                name,
                0,
                0,
                "the file declares nothing (an empty config file is often a truncated write; "
                "delete it or give it content)",
            )
        )
        return True
    interpolator = Interpolator(name, env)
    for document, pos in documents:
        if document is None:
            continue
        if not isinstance(document, YMap):
            sources.problems.append(
                Problem(name, *pos, "a config document must be a mapping of sections")
            )
            continue
        interpolator.document(document)
        _merge_document(sources, name, document)
    sources.problems.extend(interpolator.problems)
    sources.secrets |= interpolator.secrets
    return True


def _merge_document(sources: Sources, name: str, document: YMap) -> None:
    for section, body in document.items():
        line, col = document.key_pos[section]
        if section not in SECTIONS:
            sources.problems.append(
                Problem(
                    name,
                    line,
                    col,
                    f"unknown section {section!r}{suggest(section, SECTIONS)} "
                    f"(sections: {', '.join(SECTIONS)})",
                )
            )
            continue
        if body is None:
            continue
        if not isinstance(body, YMap):
            vline, vcol = document.value_pos[section]
            what = "settings" if section == "settings" else f"names of {section}"
            sources.problems.append(
                Problem(name, vline, vcol, f"{section} must be a mapping of {what}")
            )
            continue
        kind = OBJECT_KINDS.get(section, "setting")
        for key in body:
            text = str(key)
            if not text.strip():
                kline, kcol = body.key_pos[key]
                sources.problems.append(
                    Problem(name, kline, kcol, f"a {kind} name cannot be empty")
                )
                continue
            if section != "settings" and (bad := name_problem(kind, text)):
                kline, kcol = body.key_pos[key]
                sources.problems.append(Problem(name, kline, kcol, bad))
                continue
            if (section, text) in sources.origins:
                first = sources.origins[(section, text)]
                kline, kcol = body.key_pos[key]
                sources.problems.append(
                    Problem(
                        name,
                        kline,
                        kcol,
                        f"{kind} {text!r} is declared twice: here and at {first}",
                    )
                )
                continue
            sources.origins[(section, text)] = Origin(name, body, key)
            sources.raw[section][text] = body[key]
