"""The value parsers accept what people write and reject the rest with a reason."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamrec.spec import units


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("1h30m", 5400), ("7d", 604800), ("250ms", 0.25), (45, 45)],
)
def test_durations_parse_to_seconds(text, seconds):
    """Durations in every unit, combined or alone, become seconds."""
    assert units.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "1 fortnight", "h", "1h-5m", "-5s", "0s", True, None])
def test_bad_durations_are_rejected(text):
    """Text that is not a positive duration is an error."""
    with pytest.raises(ValueError, match="duration"):
        units.parse_duration(text)


@given(st.integers(min_value=1, max_value=10**8))
def test_duration_text_round_trips(seconds):
    """Formatting a whole number of seconds and parsing it back gives the same number."""
    assert units.parse_duration(units.format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("text", "size"),
    [("5GB", 5 * 10**9), ("200MiB", 200 * 2**20), ("1.5KB", 1500), ("10", 10), (0, 0)],
)
def test_sizes_parse_to_bytes(text, size):
    """Decimal and binary units are both understood."""
    assert units.parse_size(text) == size


@given(st.integers(min_value=0, max_value=2**50))
def test_size_text_round_trips(size):
    """Formatting a size and parsing it back gives the same number of bytes."""
    assert units.parse_size(units.format_size(size)) == size


def test_times_of_day_and_zones_and_crons():
    """A valid time, zone and cron pass; invalid ones say why."""
    assert units.parse_time_of_day("7:05") == time(7, 5)
    assert units.parse_timezone("Europe/Istanbul") == "Europe/Istanbul"
    assert units.parse_cron("0  3 * * *") == "0 3 * * *"
    with pytest.raises(ValueError, match="not a time of day"):
        units.parse_time_of_day("24:00")
    with pytest.raises(ValueError, match="unknown time zone"):
        units.parse_timezone("Europe/Nowhere")
    with pytest.raises(ValueError, match="5 fields"):
        units.parse_cron("* * *")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{chanel}_{start}.{ext}", "unknown field {chanel}"),
        ("/abs/{channel}_{start}.{ext}", "relative path"),
        ("../{channel}_{start}.{ext}", "relative path"),
        ("{channel}_{start}.ts", "must contain {ext}"),
        ("{channel}.{ext}", "{start} or {index}"),
        ("{channel}_{start:%Y.{ext}", "invalid filename template"),
    ],
)
def test_bad_filename_templates_are_rejected(template, message):
    """Templates that name unknown fields or could escape the recordings dir are refused."""
    with pytest.raises(ValueError, match=message):
        units.parse_filename_template(template)
