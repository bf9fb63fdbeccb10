"""Finding, reading and merging the YAML files of a config directory.

``spec.loading`` calls :func:`read_sources`, which returns one :class:`Sources`: every declared
object as raw values, and where it came from (file, the mapping that holds it, its key), so that
problems found later (by pydantic, by the reference checks) can be located. Reading never stops at
the first problem: every file is read and every problem collected.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamrec.errors import Problem
from streamrec.spec.interpolate import Interpolator, read_env_file
from streamrec.spec.model import OBJECT_KINDS, SECTIONS
from streamrec.spec.yamlio import Pos, YMap, read_documents

MAX_FILE_BYTES = 64 * 2**20
"""Files larger than this are refused: a config this large is almost certainly a mistake."""


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


def suggest(word: str, choices: Any) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else an empty string."""
    matches = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def read_sources(directory: Path, environ: Mapping[str, str]) -> Sources:
    """Read, interpolate and merge every config file of ``directory``."""
    sources = Sources(directory)
    if not directory.is_dir():
        problem = "no such directory" if not directory.exists() else "not a directory"
        sources.problems.append(Problem(str(directory), 0, 0, f"config: {problem}"))
        return sources
    env = {**read_env_file(directory), **environ}
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
        _read_file(sources, file, env)
    return sources


def _read_file(sources: Sources, file: Path, env: Mapping[str, str]) -> None:
    name = display_path(file, sources.directory)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            sources.problems.append(
                Problem(
                    name, 0, 0, f"the file is {size} bytes; config files over 64 MiB are refused"
                )
            )
            return
        data = file.read_bytes()
    except OSError as exc:
        sources.problems.append(Problem(name, 0, 0, f"cannot read the file: {exc.strerror}"))
        return
    text, problem = _decode(name, data)
    if problem or text is None:
        sources.problems.append(problem or Problem(name, 0, 0, "cannot decode"))
        return
    documents, problems = read_documents(name, text)
    sources.problems.extend(problems)
    if problems and not documents:
        return
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
        return
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
