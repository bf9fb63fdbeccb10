"""Editing config files in place: add, update and remove channels, categories and settings.

Called by ``streamrec channel add/remove``, ``category add`` and ``import m3u`` (``cli.channels``) and
by the container entrypoint (``docker/entrypoint.py``). The one module that *writes* YAML with
ruamel.yaml (``spec.yamlio`` is the one that reads it).

An edit keeps every byte it does not have to change. It finds the spans to touch from the positions
of ruamel's parser events and splices freshly rendered text (ruamel's round-trip dumper, with the
file's own indentation, quote style and flow or block style) into the original: comments, blank
lines, odd spacing, flow mappings and anchors elsewhere stay exactly as they were. The result is
read back and compared with what the edit meant; only when a splice cannot express the edit (an
entry behind an alias, an explicit document end) does it fall back to a full round trip
(``YAML(typ="rt")`` load, change, dump), which keeps comments and order but may reformat, and which
is checked the same way. Removing an entry removes its lines, not the comments above it.

:class:`ConfigEdit` collects edits of one directory, checks the whole directory after them with
:func:`~streamrec.spec.loading.load_config` in a temporary copy, and only then replaces each file
(temporary file + rename). A change that would make the config invalid writes nothing and raises
the located :class:`~streamrec.errors.ConfigError` (paths name the real files).

This is one module on purpose, past the usual size: it is the only place that writes YAML with
ruamel. Its parts follow each other: node spans, rendering, splicing, checking, the directory.
"""

from __future__ import annotations

import difflib
import functools
import io
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
)
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from streamrec.errors import ConfigError, Problem, StreamrecError
from streamrec.spec.loading import load_config
from streamrec.spec.sources import Sources, config_files, display_path, read_sources, suggest
from streamrec.spec.yamlio import read_documents

try:  # ruamel.yaml.clib's parser: ~8x faster positions for a large file
    from _ruamel_yaml import CParser as _CParser
except ImportError:  # pragma: no cover - pure Python fallback where the wheel is missing
    _CParser = None

DEFAULT_FILE = "channels.yaml"
_FLOW_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./+-]*( [A-Za-z0-9_./+()-]+)*\Z")


class EditError(StreamrecError):
    """An edit that cannot be made as asked (a name already declared or missing, an unwritable file)."""


@dataclass(frozen=True)
class Upsert:
    """Declare ``section.name`` as ``value``, or set the fields of ``value`` on the existing entry."""

    section: str
    name: str
    value: Any
    comment: str | None = None
    """A comment line written above the entry when it is new (block style only)."""


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


# -- the parsed shape of a file: nodes with character spans -------------------------------------


@dataclass(eq=False)
class _Node:
    kind: str  # "map", "seq", "scalar" or "alias"
    start: int
    end: int  # just after the node's last character of content
    col: int
    flow: bool = False
    inflow: bool = False  # inside a flow collection (or one itself)
    style: str | None = None
    value: str = ""
    pairs: list[tuple[_Node, _Node]] = field(default_factory=list)
    index: dict[str, tuple[_Node, _Node]] | None = None

    @property
    def empty(self) -> bool:
        return self.kind == "scalar" and not self.style and self.value in {"", "~", "null"}

    def pair(self, key: str) -> tuple[_Node, _Node] | None:
        if self.index is None:  # built on first use: an import looks up thousands of names
            self.index = {}
            for pair in reversed(self.pairs):
                if pair[0].kind == "scalar":
                    self.index[pair[0].value] = pair
        return self.index.get(key)


def _events(text: str) -> list[Event]:
    if _CParser is None:  # pragma: no cover
        return list(YAML(typ="rt").parse(io.StringIO(text)))
    parser, events = _CParser(text), []
    while (event := parser.get_event()) is not None:
        events.append(event)
    return events


def _build(event: Event, events: Iterator[Event], text: str, inflow: bool = False) -> _Node:
    start, col = event.start_mark.index, event.start_mark.column
    if isinstance(event, AliasEvent):
        return _Node("alias", start, event.end_mark.index, col, inflow=inflow)
    if isinstance(event, ScalarEvent):
        end, style = event.end_mark.index, event.style or None
        if style in {"|", ">"}:  # a block scalar's span includes the line breaks after it
            while end > start and text[end - 1] in " \t\r\n":
                end -= 1
        return _Node("scalar", start, end, col, inflow=inflow, style=style, value=event.value)
    node = _Node("map" if isinstance(event, MappingStartEvent) else "seq", start, start, col)
    node.flow = bool(getattr(event, "flow_style", False))
    node.inflow = inflow = inflow or node.flow
    for child in events:
        if isinstance(child, (MappingEndEvent, SequenceEndEvent)):
            node.end = child.end_mark.index
            break
        first = _build(child, events, text, inflow)
        second = _build(next(events), events, text, inflow) if node.kind == "map" else first
        node.pairs.append((first, second))
    if not node.flow and node.pairs:
        key, value = node.pairs[-1]
        node.end = value.end
        if node.kind == "map" and value.empty:  # `key:` with nothing after the colon
            node.end = max(key.end, text.index(":", key.end) + 1)
    if node.pairs:
        node.col = node.pairs[0][0].col
    return node


def _documents(text: str) -> tuple[list[_Node], bool]:
    """The root node of every document, and whether the last one ends with an explicit ``...``."""
    events = iter(_events(text))
    roots: list[_Node] = []
    explicit_end = False
    for event in events:
        if isinstance(event, DocumentStartEvent):
            roots.append(_build(next(events), events, text))
        elif isinstance(event, DocumentEndEvent):
            explicit_end = bool(event.explicit)
    return roots, explicit_end


def _absolute(path: Path | str) -> Path:
    """``path`` made absolute without resolving links (a ConfigMap's or an overlay's stay put)."""
    return Path(os.path.abspath(path))  # noqa: PTH100 - Path.resolve() would follow the links


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _next_line(text: str, index: int) -> int:
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _indent_step(roots: list[_Node]) -> int:
    """The file's most common mapping indentation (2 when it has no nested block mappings)."""
    steps: Counter[int] = Counter()
    stack = list(roots)
    while stack:
        node = stack.pop()
        for key, value in node.pairs:
            if value.kind == "map" and not value.flow and value.pairs and value.col > key.col:
                steps[value.col - key.col] += 1
            stack.append(value)
    return steps.most_common(1)[0][0] if steps else 2


# -- rendering new text with ruamel's round-trip dumper ------------------------------------------


def _yaml(step: int) -> YAML:
    """A round-trip YAML with ``step`` indentation, never folding long lines."""
    yaml = YAML(typ="rt")
    yaml.indent(mapping=step, sequence=step + 2, offset=step)
    yaml.width = 1_000_000_000
    yaml.preserve_quotes = True
    return yaml


_dumper = functools.lru_cache(maxsize=8)(_yaml)  # creating a YAML() costs ~0.2 ms: reuse them


def _dump(data: Any, step: int = 2) -> str:
    out = io.StringIO()
    _dumper(step).dump(data, out)
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


def _block_entry(name: str, value: Any, col: int, step: int, comment: str | None) -> str:
    lines = [f"# {comment}"] if comment else []
    lines += _dump(CommentedMap([(name, _commented(value, False))]), step).splitlines()
    return "".join(f"{' ' * col}{line}\n" for line in lines)


def _flow_pair(name: str, value: Any) -> str:
    """``name: value`` as it is written inside a flow mapping."""
    mapping = CommentedMap([(name, _commented(value, True))])
    mapping.fa.set_flow_style()
    return _dump(mapping).strip()[1:-1]


def _scalar(value: Any, style: str | None, flow: bool) -> str:
    """A value in the quote style of the scalar it replaces, for a flow or block context."""
    if isinstance(value, str) and style == '"':
        value = DoubleQuotedScalarString(value)
    elif isinstance(value, str) and style == "'":
        value = SingleQuotedScalarString(value)
    if flow:
        return _dump(_commented([value], True)).strip()[1:-1]
    return _dump(CommentedMap([("x", _commented(value, False))])).strip()[len("x: ") :]


# -- splicing ------------------------------------------------------------------------------------


class _NeedsRoundTrip(Exception):
    """The edit cannot be made as a splice; a full round trip will make it."""


@dataclass(frozen=True)
class _Splice:
    start: int
    order: int
    end: int
    text: str


class _Splicer:
    """Turns edits into splices of one file's text, from one parse of it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.roots, self.explicit_end = _documents(text)
        self.step = _indent_step(self.roots)
        self.splices: list[_Splice] = []
        self.appends: dict[str, list[tuple[int, Upsert]]] = {}  # new entries, by section

    def section(self, name: str) -> tuple[_Node, _Node] | None:
        for root in self.roots:
            if root.kind == "map" and (found := root.pair(name)):
                return found
        return None

    def add(self, order: int, start: int, end: int, text: str) -> None:
        self.splices.append(_Splice(start, order, end, text))

    def upsert(self, order: int, op: Upsert) -> None:
        found = self.section(op.section)
        entries = found[1] if found else None
        if entries is not None and not entries.empty and entries.kind != "map":
            raise _NeedsRoundTrip
        entry = entries.pair(op.name) if entries is not None and entries.kind == "map" else None
        if entry is None:
            self.appends.setdefault(op.section, []).append((order, op))
            return
        node = entry[1]
        if not isinstance(op.value, Mapping) or node.kind != "map":
            self.replace(order, node, op.value)
            return
        missing = {}
        for name, value in op.value.items():
            present = node.pair(name)
            if present is None:
                missing[name] = value
            else:
                self.replace(order, present[1], value)
        if missing:
            self.insert_fields(order, node, missing)

    def replace(self, order: int, node: _Node, value: Any) -> None:
        if isinstance(value, (Mapping, list, tuple)):
            text = _flow_pair("x", value)[len("x: ") :]
        else:
            text = _scalar(value, node.style if node.kind == "scalar" else None, node.inflow)
        if node.empty and not node.value:  # `key:` with no value: write one after the colon
            self.add(order, node.start, node.start, " " + text)
        elif node.kind in {"scalar", "alias"} or node.flow:
            self.add(order, node.start, node.end, text)
        else:
            raise _NeedsRoundTrip

    def insert_fields(self, order: int, node: _Node, fields: dict[str, Any]) -> None:
        if node.flow:
            self.flow_insert(order, node, [_flow_pair(k, v) for k, v in fields.items()])
            return
        at = _next_line(self.text, node.end)
        prefix = "" if self.text[:at].endswith("\n") else "\n"
        body = "".join(_block_entry(k, v, node.col, self.step, None) for k, v in fields.items())
        self.add(order, at, at, prefix + body)

    def flow_insert(self, order: int, node: _Node, pairs: list[str]) -> None:
        close = node.end - 1
        if self.text[close] != "}":
            raise _NeedsRoundTrip
        before = self.text[node.start + 1 : close].rstrip()
        at = node.start + 1 + len(before)
        sep = "" if not before.strip() else " " if before.endswith(",") else ", "
        self.add(order, at, at, sep + ", ".join(pairs))

    def remove(self, order: int, op: Remove) -> None:
        found = self.section(op.section)
        entries = found[1] if found else None
        entry = entries.pair(op.name) if entries is not None and entries.kind == "map" else None
        if entries is None or entry is None:
            raise EditError(f"{op.section}.{op.name} is not in this file")
        key, value = entry
        if entries.flow:
            start, end = key.start, value.end
            after = self.text[end:].lstrip(" \t\n")
            if after.startswith(","):  # `a: 1, b: 2` -> `b: 2`
                end = len(self.text) - len(after) + 1
                end += len(self.text[end:]) - len(self.text[end:].lstrip(" \t\n"))
            else:
                start = len(self.text[:start].rstrip(" \t\n").removesuffix(","))
            self.add(order, start, end, "")
            return
        start = _line_start(self.text, key.start)
        if self.text[start : key.start].strip():
            raise _NeedsRoundTrip
        end = _next_line(self.text, value.end)
        before = self.text[_line_start(self.text, start - 1) : start] if start else "x"
        if not before.strip() and self.text[end : _next_line(self.text, end)].strip() == "":
            end = _next_line(self.text, end)  # the blank line that separated it goes with it
        self.add(order, start, end, "")

    def finish(self, count: int) -> None:
        """Write the new entries: after every other splice at the same place, in the edits' order."""
        for section, numbered in self.appends.items():
            ops = [op for _, op in numbered]
            found = self.section(section)
            section_key, entries = found if found else (None, None)
            order = numbered[0][0] + (2 * count if entries is None else count)
            if entries is None:
                self.new_section(order, ops)
            elif entries.empty:
                if section_key is None or entries.value:
                    raise _NeedsRoundTrip
                at = _next_line(self.text, section_key.end)
                col = section_key.col + self.step
                self.add(order, at, at, self.entries(ops, col, flow=False))
            elif entries.flow:
                self.flow_insert(order, entries, [_flow_pair(o.name, o.value) for o in ops])
            else:
                self.block_append(order, entries, ops)

    def entries(self, ops: list[Upsert], col: int, flow: bool, gap: str = "", step: int = 0) -> str:
        step, out = step or self.step, []
        for op in ops:
            if flow:
                comment = f"{' ' * col}# {op.comment}\n" if op.comment else ""
                out.append(f"{gap}{comment}{' ' * col}{_flow_pair(op.name, op.value)}\n")
            else:
                out.append(gap + _block_entry(op.name, op.value, col, step, op.comment))
        return "".join(out)

    def block_append(self, order: int, entries: _Node, ops: list[Upsert]) -> None:
        text, col = self.text, entries.col
        at = _next_line(text, entries.end)
        scan = at
        while scan < len(text):  # comments indented inside the mapping still belong to it
            line_end = _next_line(text, scan)
            line = text[scan:line_end]
            if line.strip().startswith("#") and len(line) - len(line.lstrip(" ")) >= col:
                at = line_end
            elif line.strip():
                break
            scan = line_end
        last_key = entries.pairs[-1][0]
        previous = _line_start(text, _line_start(text, last_key.start) - 1)
        spaced = len(entries.pairs) > 1 and not text[previous : last_key.start].strip()
        flow = entries.pairs[-1][1].flow and "\n" not in text[last_key.start : entries.end]
        prefix = "" if text[:at].endswith("\n") or not at else "\n"
        steps = [v.col - k.col for k, v in entries.pairs if v.kind == "map" and not v.flow]
        step = next((s for s in steps if s > 0), self.step)  # as the neighbours are indented
        self.add(order, at, at, prefix + self.entries(ops, col, flow, "\n" * spaced, step))

    def new_section(self, order: int, ops: list[Upsert]) -> None:
        root = self.roots[-1] if self.roots else None
        if self.explicit_end or (root is not None and not root.empty and root.kind != "map"):
            raise _NeedsRoundTrip
        if root is not None and root.kind == "map" and (root.flow or root.col != 0):
            raise _NeedsRoundTrip
        text, end = self.text, len(self.text)
        after_other = any(s.start == end and s.text for s in self.splices)  # a section before it
        prefix = "" if not text or text.endswith("\n") else "\n"
        prefix += "\n" if text.strip() or after_other else ""
        body = f"{ops[0].section}:\n" + self.entries(ops, self.step, flow=False)
        self.add(order, end, end, prefix + body)

    def result(self) -> str:
        """The text with every splice made; insertions at one place in the edits' order."""
        pieces, done = [], 0
        for splice in sorted(self.splices, key=lambda s: (s.start, s.end > s.start, s.order)):
            if splice.start < done:  # overlapping splices: leave it to the round trip
                raise _NeedsRoundTrip
            pieces += [self.text[done : splice.start], splice.text]
            done = splice.end
        pieces.append(self.text[done:])
        return "".join(pieces)


def _splice(text: str, ops: Sequence[Op]) -> str:
    splicer = _Splicer(text)
    for order, op in enumerate(ops):
        if isinstance(op, Upsert):
            splicer.upsert(order, op)
        else:
            splicer.remove(order, op)
    splicer.finish(len(ops))
    return splicer.result()


def _round_trip(text: str, ops: Sequence[Op]) -> str:
    yaml = _yaml(_indent_step(_documents(text)[0]) if text.strip() else 2)
    docs = [doc for doc in yaml.load_all(text) if doc is not None] or [CommentedMap()]
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
        else:
            entries[op.name] = _commented(op.value, False)
    out = io.StringIO()
    yaml.dump_all(docs, out)
    return out.getvalue()


# -- checking what an edit did -------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _meaning(path: str, text: str) -> list[Any]:
    documents, problems = read_documents(path, text)
    if problems:
        raise ConfigError(problems)
    docs = [_plain(doc) for doc, _ in documents if doc is not None]
    for doc in docs:
        if isinstance(doc, dict):
            doc.update({k: {} for k, v in doc.items() if v is None})
    return docs


def _intended(path: str, docs: list[Any], ops: Sequence[Op]) -> list[Any]:
    docs = _plain(docs) or [{}]
    for op in ops:
        holder = next((d for d in docs if isinstance(d, dict) and op.section in d), docs[-1])
        entries = holder.setdefault(op.section, {}) if isinstance(holder, dict) else None
        if not isinstance(entries, dict):
            where = op.section if isinstance(holder, dict) else "the last document"
            raise EditError(f"{path}: {where} is not a mapping; fix the file first")
        if isinstance(op, Remove):
            entries.pop(op.name, None)
        elif isinstance(op.value, Mapping) and isinstance(entries.get(op.name), dict):
            entries[op.name].update(_plain(op.value))
        else:
            entries[op.name] = _plain(op.value)
    return docs


def edit_text(text: str, ops: Sequence[Op], path: str = "<text>") -> str:
    """``text`` with ``ops`` applied, every other byte kept where a splice can do it."""
    crlf = "\r\n" in text and "\n" not in text.replace("\r\n", "")
    bom = text.startswith("\ufeff")
    body = (
        text.removeprefix("\ufeff").replace("\r\n", "\n") if crlf else text.removeprefix("\ufeff")
    )
    before = _meaning(path, body)
    want = _intended(path, before, ops)
    result = None
    for method in (_splice, _round_trip):
        try:
            candidate = method(body, ops)
        except (_NeedsRoundTrip, YAMLError):
            continue
        try:
            if _meaning(path, candidate) == want:
                result = candidate
                break
        except ConfigError:
            continue
    if result is None:
        raise EditError(
            f"{path}: cannot make this edit without changing other entries; edit by hand"
        )
    if crlf:
        result = result.replace("\n", "\r\n")
    return ("\ufeff" if bom else "") + result


# -- a directory: choose files, check the whole config, write atomically -------------------------


def _decode(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise EditError(f"cannot read {path}: {exc}") from None


class ConfigEdit:
    """Edits of one config directory, checked together and written together."""

    def __init__(self, directory: Path | str, environ: Mapping[str, str] | None = None) -> None:
        self.directory = Path(directory)
        self.environ = dict(os.environ if environ is None else environ)
        self.sources = (
            read_sources(self.directory, self.environ)
            if self.directory.is_dir()
            else Sources(self.directory)
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
            before = _decode(path)
            after = edit_text(before or "", ops, display_path(path, self.directory))
            changes.append(FileChange(path, before, after))
        return changes

    def commit(self, dry_run: bool = False) -> list[FileChange]:
        """Check the whole directory after the edits; write them unless ``dry_run``."""
        changes = [c for c in self.changes() if c.after != c.before]
        self.check(changes)
        if not dry_run:
            for change in changes:
                _write(change.path, change.after)
        return changes

    def check(self, changes: Sequence[FileChange]) -> None:
        """Load a copy of the directory with ``changes``; raise its located ConfigError."""
        root = _absolute(self.directory)
        with tempfile.TemporaryDirectory(prefix="streamrec-edit-") as tmp:
            copy = Path(tmp) / "config"
            copy.mkdir()
            files = config_files(self.directory) if self.directory.is_dir() else []
            extra = [self.directory / ".env"] if (self.directory / ".env").is_file() else []
            for file in [*files, *extra]:
                target = copy / _absolute(file).relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, target)
            for change in changes:
                target = copy / change.path.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(change.after, encoding="utf-8", newline="")
            try:
                load_config(copy, self.environ)
            except ConfigError as exc:
                raise ConfigError([self._relocate(p, copy) for p in exc.problems]) from None

    def _relocate(self, problem: Problem, copy: Path) -> Problem:
        try:
            relative = _absolute(problem.path).relative_to(copy)
        except ValueError:
            return problem
        path = display_path(self.directory / relative, self.directory)
        return Problem(path, problem.line, problem.col, problem.message)


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
