"""Parsers for the value types people write in YAML: durations, sizes, times of day, zones, crons.

Each parser takes what YAML gave (a string or a number) and returns a plain Python value, raising
``ValueError`` with a message meant for the user; the pydantic models in ``spec.model`` wrap them as
annotated types, so the same message reaches ``file:line:col``. The formatters turn values back into
the canonical text used in normalized definitions, plans and JSON Schema examples.
"""

from __future__ import annotations

import functools
import re
import string
import zoneinfo
from datetime import datetime, time, timezone
from typing import Any

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_DURATION_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGTP]i?B|B)?\Z", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "pb": 10**15,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "pib": 2**50,
}
_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})\Z")


def parse_duration(value: Any, *, allow_zero: bool = False) -> float:
    """Seconds from ``90s``, ``30m``, ``1h30m``, ``7d``, ``250ms`` or a plain number of seconds."""
    if isinstance(value, str):
        return _parse_duration_text(value, allow_zero)
    return _parse_duration(value, allow_zero)


@functools.lru_cache(maxsize=1024)
def _parse_duration_text(value: str, allow_zero: bool) -> float:
    """Durations repeat across thousands of channels (defaults are merged into each): cached."""
    return _parse_duration(value, allow_zero)


def _parse_duration(value: Any, allow_zero: bool) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 90s, 30m, 1h30m or 7d, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text.startswith("-"):
            raise ValueError(f"a duration must be positive, got {value!r}")
        pos, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if pos != len(text) or not text:
            raise ValueError(
                f"expected a duration like 90s, 30m, 1h30m or 7d, got {value!r} "
                "(units: d, h, m, s, ms)"
            )
    else:
        raise ValueError(f"expected a duration like 90s, 30m, 1h30m or 7d, got {value!r}")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"a duration must be positive, got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """The canonical text of a duration: ``5400`` -> ``1h30m``, ``0.25`` -> ``250ms``."""
    if seconds == 0:
        return "0s"
    whole = int(seconds)
    millis = round((seconds - whole) * 1000)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    if millis:
        parts.append(f"{millis}ms")
    return "".join(parts)


duration_text = functools.lru_cache(maxsize=1024)(format_duration)
""":func:`format_duration`, remembered: the model writes every duration of every object through it
(a config of 10,000 channels has a handful of distinct durations)."""


def parse_size(value: Any) -> int:
    """Bytes from ``5GB`` (powers of 1000), ``200MiB`` (powers of 1024) or a plain number."""
    if isinstance(value, bool):
        raise ValueError(f"expected a size like 5GB or 200MiB, got {value!r}")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (match := _SIZE.match(value.strip())):
        unit = (match.group(2) or "B").lower()
        size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    else:
        raise ValueError(
            f"expected a size like 5GB or 200MiB, got {value!r} "
            "(units: B, KB, MB, GB, TB and KiB, MiB, GiB, TiB)"
        )
    if size < 0:
        raise ValueError(f"a size cannot be negative, got {value!r}")
    return size


def format_size(size: int) -> str:
    """Human text of a byte count, exact where possible: ``5000000000`` -> ``5GB``."""
    for unit, factor in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    for unit, factor in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def parse_time_of_day(value: Any) -> time:
    """A time of day from ``HH:MM`` (24-hour clock)."""
    if isinstance(value, time):
        return value
    match = _TIME_OF_DAY.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f'expected a time of day as "HH:MM", got {value!r}')
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(f"{value!r} is not a time of day (00:00 to 23:59)")
    return time(hour, minute)


@functools.lru_cache(maxsize=64)
def _zone_exists(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_timezone(value: Any) -> str:
    """An IANA time zone name (``Europe/Istanbul``, ``UTC``), checked against the zone database."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected an IANA time zone name like Europe/Istanbul, got {value!r}")
    name = value.strip()
    if not _zone_exists(name):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like Europe/Istanbul or UTC)"
        )
    return name


@functools.lru_cache(maxsize=4096)
def _cron_error(expression: str) -> str | None:
    fields = expression.split()
    if len(fields) != 5 and not (len(fields) == 1 and fields[0].startswith("@")):
        return (
            f"expected a cron expression with 5 fields (minute hour day month weekday), "
            f"got {len(fields)} in {expression!r}"
        )
    from croniter import croniter  # here: a command that checks no cron does not import it

    try:
        croniter(expression, datetime(2026, 1, 1, tzinfo=timezone.utc))
    except (ValueError, KeyError) as exc:
        return f"invalid cron expression {expression!r}: {exc}"
    return None


def parse_cron(value: Any) -> str:
    """A cron expression (5 fields, or ``@daily``-style), validated; returned with single spaces."""
    if not isinstance(value, str):
        raise ValueError(f"expected a cron expression like '0 3 * * *', got {value!r}")
    expression = " ".join(value.split())
    error = _cron_error(expression)
    if error:
        raise ValueError(error)
    return expression


TEMPLATE_FIELDS = frozenset({"channel", "category", "start", "ext", "index"})
_SAMPLE = {
    "channel": "channel",
    "category": "category",
    "start": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    "ext": "ts",
    "index": 1,
}


@functools.lru_cache(maxsize=256)
def _check_template(value: str) -> None:
    _check_template_uncached(value)


def parse_filename_template(value: Any) -> str:
    """A recording file name template, checked (see :func:`_check_template_uncached`)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a filename template must be a non-empty string")
    _check_template(value)
    return value


def _check_template_uncached(value: str) -> None:
    """A recording file name template such as ``{category}/{channel}/{start:%Y-%m-%d}.{ext}``.

    Known fields: channel, category, start (a datetime: use strftime codes after ``:``), ext,
    index (the segment number). The rendered path must stay relative and must name the extension.
    """
    fields = set()
    try:
        for _literal, field, _spec, _conv in string.Formatter().parse(value):
            if field is None:
                continue
            if field not in TEMPLATE_FIELDS:
                known = ", ".join(sorted(TEMPLATE_FIELDS))
                raise ValueError(f"unknown field {{{field}}} in filename template (known: {known})")
            fields.add(field)
        value.format(**_SAMPLE)
    except (ValueError, IndexError, KeyError) as exc:
        if "unknown field" in str(exc):
            raise
        raise ValueError(f"invalid filename template {value!r}: {exc}") from None
    if value.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", value):
        raise ValueError("a filename template must be a relative path without '..'")
    if "ext" not in fields:
        raise ValueError("a filename template must contain {ext} so the file names its container")
    if "start" not in fields and "index" not in fields:
        raise ValueError("a filename template must contain {start} or {index} to keep files apart")
