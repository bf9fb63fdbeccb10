"""Where things stand in a file's text: a tree of nodes with character spans.

``spec.editing.splicing`` locates the declarations an edit touches here: :func:`documents` builds,
from one run of ruamel's C parser (its events carry character positions), a :class:`Node` per
mapping, sequence, scalar and alias, with the span of its content, its column, and whether it is in
flow style. :meth:`Node.pair` finds a key in a mapping, :func:`section` a section in any document,
:func:`indent_step` the file's own indentation. Nothing here renders or changes text.

A text the parser refuses raises :class:`~streamrec.spec.editing.ops.TryAnotherWay` (ruamel's
error translated here), so that the edit is left to the round trip and its checks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

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

from streamrec.spec.editing.ops import TryAnotherWay
from streamrec.spec.editing.roundtrip import parse_events

try:  # ruamel.yaml.clib's parser: ~8x faster positions for a large file
    from _ruamel_yaml import CParser as _CParser
except ImportError:  # pragma: no cover - pure Python fallback where the wheel is missing
    _CParser = None


@dataclass(eq=False)
class Node:
    """One node of a document and the span of its content in the text."""

    kind: str  # "map", "seq", "scalar" or "alias"
    start: int
    end: int  # just after the node's last character of content
    col: int
    flow: bool = False
    inflow: bool = False  # inside a flow collection (or one itself)
    style: str | None = None
    value: str = ""
    pairs: list[tuple[Node, Node]] = field(default_factory=list)
    index: dict[str, tuple[Node, Node]] | None = None

    @property
    def empty(self) -> bool:
        return self.kind == "scalar" and not self.style and self.value in {"", "~", "null"}

    def pair(self, key: str) -> tuple[Node, Node] | None:
        if self.index is None:  # built on first use: an import looks up thousands of names
            self.index = {}
            for pair in reversed(self.pairs):
                if pair[0].kind == "scalar":
                    self.index[pair[0].value] = pair
        return self.index.get(key)


def _events(text: str) -> list[Event]:
    if _CParser is None:  # pragma: no cover
        return parse_events(text)
    parser, events = _CParser(text), []
    while (event := parser.get_event()) is not None:
        events.append(event)
    return events


def _build(event: Event, events: Iterator[Event], text: str, inflow: bool = False) -> Node:
    start, col = event.start_mark.index, event.start_mark.column
    if isinstance(event, AliasEvent):
        return Node("alias", start, event.end_mark.index, col, inflow=inflow)
    if isinstance(event, ScalarEvent):
        end, style = event.end_mark.index, event.style or None
        if style in {"|", ">"}:  # a block scalar's span includes the line breaks after it
            while end > start and text[end - 1] in " \t\r\n":
                end -= 1
        return Node("scalar", start, end, col, inflow=inflow, style=style, value=event.value)
    node = Node("map" if isinstance(event, MappingStartEvent) else "seq", start, start, col)
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


def documents(text: str) -> tuple[list[Node], bool]:
    """The root node of every document, and whether the last one ends with an explicit ``...``."""
    try:
        events = iter(_events(text))
    except YAMLError:
        raise TryAnotherWay from None
    roots: list[Node] = []
    explicit_end = False
    for event in events:
        if isinstance(event, DocumentStartEvent):
            roots.append(_build(next(events), events, text))
        elif isinstance(event, DocumentEndEvent):
            explicit_end = bool(event.explicit)
    return roots, explicit_end


def section(roots: list[Node], name: str) -> tuple[Node, Node] | None:
    """The key and value of the section ``name`` in the first document that has it."""
    for root in roots:
        if root.kind == "map" and (found := root.pair(name)):
            return found
    return None


def line_start(text: str, index: int) -> int:
    """The index where the line holding ``index`` starts."""
    return text.rfind("\n", 0, index) + 1


def next_line(text: str, index: int) -> int:
    """The index where the line after the one holding ``index`` starts (or the text's end)."""
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def indent_step(roots: list[Node]) -> int:
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
