"""Reading YAML into plain values that remember where each value came from.

The loader (``spec.loading``) calls :func:`read_documents` for every config file. It is the one
module that imports ruamel.yaml for reading, and it translates ruamel's errors into located
:class:`~streamrec.errors.Problem` values.

Why not ruamel's own composer: the round-trip loader takes ~7 s and the safe composer ~1 s for a
10,000-channel directory, while the event stream of ruamel's C parser takes ~0.15 s. So this module
builds the values from parser events itself, resolving plain scalars by the YAML 1.2 core schema
(``20:00`` stays a string, ``on``/``yes`` stay strings), detecting duplicate keys with both
locations, and supporting anchors, aliases and ``<<`` merge keys. Every mapping is a :class:`YMap`
and every sequence a :class:`YSeq`: a ``dict``/``list`` that also holds the 1-based line and column
of each key and value, so that a validation error found later can be pointed at precisely.

Reading is bounded (``spec.limits``): events are pulled from the parser one at a time, and reading
stops with a located problem as soon as nesting grows past the depth limit, a scalar past the
length limit, or aliases past the expansion limit (each alias counts the expanded size of its
anchored node). So a deep ``[[[[...`` file stops after a few dozen events (the C parser's scanner
slows quadratically with flow depth), an alias bomb stops before anything walks its expansion,
and no nesting reaches Python's recursion limit.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from ruamel.yaml.reader import ReaderError

from streamrec.errors import Problem
from streamrec.spec.limits import DEFAULT_LIMITS, Limits

Pos = tuple[int, int]
"""A 1-based (line, column)."""


class YMap(dict[Any, Any]):
    """A mapping read from YAML: a plain ``dict`` plus where each key and value stood."""

    __slots__ = ("key_pos", "pos", "value_pos")

    def __init__(self, pos: Pos = (0, 0)) -> None:
        super().__init__()
        self.pos = pos
        self.key_pos: dict[Any, Pos] = {}
        self.value_pos: dict[Any, Pos] = {}


class YSeq(list[Any]):
    """A sequence read from YAML: a plain ``list`` plus where each item stood."""

    __slots__ = ("item_pos", "pos")

    def __init__(self, pos: Pos = (0, 0)) -> None:
        super().__init__()
        self.pos = pos
        self.item_pos: list[Pos] = []


_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INF = frozenset({".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"})
_NINF = frozenset({"-.inf", "-.Inf", "-.INF"})
_NAN = frozenset({".nan", ".NaN", ".NAN"})
_STR_TAGS = frozenset({"tag:yaml.org,2002:str", "!!str", "!"})


def resolve_plain(text: str) -> Any:
    """The value of a plain (unquoted) scalar under the YAML 1.2 core schema."""
    if text in _NULLS:
        return None
    first = text[0]
    if first in "tTfF":
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return text
    if first.isdigit() or first in "-+.":
        if _INT.match(text):
            return int(text)
        if _OCT.match(text):
            return int(text[2:], 8)
        if _HEX.match(text):
            return int(text[2:], 16)
        if _FLOAT.match(text):
            return float(text)
        if text in _INF:
            return math.inf
        if text in _NINF:
            return -math.inf
        if text in _NAN:
            return math.nan
    return text


def _pos(event: Event) -> Pos:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1)


class _LimitCrossed(Exception):
    """Raised inside the composer when a limit is crossed: the file is not read further."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Composer:
    """Turns one file's parser events into YMap/YSeq/scalar documents, collecting problems."""

    def __init__(self, path: str, events: Iterator[Event], limits: Limits) -> None:
        self.path = path
        self.events = events
        self.anchors: dict[str, Any] = {}
        self.sizes: dict[str, int] = {}
        """Anchor -> how many nodes its node stands for, expanded (aliases inside included)."""
        self.problems: list[Problem] = []
        self.limits = limits
        self.max_scalar = limits.scalar_chars
        self.depth = 0
        self.count = 0
        """Nodes composed so far, each alias counted as its anchored node's expanded size."""
        self.expanded = 0
        """Nodes brought in by aliases so far (in this file)."""

    def problem(self, pos: Pos, message: str) -> None:
        self.problems.append(Problem(self.path, pos[0], pos[1], message))

    def stop(self, event: Event, message: str) -> _LimitCrossed:
        line, col = _pos(event)
        return _LimitCrossed(
            Problem(self.path, line, col, f"{message}; the file is not read further")
        )

    def documents(self) -> Iterator[tuple[Any, Pos]]:
        for event in self.events:
            if isinstance(event, DocumentStartEvent):
                self.anchors, self.sizes = {}, {}
                value = self.node(next(self.events))
                yield value, _pos(event)
            elif isinstance(event, StreamEndEvent):
                return

    def node(self, event: Event) -> Any:
        if type(event) is ScalarEvent and event.tag is None and not event.anchor:
            # the common case, kept short: a plain or quoted scalar without tag or anchor
            text = event.value
            if len(text) > self.max_scalar:
                raise self.too_long(event)
            return resolve_plain(text) if event.implicit[0] else text
        if isinstance(event, AliasEvent):
            return self.alias(event)
        value: Any
        before = self.count
        if isinstance(event, ScalarEvent):
            value = self.scalar(event)
        elif isinstance(event, SequenceStartEvent):
            value = self.sequence(event)
        elif isinstance(event, MappingStartEvent):
            value = self.mapping(event)
        else:  # pragma: no cover - the parser only yields the events above inside a document
            raise AssertionError(f"unexpected YAML event {event!r}")
        anchor = getattr(event, "anchor", None)
        if anchor:
            self.anchors[anchor] = value
            self.sizes[anchor] = self.count - before + 1
        return value

    def alias(self, event: AliasEvent) -> Any:
        anchor = event.anchor
        if anchor not in self.anchors:
            self.problem(_pos(event), f"unknown alias *{anchor}")
            return None
        size = self.sizes[anchor]
        self.count += size - 1  # the alias itself is counted as one item by its container
        self.expanded += size
        if self.expanded > self.limits.alias_nodes:
            raise self.stop(
                event,
                f"aliases expand to more than {self.limits.alias_nodes:,} nodes, the limit of "
                f"alias expansion per file (*{anchor} alone stands for {size:,}; an alias bomb?)",
            )
        return self.anchors[anchor]

    def enter(self, event: Event) -> None:
        self.depth += 1
        if self.depth > self.limits.depth:
            raise self.stop(
                event,
                f"mappings and lists nested deeper than {self.limits.depth} levels "
                "(the limit of nesting)",
            )

    def too_long(self, event: ScalarEvent) -> _LimitCrossed:
        return self.stop(
            event,
            f"a value of {len(event.value):,} characters is longer than "
            f"{self.max_scalar:,} (the limit of one scalar)",
        )

    def scalar(self, event: ScalarEvent) -> Any:
        if len(event.value) > self.max_scalar:
            raise self.too_long(event)
        tag = event.tag
        if tag is not None and tag not in _STR_TAGS:
            if tag.startswith("tag:yaml.org,2002:"):
                short = tag.rsplit(":", 1)[1]
                if short in {"int", "float", "bool", "null"}:
                    return resolve_plain(event.value)
            self.problem(_pos(event), f"YAML tag {tag} is not supported here")
            return event.value
        if tag is None and event.implicit[0]:
            return resolve_plain(event.value)
        return event.value

    def sequence(self, start: SequenceStartEvent) -> YSeq:
        self.enter(start)
        seq = YSeq(_pos(start))
        positions, node = seq.item_pos, self.node
        for event in self.events:
            if type(event) is SequenceEndEvent:
                break
            mark = event.start_mark
            positions.append((mark.line + 1, mark.column + 1))
            seq.append(node(event))
        self.count += len(seq)
        self.depth -= 1
        return seq

    def mapping(self, start: MappingStartEvent) -> YMap:
        self.enter(start)
        result = YMap(_pos(start))
        merges: list[tuple[Pos, Any]] = []
        events, node = self.events, self.node
        for event in events:
            if type(event) is MappingEndEvent:
                break
            mark = event.start_mark
            key_pos = (mark.line + 1, mark.column + 1)
            key = node(event)
            value_event = next(events)
            mark = value_event.start_mark
            value_pos = (mark.line + 1, mark.column + 1)
            value = node(value_event)
            if key == "<<" and isinstance(event, ScalarEvent) and event.implicit[0]:
                merges.append((value_pos, value))
                continue
            if isinstance(key, (dict, list)):
                self.problem(key_pos, "a mapping key must be a plain value, not a mapping or list")
                continue
            if key in result:
                first = result.key_pos[key]
                self.problem(
                    key_pos,
                    f"duplicate key {key!r} (first defined at line {first[0]}, column {first[1]})",
                )
                continue
            result[key] = value
            result.key_pos[key] = key_pos
            result.value_pos[key] = value_pos
        for pos, source in merges:
            self.merge(result, pos, source)
        self.count += 2 * len(result)
        self.depth -= 1
        return result

    def merge(self, target: YMap, pos: Pos, source: Any) -> None:
        sources = source if isinstance(source, list) else [source]
        for item in sources:
            if not isinstance(item, YMap):
                self.problem(pos, "a '<<' merge key needs a mapping or a list of mappings")
                continue
            for key, value in item.items():
                if key not in target:
                    target[key] = value
                    target.key_pos[key] = item.key_pos[key]
                    target.value_pos[key] = item.value_pos[key]


try:  # ruamel.yaml.clib: the libyaml-based parser, ~10x faster than the pure one
    from _ruamel_yaml import CParser as _CParser
except ImportError:  # pragma: no cover - pure Python fallback where the wheel is missing
    _CParser = None

_yaml = YAML(typ="safe", pure=True)


def _events(text: str) -> Iterator[Event]:
    """The parser events of ``text``, pulled one at a time (so reading can stop at a limit)."""
    if _CParser is None:  # pragma: no cover
        return iter(_yaml.parse(io.StringIO(text)))
    return iter(_CParser(text).get_event, None)


def read_documents(
    path: str, text: str, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[tuple[Any, Pos]], list[Problem]]:
    """Every document of one file, each with where it starts, and the problems found.

    A syntax error ends the file's reading (YAML cannot resynchronise after one), and so does a
    crossed limit; what was read before either is discarded, and it is returned as a located
    problem.
    """
    composer = _Composer(path, _events(text), limits)
    try:
        documents = list(composer.documents())
    except _LimitCrossed as exc:
        return [], [exc.problem]
    except MarkedYAMLError as exc:
        return [], [_syntax_problem(path, text, exc)]
    except ReaderError as exc:  # the reader refuses characters YAML does not allow
        return [], [_reader_problem(path, text, exc)]
    except YAMLError as exc:  # pragma: no cover - ruamel raises marked errors for syntax
        return [], [Problem(path, 0, 0, f"YAML error: {exc}")]
    return documents, composer.problems


def _reader_problem(path: str, text: str, exc: ReaderError) -> Problem:
    position = exc.position if isinstance(exc.position, int) else 0
    before = text[:position]
    line, col = before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1
    character = exc.character
    if isinstance(character, str) and len(character) == 1:  # the pure reader gives the character
        character = ord(character)
    if not isinstance(character, int):  # pragma: no cover - both readers give one character
        character = 0
    return Problem(
        path, line, col, f"invalid YAML: character U+{character:04X} is not allowed in YAML"
    )


def _syntax_problem(path: str, text: str, exc: MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    message = exc.problem or exc.context or "invalid YAML"
    if mark is not None and mark.index < len(text) and text[mark.index] == "\t":
        message = "a tab character here: YAML indentation must use spaces, not tabs"
    if exc.context and exc.problem and exc.context_mark is not None:
        message = f"{message} ({exc.context} at line {exc.context_mark.line + 1})"
    if mark is None:  # pragma: no cover - syntax errors always carry a mark
        return Problem(path, 0, 0, f"invalid YAML: {message}")
    return Problem(path, mark.line + 1, mark.column + 1, f"invalid YAML: {message}")
