"""Adding, changing and removing entries as splices of a file's original text.

``spec.editing.text`` calls :func:`splice` first for every edit. A :class:`Splicer` parses the
text once (``spec.editing.spans``), turns each op into splices (a span replaced by new text
rendered by ``spec.editing.roundtrip``), and makes them all at the end, so every byte outside the
spans stays: comments, blank lines, odd spacing, flow mappings and anchors elsewhere.

- A new entry goes after the last one of its section, after the comments indented inside that
  section, in the style of its neighbours (block or one-line flow, blank-line separated or not);
  a missing section is appended to the file, an empty ``section:`` filled.
- A changed entry gets new values in the quote style of the old ones and missing fields after
  its last line.
- A removed entry loses its lines (and the blank line that separated it), not the comments above it;
  a field taken off an entry (``Upsert.unset``) likewise.

What a splice cannot express (an entry behind an alias, an explicit document end, overlapping
spans) raises :class:`~streamrec.spec.editing.ops.TryAnotherWay`: the round trip will try.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from streamrec.spec.editing.ops import EditError, Op, Remove, TryAnotherWay, Upsert
from streamrec.spec.editing.roundtrip import block_entry, flow_pair, scalar
from streamrec.spec.editing.spans import (
    Node,
    documents,
    indent_step,
    line_start,
    next_line,
    section,
)


@dataclass(frozen=True)
class _Splice:
    start: int
    order: int
    end: int
    text: str


class Splicer:
    """Turns edits into splices of one file's text, from one parse of it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.roots, self.explicit_end = documents(text)
        self.step = indent_step(self.roots)
        self.splices: list[_Splice] = []
        self.appends: dict[str, list[tuple[int, Upsert]]] = {}  # new entries, by section

    def add(self, order: int, start: int, end: int, text: str) -> None:
        self.splices.append(_Splice(start, order, end, text))

    def upsert(self, order: int, op: Upsert) -> None:
        found = section(self.roots, op.section)
        entries = found[1] if found else None
        if entries is not None and not entries.empty and entries.kind != "map":
            raise TryAnotherWay
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
        for name in op.unset:
            if (present := node.pair(name)) is not None:
                self.cut_pair(order, node, *present)

    def replace(self, order: int, node: Node, value: Any) -> None:
        if isinstance(value, (Mapping, list, tuple)):
            text = flow_pair("x", value)[len("x: ") :]
        else:
            text = scalar(value, node.style if node.kind == "scalar" else None, node.inflow)
        if node.empty and not node.value:  # `key:` with no value: write one after the colon
            self.add(order, node.start, node.start, " " + text)
        elif node.kind in {"scalar", "alias"} or node.flow:
            self.add(order, node.start, node.end, text)
        else:
            raise TryAnotherWay

    def insert_fields(self, order: int, node: Node, fields: dict[str, Any]) -> None:
        if node.flow:
            self.flow_insert(order, node, [flow_pair(k, v) for k, v in fields.items()])
            return
        at = next_line(self.text, node.end)
        prefix = "" if self.text[:at].endswith("\n") else "\n"
        body = "".join(block_entry(k, v, node.col, self.step, None) for k, v in fields.items())
        self.add(order, at, at, prefix + body)

    def flow_insert(self, order: int, node: Node, pairs: list[str]) -> None:
        close = node.end - 1
        if self.text[close] != "}":
            raise TryAnotherWay
        before = self.text[node.start + 1 : close].rstrip()
        at = node.start + 1 + len(before)
        sep = "" if not before.strip() else " " if before.endswith(",") else ", "
        self.add(order, at, at, sep + ", ".join(pairs))

    def remove(self, order: int, op: Remove) -> None:
        found = section(self.roots, op.section)
        entries = found[1] if found else None
        entry = entries.pair(op.name) if entries is not None and entries.kind == "map" else None
        if entries is None or entry is None:
            raise EditError(f"{op.section}.{op.name} is not in this file")
        self.cut_pair(order, entries, *entry)

    def cut_pair(self, order: int, mapping: Node, key: Node, value: Node) -> None:
        """Take ``key: value`` out of ``mapping``: its lines, or its place in a flow mapping."""
        if mapping.flow:
            start, end = key.start, value.end
            after = self.text[end:].lstrip(" \t\n")
            if after.startswith(","):  # `a: 1, b: 2` -> `b: 2`
                end = len(self.text) - len(after) + 1
                end += len(self.text[end:]) - len(self.text[end:].lstrip(" \t\n"))
            else:
                start = len(self.text[:start].rstrip(" \t\n").removesuffix(","))
            self.add(order, start, end, "")
            return
        start = line_start(self.text, key.start)
        if self.text[start : key.start].strip():
            raise TryAnotherWay
        end = next_line(self.text, value.end)
        before = self.text[line_start(self.text, start - 1) : start] if start else "x"
        if not before.strip() and self.text[end : next_line(self.text, end)].strip() == "":
            end = next_line(self.text, end)  # the blank line that separated it goes with it
        self.add(order, start, end, "")

    def finish(self, count: int) -> None:
        """Write the new entries: after every other splice at the same place, in the edits' order."""
        for name, numbered in self.appends.items():
            ops = [op for _, op in numbered]
            found = section(self.roots, name)
            section_key, entries = found if found else (None, None)
            order = numbered[0][0] + (2 * count if entries is None else count)
            if entries is None:
                self.new_section(order, ops)
            elif entries.empty:
                if section_key is None or entries.value:
                    raise TryAnotherWay
                at = next_line(self.text, section_key.end)
                col = section_key.col + self.step
                self.add(order, at, at, self.entries(ops, col, flow=False))
            elif entries.flow:
                self.flow_insert(order, entries, [flow_pair(o.name, o.value) for o in ops])
            else:
                self.block_append(order, entries, ops)

    def entries(self, ops: list[Upsert], col: int, flow: bool, gap: str = "", step: int = 0) -> str:
        step, out = step or self.step, []
        for op in ops:
            if flow:
                comment = f"{' ' * col}# {op.comment}\n" if op.comment else ""
                out.append(f"{gap}{comment}{' ' * col}{flow_pair(op.name, op.value)}\n")
            else:
                out.append(gap + block_entry(op.name, op.value, col, step, op.comment))
        return "".join(out)

    def block_append(self, order: int, entries: Node, ops: list[Upsert]) -> None:
        text, col = self.text, entries.col
        at = next_line(text, entries.end)
        scan = at
        while scan < len(text):  # comments indented inside the mapping still belong to it
            line_end = next_line(text, scan)
            line = text[scan:line_end]
            if line.strip().startswith("#") and len(line) - len(line.lstrip(" ")) >= col:
                at = line_end
            elif line.strip():
                break
            scan = line_end
        last_key = entries.pairs[-1][0]
        previous = line_start(text, line_start(text, last_key.start) - 1)
        spaced = len(entries.pairs) > 1 and not text[previous : last_key.start].strip()
        flow = entries.pairs[-1][1].flow and "\n" not in text[last_key.start : entries.end]
        prefix = "" if text[:at].endswith("\n") or not at else "\n"
        steps = [v.col - k.col for k, v in entries.pairs if v.kind == "map" and not v.flow]
        step = next((s for s in steps if s > 0), self.step)  # as the neighbours are indented
        self.add(order, at, at, prefix + self.entries(ops, col, flow, "\n" * spaced, step))

    def new_section(self, order: int, ops: list[Upsert]) -> None:
        root = self.roots[-1] if self.roots else None
        if self.explicit_end or (root is not None and not root.empty and root.kind != "map"):
            raise TryAnotherWay
        if root is not None and root.kind == "map" and (root.flow or root.col != 0):
            raise TryAnotherWay
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
                raise TryAnotherWay
            pieces += [self.text[done : splice.start], splice.text]
            done = splice.end
        pieces.append(self.text[done:])
        return "".join(pieces)


def splice(text: str, ops: Sequence[Op]) -> str:
    """``text`` with ``ops`` made as splices, or :class:`TryAnotherWay` when they cannot be."""
    splicer = Splicer(text)
    for order, op in enumerate(ops):
        if isinstance(op, Upsert):
            splicer.upsert(order, op)
        else:
            splicer.remove(order, op)
    splicer.finish(len(ops))
    return splicer.result()
