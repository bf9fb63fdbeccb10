"""The read view of the fold: a copy that readers share, renewed only where events changed it.

``FoldCache`` keeps the live fold, which every new event mutates in place; handing it to readers
would let them see it change under them, and copying all of it per read costs time that grows
with the history (10-25 ms at 721 recordings, per request, on a 2-core host). So the cache folds
new events through a :class:`Writes` tracker, which notes what the reducers reach: per table
(``channels``, ``tasks``, ``queues``, ``recordings``) the keys of the entries they read or write,
and any other top-level value (``seq``, ``config``, ``daemon``) as a whole. :func:`publish` then
makes the next view from the last one: a new top-level dict, the untouched tables and entries
shared as they are (the very same objects), and only what the events reached copied afresh from
the live fold. A read view is never modified once published, so sharing it is safe; the live fold
shares no object with any view.

A reducer that reaches a table some other way than by key (iterating it, say) marks the whole
table, which is then copied whole: slower, never wrong.

The entries of ``recordings`` (:data:`SHARED`) are not copied at all: the fold never changes one in
place (``recording.processed`` replaces its entry with a new dict), so the view holds the very
entry the fold made. That halves what the history of finished files costs in memory (a view
would otherwise hold a second copy of every recording it was published after).
"""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

State = dict[str, Any]

TABLES = frozenset({"channels", "tasks", "queues", "recordings"})
"""The top-level values whose entries are tracked one by one (the others are copied whole)."""
SHARED = frozenset({"recordings"})
"""Tables whose entries the fold replaces and never changes in place: shared, not copied."""


@dataclass
class Changes:
    """What the events folded since the last view reached."""

    everything: bool = True
    """The fold was made afresh (first read, compaction, a rewritten tail): copy it all."""
    whole: set[str] = field(default_factory=set)
    """Top-level names to copy whole."""
    keys: dict[str, set[str]] = field(default_factory=dict)
    """Per table, the entries to copy."""
    removed: dict[str, set[str]] = field(default_factory=dict)
    """Per table, the entries removed (one added again moves to the end, as in the fold)."""

    def __bool__(self) -> bool:
        return self.everything or bool(self.whole) or any(self.keys.values())


@dataclass(frozen=True)
class ReadView:
    """One published view: the state, its number, and what changed since the one before."""

    state: State
    """Never modified once published."""
    generation: int
    """One more than the view before it."""
    changes: Changes
    """What differs from the view of ``generation - 1`` (``everything``: all of it may)."""


class _TableWrites:
    """One table of the live fold as the reducers see it: every key they reach is noted."""

    __slots__ = ("_changes", "_keys", "_name", "_table")

    def __init__(self, name: str, table: dict[str, Any], changes: Changes) -> None:
        self._name, self._table, self._changes = name, table, changes
        self._keys = changes.keys.setdefault(name, set())

    def get(self, key: str, default: Any = None) -> Any:
        self._keys.add(key)
        return self._table.get(key, default)

    def __getitem__(self, key: str) -> Any:
        self._keys.add(key)
        return self._table[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._keys.add(key)
        self._table[key] = value

    def __delitem__(self, key: str) -> None:
        self._removed(key)
        del self._table[key]

    def __contains__(self, key: object) -> bool:
        return key in self._table

    def pop(self, key: str, *default: Any) -> Any:
        self._removed(key)
        return self._table.pop(key, *default)

    def _removed(self, key: str) -> None:
        self._keys.add(key)
        self._changes.removed.setdefault(self._name, set()).add(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._keys.add(key)
        return self._table.setdefault(key, default)

    def __getattr__(self, name: str) -> Any:
        self._changes.whole.add(self._name)  # reached in a way not tracked: copy it whole
        return getattr(self._table, name)


class Writes:
    """The live fold as the reducers see it while :class:`Changes` notes what they reach."""

    __slots__ = ("_changes", "_state")

    def __init__(self, state: State, changes: Changes) -> None:
        self._state, self._changes = state, changes

    def __getitem__(self, name: str) -> Any:
        value = self._state[name]
        if name in TABLES and isinstance(value, dict):
            return _TableWrites(name, value, self._changes)
        self._changes.whole.add(name)
        return value

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self._state else default

    def __setitem__(self, name: str, value: Any) -> None:
        self._changes.whole.add(name)
        self._state[name] = value

    def __contains__(self, name: object) -> bool:
        return name in self._state

    def __getattr__(self, name: str) -> Any:
        self._changes.whole.update(self._state)  # reached in a way not tracked: copy it all
        return getattr(self._state, name)


def _copy(value: Any) -> Any:
    """A deep copy of JSON-like data (pickle is several times faster than ``copy.deepcopy``)."""
    return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301  # our own bytes


def publish(view: State | None, live: State, changes: Changes) -> State:
    """The next read view: ``view`` with what ``changes`` names copied afresh from ``live``.

    Untouched tables and entries are the same objects as in ``view``; nothing returned is shared
    with ``live`` but the entries of :data:`SHARED` tables. With no ``view`` (or
    ``changes.everything``) all of ``live`` is copied (those entries again shared).
    """
    if view is None or changes.everything:
        fresh: State = _copy({name: v for name, v in live.items() if name not in SHARED})
        for name in SHARED & live.keys():
            fresh[name] = dict(live[name])  # a table of its own, the entries shared
        return {name: fresh[name] for name in live}
    new = dict(view)
    whole = [name for name in changes.whole if name in live]
    new.update(_copy({name: live[name] for name in whole}))
    for name in changes.whole - set(whole):
        new.pop(name, None)
    for table, keys in changes.keys.items():
        if keys and table not in changes.whole and isinstance(live.get(table), dict):
            new[table] = _renewed(
                new.get(table) or {},
                live[table],
                keys,
                changes.removed.get(table, set()),
                _same if table in SHARED else _copy,
            )
    if list(new) != list(live):
        new = {name: new[name] for name in live}  # the fold's order (a few top-level names)
    return new


def _same(value: Any) -> Any:
    """``value`` itself: the entries of a :data:`SHARED` table, which no one changes."""
    return value


def _renewed(
    entries: dict[str, Any],
    source: dict[str, Any],
    keys: set[str],
    removed: set[str],
    copy: Callable[[Any], Any] = _copy,
) -> dict[str, Any]:
    """The table ``entries`` with ``keys`` copied again from ``source``, in ``source``'s order.

    An entry the fold added (or removed and added again) is at its end, in order: the last
    entries of ``source`` are appended so, and the rest keep their places.
    """
    renewed = dict(entries)
    moved = [key for key in keys if key in source and (key not in renewed or key in removed)]
    for key in keys:
        if key not in source or key in moved:
            renewed.pop(key, None)
    renewed.update(copy({key: source[key] for key in keys if key in renewed}))
    last = list(itertools.islice(reversed(source), len(moved)))[::-1]
    renewed.update(copy({key: source[key] for key in last}))
    if set(last) != set(moved) or len(renewed) != len(source):  # never expected: to be sure
        return {key: renewed.get(key) or copy(source[key]) for key in source}
    return renewed
