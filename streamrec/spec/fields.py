"""The value types of config fields: how each is parsed, written back and described in JSON Schema.

Each is an ``Annotated`` type for the pydantic model (``spec.model``): a parser that takes what
YAML gave (``spec.units``, then the exact text syntax of ``spec.syntax``), a serializer back to the
canonical text for JSON (``1h30m``, ``5GB``, ``HH:MM``), and the JSON Schema that ``streamrec
schema`` publishes, written with the same patterns the parsers check.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

from streamrec.spec import syntax, units


def duration_branches(allow_zero: bool) -> list[dict[str, Any]]:
    """The JSON Schema of a duration: its text (:mod:`spec.syntax`) or seconds as a number."""
    pattern = syntax.OPTIONAL_DURATION if allow_zero else syntax.DURATION
    bound = "minimum" if allow_zero else "exclusiveMinimum"
    return [{"type": "string", "pattern": pattern}, {"type": "number", bound: 0}]


def _duration_schema(allow_zero: bool) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": duration_branches(allow_zero),
            "description": "A duration: 90s, 30m, 1h30m, 7d (or seconds as a number)",
        }
    )


_DURATION_TEXT = PlainSerializer(units.duration_text, return_type=str, when_used="json")

Duration = Annotated[
    float,
    BeforeValidator(syntax.parse_duration),
    _DURATION_TEXT,
    _duration_schema(allow_zero=False),
]
"""A positive duration in seconds; written ``90s``, ``1h30m``, ``7d``."""
OptionalDuration = Annotated[
    float,
    BeforeValidator(syntax.parse_optional_duration),
    _DURATION_TEXT,
    _duration_schema(allow_zero=True),
]
"""A duration that may be zero (paddings, jitter)."""
Size = Annotated[
    int,
    BeforeValidator(syntax.parse_size),
    PlainSerializer(units.format_size, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": syntax.SIZE},
                {"type": "integer", "minimum": 0},
            ],
            "description": "A size: 5GB, 200MiB (or bytes as a number)",
        }
    ),
]
TimeOfDay = Annotated[
    time,
    BeforeValidator(syntax.parse_time_of_day),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": syntax.TIME_OF_DAY, "description": "HH:MM"}),
]
DateTime = Annotated[
    datetime,
    BeforeValidator(syntax.check_date_time),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": syntax.DATE_TIME,
            "description": (
                "A date and time: 2026-12-31T23:00 (in settings.timezone), 2026-12-31 23:00:30, "
                "2026-12-31T23:00+03:00 or 2026-12-31T20:00Z"
            ),
        }
    ),
]
"""A calendar date and time, local (``settings.timezone``) unless it has an offset."""
TimeZoneName = Annotated[str, BeforeValidator(units.parse_timezone)]
Cron = Annotated[
    str,
    BeforeValidator(units.parse_cron),
    WithJsonSchema({"type": "string", "description": "A cron expression: minute hour dom mon dow"}),
]
FilenameTemplate = Annotated[str, AfterValidator(units.parse_filename_template)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _names(value: Any) -> Any:
    """``depends_on: a`` and ``depends_on: [a, b]`` both mean a tuple of names."""
    if isinstance(value, str):
        return (value,)
    return value


NameList = Annotated[
    tuple[str, ...],
    BeforeValidator(_names),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "description": "A name, or a list of names",
        }
    ),
]
