"""The "did you mean" of an unknown channel, task or queue name: a few close names, never the list.

:func:`unknown_name` says ``there is no channel named 'nwes' (did you mean 'news'?)``: at most
:data:`MAX_SUGGESTIONS` close names (``difflib``), or, when none is close, all the names if there are
that few, else how many there are and the command that lists them. So a directory of 20,000
channels still gets a one-line message.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection

MAX_SUGGESTIONS = 5

_LISTED_BY = {
    "channel": "streamrec channel list",
    "category": "streamrec category list",
    "task": "streamrec task list",
    "queue": "streamrec queue list",
}


def close_names(name: str, names: Collection[str], n: int = MAX_SUGGESTIONS) -> list[str]:
    """Up to ``n`` of ``names`` close to ``name``, the closest first."""
    return difflib.get_close_matches(name, list(names), n=n, cutoff=0.6)


def unknown_name(kind: str, name: str, names: Collection[str]) -> str:
    """The message for a ``kind`` (channel, task, queue) called ``name`` that is not declared."""
    head = f"there is no {kind} named {name!r}"
    close = close_names(name, names)
    if close:
        shown = (
            " or ".join(repr(n) for n in close) if len(close) <= 2 else ", ".join(map(repr, close))
        )
        return f"{head} (did you mean {shown}?)"
    if not names:
        return f"{head} (no {kind}s are declared)"
    if len(names) <= MAX_SUGGESTIONS:
        return f"{head} ({kind}s: {', '.join(sorted(names))})"
    listed = _LISTED_BY.get(kind, "streamrec status")
    return f"{head} ({len(names)} {kind}s are declared; {listed} shows them)"
