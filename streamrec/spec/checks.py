"""Checks beyond the schema: every reference names something declared, and tasks form no cycle.

Called by ``spec.loading`` once the model validated. References are: a channel's ``category``, its
``on_segment``/``on_recording_end`` hook tasks (also in ``settings.defaults``), a task's
``depends_on`` and a queue's ``tasks``. A dependency cycle is reported as its path
(``a -> b -> c -> a``) with the location of each edge; every distinct cycle is reported.
"""

from __future__ import annotations

import graphlib
import itertools
from collections.abc import Iterator

from streamrec.errors import Problem
from streamrec.spec.sources import Origin, Sources, suggest
from streamrec.spec.yamlio import Pos, YMap, YSeq

_MAX_CYCLES = 20
"""Stop reporting cycles after this many: the rest are almost surely the same mistake."""


def check_config(sources: Sources) -> list[Problem]:
    """Every dangling reference and every dependency cycle in the merged sources.

    The checks read the raw values, so they run even when the schema found problems: one run
    reports everything.
    """
    return [*_references(sources), *_cycles(sources)]


def _item_positions(origin: Origin, field: str) -> Iterator[tuple[str, Pos]]:
    """Each name in a string-or-list field of a declared object, with its position."""
    node = origin.holder[origin.key]
    if not isinstance(node, YMap) or field not in node:
        return
    value = node[field]
    if isinstance(value, YSeq):
        for item, pos in zip(value, value.item_pos, strict=True):
            if isinstance(item, (str, int)):
                yield str(item), pos
    elif isinstance(value, (str, int)):
        yield str(value), node.value_pos[field]


def _dangling(
    sources: Sources,
    origin: Origin,
    field: str,
    names: set[str],
    what: str,
    owner: str,
) -> Iterator[Problem]:
    for name, (line, col) in _item_positions(origin, field):
        if name not in names:
            yield Problem(
                origin.path,
                line,
                col,
                f"{owner}: {field} names {what} {name!r}, which is not declared"
                f"{suggest(name, names)}",
            )


def _references(sources: Sources) -> Iterator[Problem]:
    origins = sources.origins
    raw = sources.raw
    tasks = set(raw["tasks"])
    categories = set(raw["categories"])
    for name in raw["channels"]:
        origin = origins[("channels", name)]
        owner = f"channel {name!r}"
        yield from _dangling(sources, origin, "category", categories, "category", owner)
        for hook in ("on_segment", "on_recording_end"):
            yield from _dangling(sources, origin, hook, tasks, "task", owner)
    defaults = origins.get(("settings", "defaults"))
    if defaults is not None:
        for hook in ("on_segment", "on_recording_end"):
            yield from _dangling(sources, defaults, hook, tasks, "task", "settings.defaults")
    for name in raw["tasks"]:
        origin = origins[("tasks", name)]
        yield from _dangling(sources, origin, "depends_on", tasks, "task", f"task {name!r}")
    for name in raw["queues"]:
        origin = origins[("queues", name)]
        yield from _dangling(sources, origin, "tasks", tasks, "task", f"queue {name!r}")


def _cycles(sources: Sources) -> Iterator[Problem]:
    tasks = sources.raw["tasks"]
    graph: dict[str, set[str]] = {
        name: {dep for dep, _ in _item_positions(sources.origins[("tasks", name)], "depends_on")}
        & tasks.keys()
        for name in tasks
    }
    for _ in range(_MAX_CYCLES):
        cycle = _find_cycle(graph)
        if cycle is None:
            return
        yield _cycle_problem(cycle, sources)
        # break this cycle at its first edge and look for another
        graph[cycle[0]].discard(cycle[1])


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, c, a]`` where a depends on b, b on c, c on a; None when acyclic."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        found: list[str] = exc.args[1]
        # graphlib lists the cycle along predecessor links: [x, ..., x] with each node a
        # dependency of the next; turn it around so that each node depends on the next.
        path = list(reversed(found))
        start = path.index(min(path[:-1]))  # a stable starting point for stable messages
        ring = path[:-1]
        ring = ring[start:] + ring[:start]
        return [*ring, ring[0]]
    return None


def _cycle_problem(cycle: list[str], sources: Sources) -> Problem:
    edges: list[str] = []
    first: tuple[str, Pos] | None = None
    for here, there in itertools.pairwise(cycle):
        origin = sources.origins[("tasks", here)]
        pos = next((p for n, p in _item_positions(origin, "depends_on") if n == there), None)
        where = f"{origin.path}:{pos[0]}:{pos[1]}" if pos else str(origin)
        edges.append(f"{here} -> {there} at {where}")
        if first is None:
            first = (origin.path, pos or origin.key_pos)
    assert first is not None
    path, (line, col) = first
    arrow = " -> ".join(cycle)
    return Problem(
        path,
        line,
        col,
        f"dependency cycle: {arrow} ({'; '.join(edges)}); remove one of these edges",
    )
