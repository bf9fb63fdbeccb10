"""What an edit is, and what the file should mean after it.

The vocabulary of ``spec.editing``: :class:`Upsert` and :class:`Remove` (one change of one entry),
:class:`FileChange` (one file before and after), :class:`EditError` (an edit that cannot be made as
asked). ``cli.channels`` and ``docker/entrypoint.py`` build ops and show file changes;
``spec.editing.splicing`` and ``spec.editing.roundtrip`` carry ops out on text, and
``spec.editing.text`` checks their result against :func:`intended`, the meaning of the ops applied
to the file's plain values.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamrec.errors import StreamrecError


class EditError(StreamrecError):
    """An edit that cannot be made as asked (a name already declared or missing, an unwritable file)."""


class TryAnotherWay(Exception):
    """This way of making the edit cannot make it (a splice, or ruamel refused); the next may."""


@dataclass(frozen=True)
class Upsert:
    """Declare ``section.name`` as ``value``, or set the fields of ``value`` on the existing entry."""

    section: str
    name: str
    value: Any
    comment: str | None = None
    """A comment line written above the entry when it is new (block style only)."""
    unset: tuple[str, ...] = ()
    """Fields to take off the existing entry (``value`` a mapping); absent ones are no change."""


@dataclass(frozen=True)
class Remove:
    """Delete the entry ``section.name`` (its lines; comments above it stay)."""

    section: str
    name: str


Op = Upsert | Remove


@dataclass(frozen=True)
class FileChange:
    """One file before and after an edit; ``before`` is None for a new file."""

    path: Path
    before: str | None
    after: str

    def diff(self) -> str:
        """A unified diff of the change."""
        old = (self.before or "").splitlines(keepends=True)
        label = str(self.path)
        lines = difflib.unified_diff(old, self.after.splitlines(keepends=True), label, label)
        return "".join(lines)


def plain(value: Any) -> Any:
    """``value`` as plain dicts and lists (the positions that ``spec.yamlio`` remembers dropped)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def intended(path: str, docs: list[Any], ops: Sequence[Op]) -> list[Any]:
    """The plain documents ``docs`` as they should read after ``ops``.

    A section is looked for in every document, a new one goes to the last; a section or a last
    document that is not a mapping cannot take an entry (:class:`EditError`, located by ``path``).
    """
    docs = plain(docs) or [{}]
    for op in ops:
        holder = next((d for d in docs if isinstance(d, dict) and op.section in d), docs[-1])
        entries = holder.setdefault(op.section, {}) if isinstance(holder, dict) else None
        if not isinstance(entries, dict):
            where = op.section if isinstance(holder, dict) else "the last document"
            raise EditError(f"{path}: {where} is not a mapping; fix the file first")
        if isinstance(op, Remove):
            entries.pop(op.name, None)
        elif isinstance(op.value, Mapping) and isinstance(entries.get(op.name), dict):
            entries[op.name].update(plain(op.value))
            for name in op.unset:
                entries[op.name].pop(name, None)
        else:
            entries[op.name] = plain(op.value)
    return docs
