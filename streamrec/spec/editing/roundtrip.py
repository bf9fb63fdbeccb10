"""ruamel's round-trip API: new text in a file's own style, and the full round trip.

The only module that makes a ``YAML(typ="rt")`` or ruamel's round-trip types (``CommentedMap``,
quoted scalar strings); ruamel's errors are translated here into
:class:`~streamrec.spec.editing.ops.TryAnotherWay`. ``spec.editing.splicing`` asks for the text of
a new entry (:func:`block_entry`, :func:`flow_pair`) or a replaced value (:func:`scalar`), rendered
by the round-trip dumper with the file's indentation and the quote style of what it replaces (a flat
entry of plain scalars, as an import writes thousands of, is written directly, in the dumper's own
bytes).
``spec.editing.text`` falls back to :func:`round_trip` when no splice can express an edit: load,
change, dump, which keeps comments and order but may reformat. ``spec.editing.spans`` reads events
from :func:`parse_events` where ruamel's C parser is missing.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import Event
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from streamrec.spec.editing.ops import EditError, Op, Remove, TryAnotherWay

_FLOW_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./+-]*( [A-Za-z0-9_./+()-]+)*\Z")
_BLOCK_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ._/:()+,=&?%~@!*'-]*\Z")
_NOT_TEXT = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}
"""Words a YAML 1.1 or 1.2 reader may take for a boolean, null or number: left to the dumper."""


def _yaml(step: int) -> YAML:
    """A round-trip YAML with ``step`` indentation, never folding long lines."""
    yaml = YAML(typ="rt")
    yaml.indent(mapping=step, sequence=step + 2, offset=step)
    yaml.width = 1_000_000_000
    yaml.preserve_quotes = True
    return yaml


_dumper = functools.lru_cache(maxsize=8)(_yaml)  # creating a YAML() costs ~0.2 ms: reuse them


def parse_events(text: str) -> list[Event]:  # pragma: no cover - only without ruamel.yaml.clib
    """The parser events of ``text`` from ruamel's pure-Python parser."""
    return list(YAML(typ="rt").parse(io.StringIO(text)))


def _dump(data: Any, step: int = 2) -> str:
    out = io.StringIO()
    try:
        _dumper(step).dump(data, out)
    except YAMLError:
        raise TryAnotherWay from None
    return out.getvalue()


def _commented(value: Any, flow: bool) -> Any:
    """Plain values as ruamel's round-trip types; lists always in flow style.

    Inside flow collections a string is quoted unless it is plainly safe: ruamel would write
    ``[http://x]`` or ``{a: 0?}`` plain, which YAML 1.2 allows but libyaml (our reader) refuses.
    """
    if flow and type(value) is str and not _FLOW_PLAIN.match(value):  # subclasses keep their quotes
        return SingleQuotedScalarString(value)
    if isinstance(value, Mapping):
        result = CommentedMap((k, _commented(v, flow)) for k, v in value.items())
        if flow:
            result.fa.set_flow_style()
        return result
    if isinstance(value, (list, tuple)):
        seq = CommentedSeq(_commented(v, True) for v in value)
        seq.fa.set_flow_style()
        return seq
    return value


def _plain(value: Any) -> str | None:
    """The block text of a scalar that the dumper would write plain anyway, else None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if (
        type(value) is str
        and _BLOCK_PLAIN.match(value)
        and ": " not in value
        and "  " not in value
        and not value.endswith((":", " "))
        and value.lower() not in _NOT_TEXT
    ):
        return value
    return None


def _fast_block(name: str, value: Any, step: int) -> list[str] | None:
    """The lines of a flat mapping of plain scalars, as the dumper writes them; else None.

    A new channel from an import is such a mapping; one ruamel dump per entry costs about a
    millisecond, which is most of importing a 20,000-entry playlist.
    """
    if not isinstance(value, Mapping) or not value or _plain(name) != name:
        return None
    lines = [f"{name}:"]
    for key, item in value.items():
        text = _plain(item)
        if not isinstance(key, str) or _plain(key) != key or text is None:
            return None
        lines.append(f"{' ' * step}{key}: {text}")
    return lines


def block_entry(name: str, value: Any, col: int, step: int, comment: str | None) -> str:
    """``name: value`` as block lines at column ``col``, with a comment line above it if given."""
    lines = [f"# {comment}"] if comment else []
    fast = _fast_block(name, value, step)
    if fast is None:
        fast = _dump(CommentedMap([(name, _commented(value, False))]), step).splitlines()
    lines += fast
    return "".join(f"{' ' * col}{line}\n" for line in lines)


def flow_pair(name: str, value: Any) -> str:
    """``name: value`` as it is written inside a flow mapping."""
    mapping = CommentedMap([(name, _commented(value, True))])
    mapping.fa.set_flow_style()
    return _dump(mapping).strip()[1:-1]


def scalar(value: Any, style: str | None, flow: bool) -> str:
    """A value in the quote style of the scalar it replaces, for a flow or block context."""
    if isinstance(value, str) and style == '"':
        value = DoubleQuotedScalarString(value)
    elif isinstance(value, str) and style == "'":
        value = SingleQuotedScalarString(value)
    if flow:
        return _dump(_commented([value], True)).strip()[1:-1]
    return _dump(CommentedMap([("x", _commented(value, False))])).strip()[len("x: ") :]


def round_trip(text: str, ops: Sequence[Op], step: int) -> str:
    """``text`` loaded, changed by ``ops`` and dumped again with ``step`` indentation."""
    yaml = _yaml(step)
    try:
        docs = [doc for doc in yaml.load_all(text) if doc is not None] or [CommentedMap()]
    except YAMLError:
        raise TryAnotherWay from None
    for op in ops:
        holder = next((d for d in docs if isinstance(d, dict) and op.section in d), docs[-1])
        if not isinstance(holder, dict):
            raise EditError("the file's last document is not a mapping of sections")
        if not isinstance(holder.get(op.section), dict):
            holder[op.section] = CommentedMap()
        entries = holder[op.section]
        if isinstance(op, Remove):
            del entries[op.name]
        elif isinstance(op.value, Mapping) and isinstance(entries.get(op.name), dict):
            for name, value in op.value.items():
                entries[op.name][name] = _commented(value, False)
            for name in op.unset:
                entries[op.name].pop(name, None)
        else:
            entries[op.name] = _commented(op.value, False)
    out = io.StringIO()
    try:
        yaml.dump_all(docs, out)
    except YAMLError:
        raise TryAnotherWay from None
    return out.getvalue()
