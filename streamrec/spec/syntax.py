"""The exact text syntax of config values, as regular expressions: durations, sizes, times of day,
date-times, weekdays, ``segment: none`` and ``http.listen`` addresses.

One pattern per kind of value serves twice: the field validators check every string against it
(the parsers here for durations, sizes, times of day and date-times, which ``spec.fields`` wraps,
after ``spec.units`` has accepted the value, so its messages come first; ``spec.model``'s own
validators for the others), and ``spec.fields`` and ``spec.model`` publish the same pattern in the
JSON Schema (``spec.schema``). Each pattern
only accepts what its parser accepts, so a string is valid for ``validate`` exactly when the
schema's pattern matches it, in an editor too.

The patterns are written for both regular expression dialects that read them: Python's ``re``
(``validate``, and the ``jsonschema`` package, which calls ``re.search``) and ECMAScript (editors'
YAML language servers). So they use ASCII classes only (``[0-9]``, never ``\\d``; the whitespace
``[ \\t\\n\\r\\f\\v]``; ``\\s`` only inside ``[\\s\\S]``, any character in both), and
anchor with ``^``/``$`` (Python's ``$`` also matches before a final newline: the patterns whose
parsers strip whitespace accept it anyway, :data:`DATE_TIME` and :data:`LISTEN` add ``(?!\\n)``).
What the patterns leave out, the parsers would accept only in odd spellings: non-ASCII digits or
spaces, a Kelvin sign for K, lowercase ``t``/``z``, ``_`` or ``,`` in a date-time.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import datetime, time
from typing import Any

from streamrec.spec import units

_WS = r"[ \t\n\r\f\v]*"
"""Whitespace around a value (the parsers strip it)."""

_NUMBER = r"[0-9](?: *[0-9]){0,17}(?: *\. *[0-9](?: *[0-9])*)?"
"""A duration's number: up to 18 digits and a fraction; spaces anywhere (the parser drops them)."""
_DURATION_PART = rf"{_NUMBER} *(?:m *s|d|h|m|s)"
_DURATIONS = rf"{_DURATION_PART}(?: *{_DURATION_PART})*"

OPTIONAL_DURATION = rf"^{_WS}{_DURATIONS}{_WS}$"
"""A duration that may be zero: ``0s``, ``90s``, ``1h30m``, ``250ms``, ``1.5h``, ``1h 30m``."""
DURATION = rf"^(?=[^1-9]*[1-9]){_WS}{_DURATIONS}{_WS}$"
"""A positive duration: :data:`OPTIONAL_DURATION` with at least one non-zero digit."""

SIZE = rf"^{_WS}[0-9]{{1,18}}(?:\.[0-9]+)?{_WS}(?:[KMGTPkmgtp][Ii]?[Bb]|[Bb])?{_WS}$"
"""A size: ``5GB`` (powers of 1000), ``200MiB`` (powers of 1024), ``512 kb``, ``1000000``."""

TIME_OF_DAY = rf"^{_WS}(?:[01]?[0-9]|2[0-3]):[0-5][0-9]{_WS}$"
"""A time of day on the 24-hour clock: ``7:30``, ``07:30``, ``23:59``."""

_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
_OFFSET = rf"(?:Z|[+-]{_CLOCK})"

DATE_TIME = rf"^{_DATE}(?:[T ]{_CLOCK}(?::[0-5][0-9](?:\.[0-9]+)?)?{_OFFSET}?)?$(?!\n)"
"""A calendar date and time: ``2026-12-31T23:00`` (local time in ``settings.timezone``),
``2026-12-31 23:00:30``, ``2026-12-31T23:00+03:00``, ``2026-12-31T20:00:00Z``, or a date alone
(``2026-12-31``: its midnight). Invalid days (``2026-02-30``, ``2026-02-29``) do not match."""


NO_SEGMENTS = rf"^{_WS}[Nn][Oo][Nn][Ee]{_WS}$"
"""``segment: none``: one file per recording, never cut."""

WEEKDAY = (
    rf"^{_WS}(?:[Mm][Oo][Nn]|[Tt][Uu][Ee]|[Ww][Ee][Dd]|[Tt][Hh][Uu]|[Ff][Rr][Ii]|[Ss][Aa][Tt]"
    r"|[Ss][Uu][Nn])[\s\S]*$"
)
"""A weekday: its first three letters in any case, then anything (``mon``, ``Monday``, ``SAT``)."""

REFERENCE = r"(?:^|[^$])\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}"
"""A string holding a variable reference, ``${NAME}`` or ``${NAME:-default}`` (``$${`` is a
literal ``${``): what it means is known only once ``spec.interpolate`` has read the environment."""

_PORT = (
    r"0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
)
LISTEN = rf"^[\s\S]*:{_PORT}$(?!\n)"
"""``HOST:PORT`` (the host may be empty: 127.0.0.1), a port from 1 to 65535."""


@functools.lru_cache(maxsize=4096)
def matches(pattern: str, text: str) -> bool:
    """Whether ``text`` is written in ``pattern``'s syntax, read the way ``jsonschema`` reads it
    (``re.search``). Cached: the same values repeat across thousands of channels."""
    return re.search(pattern, text) is not None


def _duration(value: Any, allow_zero: bool) -> float:
    seconds = units.parse_duration(value, allow_zero=allow_zero)
    pattern = OPTIONAL_DURATION if allow_zero else DURATION
    if isinstance(value, str) and not matches(pattern, value):
        raise ValueError(
            f"expected a duration like 90s, 30m, 1h30m or 7d in ASCII digits, got {value!r}"
        )
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be a finite number of seconds, got {value!r}")
    return seconds


def parse_duration(value: Any) -> float:
    """Seconds from a positive duration (``units.parse_duration``), in :data:`DURATION` syntax."""
    return _duration(value, allow_zero=False)


def parse_optional_duration(value: Any) -> float:
    """Seconds from a duration that may be zero, in :data:`OPTIONAL_DURATION` syntax."""
    return _duration(value, allow_zero=True)


def parse_size(value: Any) -> int:
    """Bytes (``units.parse_size``) from :data:`SIZE` text; ``5.0`` is 5, as JSON Schema reads it."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    size = units.parse_size(value)
    if isinstance(value, str) and not matches(SIZE, value):
        raise ValueError(f"expected a size like 5GB or 200MiB in ASCII digits, got {value!r}")
    return size


def parse_time_of_day(value: Any) -> time:
    """A time of day (``units.parse_time_of_day``) from :data:`TIME_OF_DAY` text."""
    parsed = units.parse_time_of_day(value)
    if isinstance(value, str) and not matches(TIME_OF_DAY, value):
        raise ValueError(f'expected a time of day as "HH:MM" in ASCII digits, got {value!r}')
    return parsed


def check_date_time(value: Any) -> Any:
    """Only :data:`DATE_TIME` text (or a ``datetime``) passes on, for pydantic to parse: pydantic
    alone takes far more, Unix timestamps and ``2026-12-31_23:00`` among them."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not matches(DATE_TIME, value):
        raise ValueError(
            "expected a date and time like 2026-12-31T23:00 (in settings.timezone) or "
            f"2026-12-31T23:00+03:00, on a day the calendar has, got {value!r}"
        )
    return value
