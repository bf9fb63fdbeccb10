"""The error tree drawn in ``streamrec/errors.py`` is the hierarchy the package really defines."""

from __future__ import annotations

import importlib
import pkgutil
import re

import streamrec
from streamrec import errors
from streamrec.errors import StreamrecError

# A line of the drawn tree: the root at the left margin of the block, each child four columns
# further in behind "├── " or "└── " (with "│   " for each open ancestor).
TREE_LINE = re.compile(r"^(?P<indent>(?:[│ ]   )*)(?P<branch>[├└]── )?(?P<name>[A-Z]\w*)(?:\s|$)")


def drawn_tree(doc: str) -> dict[str, str | None]:
    """Each class of the docstring's tree with its parent (``None`` for the root)."""
    lines = doc.split("::\n", 1)[1].splitlines()
    block = [line for line in lines if line.strip()]
    # The tree is the first indented block after "::"; it ends at the first unindented line.
    end = next((i for i, line in enumerate(block) if not line.startswith(" ")), len(block))
    margin = len(block[0]) - len(block[0].lstrip())
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in block[:end]:
        match = TREE_LINE.match(line[margin:])
        assert match, f"not a line of the error tree: {line!r}"
        depth = len(match["indent"]) // 4 + (1 if match["branch"] else 0)
        name = match["name"]
        assert name not in parents, f"{name} is drawn twice in the error tree"
        del stack[depth:]
        parents[name] = stack[-1] if stack else None
        stack.append(name)
    return parents


def defined_tree() -> dict[str, str | None]:
    """Every subclass of ``StreamrecError`` defined in the package, with its parent class."""
    for module in pkgutil.walk_packages(streamrec.__path__, "streamrec."):
        if module.name.rsplit(".", 1)[-1] != "__main__":  # importing it runs the command line
            importlib.import_module(module.name)
    parents: dict[str, str | None] = {StreamrecError.__name__: None}
    todo = [StreamrecError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if not sub.__module__.startswith("streamrec."):
                continue  # a test's own subclass, say
            parent = next(b for b in sub.__mro__[1:] if issubclass(b, StreamrecError))
            assert parents.get(sub.__name__, parent.__name__) == parent.__name__, (
                f"two error classes are named {sub.__name__}"
            )
            parents[sub.__name__] = parent.__name__
            todo.append(sub)
    return parents


def children(tree: dict[str, str | None]) -> dict[str | None, set[str]]:
    out: dict[str | None, set[str]] = {}
    for name, parent in tree.items():
        out.setdefault(parent, set()).add(name)
    return out


def test_the_drawn_tree_is_read_the_way_it_is_drawn() -> None:
    """The parser gives each drawn class the parent its indentation shows."""
    doc = "x\n\n::\n\n    Root\n    ├── A    text\n    │   └── B    more\n    └── C\n\nafter\n"
    assert drawn_tree(doc) == {"Root": None, "A": "Root", "B": "A", "C": "Root"}


def test_the_error_tree_in_errors_py_lists_every_error_class_under_its_real_parent() -> None:
    """Each parent's children in the docstring are exactly the subclasses the package defines."""
    assert errors.__doc__
    drawn, defined = children(drawn_tree(errors.__doc__)), children(defined_tree())
    wrong = []
    for parent in sorted(set(drawn) | set(defined), key=str):
        missing = sorted(defined.get(parent, set()) - drawn.get(parent, set()))
        extra = sorted(drawn.get(parent, set()) - defined.get(parent, set()))
        if missing:
            wrong.append(f"under {parent}, the tree lacks {', '.join(missing)}")
        if extra:
            wrong.append(
                f"under {parent}, the tree shows {', '.join(extra)}, which the code does not"
            )
    assert not wrong, "streamrec/errors.py's error tree is out of date:\n" + "\n".join(wrong)
