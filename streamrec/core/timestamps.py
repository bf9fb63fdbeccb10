"""The one timestamp format of the state log, and the one parser that reads every stamp back.

Events, run outcomes and finished files all carry instants as text in the state log. They are
written by :func:`format_ts` (``2026-12-01T23:59:01.123Z``: UTC, milliseconds, ``Z``) and read by
:func:`parse_ts`, which also accepts what earlier versions wrote for file times
(``2026-12-01T23:59:01.123+00:00``) and any other ISO 8601 offset, so old logs stay readable.
:func:`format_epoch` / :func:`parse_epoch` are the same for epoch seconds (retention works in
them). Called by ``core.events``, ``core.files``, ``state.journal``, the task runner, storage and
the web read side. Pure: the instant is always an argument.
"""

from __future__ import annotations

from datetime import datetime, timezone


def format_ts(moment: datetime) -> str:
    """``2026-05-01T20:00:00.123Z``: the instant in UTC, with milliseconds and ``Z``.

    A naive datetime is refused: which zone it meant cannot be known.
    """
    if moment.tzinfo is None:
        raise ValueError(f"a timestamp needs an aware datetime, not the naive {moment!r}")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def format_epoch(seconds: float) -> str:
    """Epoch seconds in the format of :func:`format_ts`."""
    return format_ts(datetime.fromtimestamp(seconds, timezone.utc))


def parse_ts(text: object) -> datetime | None:
    """An aware datetime from a stamp (``Z`` or any offset), or None for anything else.

    A stamp without an offset is taken as UTC (the state log never wrote local times).
    """
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def parse_epoch(text: object) -> float | None:
    """Epoch seconds from a stamp, or None (see :func:`parse_ts`)."""
    moment = parse_ts(text)
    return None if moment is None else moment.timestamp()
