"""A plan's actions as text lines: the one rendering of ``streamrec plan`` and the config API.

``cli.config`` prints these lines for ``plan`` and ``apply`` (with colour on a terminal, through
``head``), and ``app.configchecks`` puts them in the config API's answers and in a git commit's
message. One object a line (``+`` add, ``~`` change, ``-`` remove), each changed field indented
below it as ``path: old -> new``; a secret's change shows only that a secret changed. Every line
passes through ``core.printable``, so a name or value from the config cannot move the cursor or
forge a line. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from streamrec.core import planning
from streamrec.core.printable import printable

MARKS = {"add": "+", "change": "~", "remove": "-"}
"""The mark of each kind of action."""


def show_value(value: object) -> str:
    """A field's value as a plan line shows it: ``(none)``, the string itself, or JSON."""
    if value is None:
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def action_lines(
    actions: Sequence[planning.Action],
    indent: str = "",
    head: Callable[[str, str], str] | None = None,
) -> list[str]:
    """One line per action and one per changed field below it, each after ``indent``.

    ``head(line, op)`` may dress an action's own line (the CLI colours it by ``op``).
    """
    lines: list[str] = []
    for action in actions:
        line = f"{MARKS[action.op]} {printable(action.key)}"
        lines.append(indent + (head(line, action.op) if head else line))
        for change in action.changes:
            if change.path == planning.SECRET_CHANGED:
                lines.append(f"{indent}    {change.path}")
            else:
                shown = f"    {change.path}: {show_value(change.old)} -> {show_value(change.new)}"
                lines.append(indent + printable(shown))
    return lines
