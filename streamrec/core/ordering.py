"""Task graphs: queue order, dependency closures, cycles, and the ready set of a running DAG.

Pure functions over ``deps`` (a mapping from a task name to the names it depends on), used by the
task runner (``runtime.tasks.runner``, ``runtime.tasks.graph``) to decide what runs next, and by the Python API
(``streamrec.api``) to order a queue and to refuse a cycle. Names a mapping does not know have no
dependencies. Nothing here runs anything or reads a clock.

Queue order is depth first: each name in the order given, its dependencies (in the order they are
declared) before it, every name once. Adding t1, t5, t4 where t4 -> t3 -> t5 -> t2 gives t1, t2, t5,
t3, t4. A cycle raises :class:`~streamrec.errors.DependenceError` naming it (``a -> b -> a``).
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from streamrec.errors import DependenceError

Deps = Mapping[str, Sequence[str]]
"""Task name -> the names it depends on, in declared order."""


def find_cycle(deps: Deps, start: Iterable[str] | None = None) -> list[str] | None:
    """One cycle reachable from ``start`` (default: every name) as ``[a, b, a]``, or None.

    ``[a, b, a]`` reads "a depends on b, b depends on a".
    """
    done: set[str] = set()
    for root in deps if start is None else start:
        if root in done:
            continue
        # iterative DFS keeping the current path, so a deep chain cannot hit the recursion limit
        path: list[str] = [root]
        on_path = {root}
        stack: list[Iterator[str]] = [iter(deps.get(root, ()))]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif child in on_path:
                return [*path[path.index(child) :], child]
            elif child not in done:
                path.append(child)
                on_path.add(child)
                stack.append(iter(deps.get(child, ())))
    return None


def check_acyclic(deps: Deps, start: Iterable[str] | None = None, label: str = "{}") -> None:
    """Raise DependenceError naming a cycle reachable from ``start``; ``label`` formats a name."""
    cycle = find_cycle(deps, start)
    if cycle is not None:
        path = " -> ".join(label.format(name) for name in cycle)
        raise DependenceError(f"dependency cycle: {path}; no task in it can ever run")


def queue_order(names: Iterable[str], deps: Deps) -> list[str]:
    """Every name and its dependencies, dependencies first, each once (see the module doc)."""
    names = list(names)
    check_acyclic(deps, names)
    order: list[str] = []
    seen: set[str] = set()
    for root in names:
        if root in seen:
            continue
        # post-order DFS: a name is placed once all its dependencies are placed
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(deps.get(root, ())))]
        seen.add(root)
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                order.append(name)
            elif child not in seen:
                seen.add(child)
                stack.append((child, iter(deps.get(child, ()))))
    return order


def closure(names: Iterable[str], deps: Deps) -> set[str]:
    """The names and everything they depend on, directly or not."""
    found: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(deps.get(name, ()))
    return found


def dependents(name: str, deps: Deps) -> set[str]:
    """Every name that depends on ``name``, directly or not (``name`` itself excluded)."""
    reverse: dict[str, list[str]] = {}
    for node, parents in deps.items():
        for parent in parents:
            reverse.setdefault(parent, []).append(node)
    found: set[str] = set()
    todo = list(reverse.get(name, ()))
    while todo:
        node = todo.pop()
        if node not in found:
            found.add(node)
            todo.extend(reverse.get(node, ()))
    return found


def missing_dependencies(name: str, deps: Deps, satisfied: Callable[[str], bool]) -> list[str]:
    """What ``--with-deps`` runs before ``name``, in queue order.

    A dependency that is satisfied is not run again and its own dependencies are not looked at
    (they only matter for running it); one that is not is run, after whatever it misses itself.
    """
    check_acyclic(deps, [name])
    needed: set[str] = set()
    todo = [d for d in deps.get(name, ()) if not satisfied(d)]
    while todo:
        dep = todo.pop()
        if dep not in needed:
            needed.add(dep)
            todo.extend(d for d in deps.get(dep, ()) if not satisfied(d))
    return [n for n in queue_order([name], deps) if n in needed]


def blocked_by(name: str, deps: Deps, outcomes: Mapping[str, str]) -> str | None:
    """The first dependency of ``name`` that ended but did not complete, if any."""
    for dep in deps.get(name, ()):
        status = outcomes.get(dep)
        if status is not None and status != "completed":
            return dep
    return None


class ReadySet:
    """The progress of one DAG run: which names may start now, which are skipped and why.

    A thin layer over :class:`graphlib.TopologicalSorter` (``get_ready``/``done``): the caller
    starts what :meth:`take` returns, reports each end with :meth:`finish`, and stops when
    :attr:`active` is false. A name whose dependency did not complete is never handed out: it comes
    back from :meth:`take` in the skipped list (``(name, dependency)``), and so do its dependents.
    Only dependencies inside the run count; ``order`` fixes the order names are handed out in.
    """

    def __init__(self, order: Sequence[str], deps: Deps) -> None:
        members = set(order)
        self._position = {name: i for i, name in enumerate(order)}
        self._deps = {name: [d for d in deps.get(name, ()) if d in members] for name in order}
        check_acyclic(self._deps, order)
        self._sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter(self._deps)
        self._sorter.prepare()
        self.outcomes: dict[str, str] = {}

    @property
    def active(self) -> bool:
        """True while some name has not ended."""
        return self._sorter.is_active()

    def take(self) -> tuple[list[str], list[tuple[str, str]]]:
        """Names that may start now (in order), and names skipped with the dependency to blame."""
        runnable: list[str] = []
        skipped: list[tuple[str, str]] = []
        ready = list(self._sorter.get_ready())
        while ready:
            for name in sorted(ready, key=self._position.__getitem__):
                culprit = blocked_by(name, self._deps, self.outcomes)
                if culprit is None:
                    runnable.append(name)
                else:
                    skipped.append((name, culprit))
                    self.finish(name, "skipped")
            ready = list(self._sorter.get_ready())  # dependents of what was just skipped
        return runnable, skipped

    def finish(self, name: str, status: str) -> None:
        """Record how ``name`` ended; its dependents become ready (or skipped) on the next take."""
        self.outcomes[name] = status
        self._sorter.done(name)
