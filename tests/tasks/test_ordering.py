"""The pure task-graph decisions: queue order, cycles, ready sets, readiness, names."""

from __future__ import annotations

import pytest

from streamrec.core.definitions import definition_hash
from streamrec.core.lifecycle import (
    display,
    once_due,
    retry_delay,
    safe_name,
    unmet_dependencies,
)
from streamrec.core.ordering import (
    ReadySet,
    closure,
    dependents,
    find_cycle,
    missing_dependencies,
    queue_order,
)
from streamrec.errors import DependenceError
from streamrec.spec.model import Task

CHAIN = {"t4": ["t3"], "t3": ["t5"], "t5": ["t2"]}


def test_queue_order_inserts_dependencies_first_and_each_name_once() -> None:
    """Adding t1, t5, t4 where t4 -> t3 -> t5 -> t2 gives t1, t2, t5, t3, t4."""
    assert queue_order(["t1", "t5", "t4"], CHAIN) == ["t1", "t2", "t5", "t3", "t4"]
    assert queue_order(["t4", "t4", "t5"], CHAIN) == ["t2", "t5", "t3", "t4"]


def test_a_cycle_is_refused_with_its_path() -> None:
    """A cycle anywhere below the names raises DependenceError naming it."""
    deps = {"a": ["b"], "b": ["c"], "c": ["a"], "x": []}
    assert find_cycle(deps) == ["a", "b", "c", "a"]
    assert find_cycle(deps, ["x"]) is None
    with pytest.raises(DependenceError, match="a -> b -> c -> a"):
        queue_order(["x", "a"], deps)


def test_a_long_chain_does_not_hit_the_recursion_limit() -> None:
    """Ordering is iterative: a 5,000-long chain orders fine."""
    deps = {f"n{i}": [f"n{i - 1}"] for i in range(1, 5000)}
    order = queue_order(["n4999"], deps)
    assert order[0] == "n0" and order[-1] == "n4999" and len(order) == 5000


def test_closure_and_dependents_follow_edges_both_ways() -> None:
    """closure goes down to what is needed, dependents up to what needs it."""
    assert closure(["t4"], CHAIN) == {"t4", "t3", "t5", "t2"}
    assert dependents("t5", CHAIN) == {"t3", "t4"}


def test_missing_dependencies_skips_what_is_satisfied() -> None:
    """--with-deps runs only what is not satisfied, and what that needs, in order."""
    assert missing_dependencies("t4", CHAIN, lambda n: n == "t5") == ["t3"]
    assert missing_dependencies("t4", CHAIN, lambda n: False) == ["t2", "t5", "t3"]
    assert missing_dependencies("t4", CHAIN, lambda n: True) == []


def test_the_ready_set_hands_out_branches_and_skips_dependents_of_failures() -> None:
    """Independent names are ready together; a failure skips its dependents transitively."""
    deps = {"b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []}
    ready = ReadySet(["a", "b", "c", "d", "e"], deps)
    assert ready.take() == (["a", "e"], [])
    ready.finish("a", "completed")
    ready.finish("e", "completed")
    assert ready.take() == (["b", "c"], [])
    ready.finish("b", "failed")
    assert ready.take() == ([], [])
    ready.finish("c", "completed")
    assert ready.take() == ([], [("d", "b")])
    assert not ready.active


def test_readiness_wants_the_current_definition_completed() -> None:
    """A dependency is ready only if its latest run completed for its current definition."""
    tasks = {"a": Task(command="true"), "b": Task(command="true", depends_on=("a",))}
    current = definition_hash(tasks["a"])
    assert unmet_dependencies("b", tasks, {})[0].state == "never run"
    done = {"a": {"run": 1, "status": "completed", "definition": current}}
    assert unmet_dependencies("b", tasks, done) == []
    old = {"a": {"run": 1, "status": "completed", "definition": "0" * 16}}
    assert "older definition" in unmet_dependencies("b", tasks, old)[0].state
    failed = {"a": {"run": 2, "status": "failed", "definition": current}}
    assert str(unmet_dependencies("b", tasks, failed)[0]) == "'a' (failed)"


def test_once_tasks_are_due_once_per_definition() -> None:
    """A once task is due until a run of its current definition exists, failed or not."""
    tasks = {"init": Task(command="true", schedule="once"), "cron": Task(command="true")}
    assert once_due(tasks, {}) == ["init"]
    ran = {"init": {"run": 1, "status": "failed", "definition": definition_hash(tasks["init"])}}
    assert once_due(tasks, ran) == []
    assert once_due(tasks, {"init": {"run": 1, "definition": "old"}}) == ["init"]


def test_retry_waits_double_up_to_an_hour() -> None:
    """The backoff doubles per attempt and is capped."""
    assert [retry_delay(10, n) for n in (1, 2, 3)] == [10, 20, 40]
    assert retry_delay(10, 30) == 3600


def test_safe_names_are_plain_and_distinct() -> None:
    """Hostile names become plain file names, and different names stay different."""
    assert safe_name("remux-mp4") == "remux-mp4"
    names = ["../x", "a b", "a_b", "..", ".", "", "ünï", "a/b"]
    safe = [safe_name(n) for n in names]
    assert len(set(safe)) == len(safe)
    for name in safe:
        assert name and not name.startswith(".") and "/" not in name
        assert all(c.isascii() and (c.isalnum() or c in "_-") for c in name)


def test_display_names_are_capitalised_words() -> None:
    """Each status has a display name; unknown and empty ones read sensibly."""
    assert display("completed") == "Completed" and display("canceled") == "Canceled"
    assert display(None) == "Idle" and display("interrupted") == "Interrupted"
