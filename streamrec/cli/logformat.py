"""``--log-format json``: one log record as one flat JSON object on one line. Pure: record → dict →
line; ``cli.app`` redacts what it gets and writes the line to standard error.

Each line holds, in this order:

- ``ts``: when, in UTC with its offset and milliseconds (``2026-12-02T02:41:47.481+00:00``);
- ``level``: lowercase (``trace``, ``debug``, ``info``, ``success``, ``warning``, ``error``,
  ``critical``);
- ``msg``: the message, already redacted and made printable by the log patcher (one line);
- ``logger``: the module that logged (``streamrec.daemon.channels``);
- the record's bound fields at the top level (``channel``, ``task``, ``run_id``, ``queue``,
  ``event``, ``revision``, ...); one whose name is taken by the fields above is written with an
  ``extra_`` prefix instead;
- ``exception``: the traceback text, only when the record carries one.

The line is ASCII: every character outside it, and every control character, is a JSON escape, so a
log line can neither be split nor recolour a terminal whatever a name or a stream title holds.
Values JSON cannot hold (a path, a datetime) are written as their text, and a mapping as its JSON
text, so the object stays flat. docs/logging.md shows an example.

What a command prints on standard error for people (``error: ...``, a config's located problems,
``warning: ...``) becomes such lines too (:func:`console_fields`), with ``logger`` ``streamrec.cli``,
so that with ``--log-format json`` every line on standard error is one object.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

FIXED = ("ts", "level", "msg", "logger", "exception")
"""The fields every line may have; bound fields never replace them."""
EXTRA_PREFIX = "extra_"
CONSOLE_LOGGER = "streamrec.cli"
"""The ``logger`` of the lines a command prints on standard error for people."""
_PROBLEM = re.compile(r"^[^\s:][^:]*:\d+(:\d+)?: ")
"""A located config problem: ``file:line:col: message``."""


def timestamp(when: datetime) -> str:
    """``when`` in UTC, ISO 8601 with milliseconds and the ``+00:00`` offset."""
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def exception_text(exception: Any) -> str | None:
    """The traceback of a record's ``(type, value, traceback)``, without local variables."""
    if exception is None:
        return None
    kind, value, tb = exception
    if kind is None:
        return None
    return "".join(traceback.format_exception(kind, value, tb)).rstrip("\n")


def plain(value: Any) -> Any:
    """A bound value as JSON holds it at the top level: strings, numbers, booleans, null and lists
    of those as they are, a mapping as its JSON text (the line stays flat), anything else as its
    text (so that the redactor, which reads strings, sees it)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return str(value)


def record_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """The flat fields of one loguru record (see the module docstring)."""
    fields: dict[str, Any] = {
        "ts": timestamp(record["time"]),
        "level": str(record["level"].name).lower(),
        "msg": record["message"],
        "logger": record["name"],
    }
    for key, value in (record.get("extra") or {}).items():
        name = str(key)
        fields[f"{EXTRA_PREFIX}{name}" if name in FIXED else name] = plain(value)
    text = exception_text(record.get("exception"))
    if text is not None:
        fields["exception"] = text
    return fields


def json_line(fields: Mapping[str, Any]) -> str:
    """One JSON object and a newline; ASCII only, so no character in it can break the line."""
    return json.dumps(fields, ensure_ascii=True, default=str, separators=(",", ":")) + "\n"


def console_level(line: str) -> str:
    """The level of a line printed for people: ``error``/``warning`` by its prefix or for a located
    problem (``file:line:col: message``), else ``info``."""
    if line.startswith("warning:"):
        return "warning"
    if line.startswith("error:") or _PROBLEM.match(line):
        return "error"
    return "info"


def console_fields(line: str, now: datetime) -> dict[str, Any]:
    """The flat fields of one line a command printed on standard error at ``now``."""
    return {
        "ts": timestamp(now),
        "level": console_level(line),
        "msg": line,
        "logger": CONSOLE_LOGGER,
    }
