"""The pure helpers of the command line: --since, sizes, did-you-mean, plain tables, YAML."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from streamrec.cli.history import since_cutoff
from streamrec.cli.output import Output, Table, dumps, human_size, plain_lines
from streamrec.cli.suggest import unknown_name

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def test_since_is_a_duration_back_from_now_or_a_time() -> None:
    """10m, 2h, 1d and 1h30m count back from now; ISO times are taken as written (UTC if bare)."""
    assert since_cutoff("10m", NOW) == NOW - timedelta(minutes=10)
    assert since_cutoff("2h", NOW) == NOW - timedelta(hours=2)
    assert since_cutoff("1d", NOW) == NOW - timedelta(days=1)
    assert since_cutoff("1h30m", NOW) == NOW - timedelta(minutes=90)
    assert since_cutoff("2026-02-28T10:00:00Z", NOW) == datetime(
        2026, 2, 28, 10, tzinfo=timezone.utc
    )
    assert since_cutoff("2026-02-28T10:00:00", NOW) == datetime(
        2026, 2, 28, 10, tzinfo=timezone.utc
    )
    assert since_cutoff("2026-02-28T12:00:00+02:00", NOW) == datetime(
        2026, 2, 28, 10, tzinfo=timezone.utc
    )
    for bad in ("yesterday", "-5m", ""):
        with pytest.raises(ValueError, match="duration"):
            since_cutoff(bad, NOW)


def test_human_size_uses_binary_units_with_one_decimal() -> None:
    assert human_size(0) == "0 B"
    assert human_size(1023) == "1023 B"
    assert human_size(1536) == "1.5 KiB"
    assert human_size(int(76.4 * 2**30)) == "76.4 GiB"
    assert human_size(5 * 2**40) == "5.0 TiB"
    assert human_size(3 * 2**50) == "3072.0 TiB"


def test_unknown_name_never_lists_more_than_five_names() -> None:
    many = [f"news-{n}" for n in range(100)]
    message = unknown_name("channel", "news-1x", many)
    assert message.startswith("there is no channel named 'news-1x' (did you mean ")
    assert 1 <= message.count("'news-") - 1 <= 5
    assert unknown_name("task", "zzz", many) == (
        "there is no task named 'zzz' (100 tasks are declared; streamrec task list shows them)"
    )
    assert (
        unknown_name("queue", "zzz", ["a", "b"]) == "there is no queue named 'zzz' (queues: a, b)"
    )
    assert unknown_name("task", "x", []) == "there is no task named 'x' (no tasks are declared)"
    assert unknown_name("task", "fecth", ["fetch", "index"]).endswith("(did you mean 'fetch'?)")


def test_plain_tables_align_wide_characters_and_hide_wide_columns() -> None:
    """Columns line up by display width (CJK counts two); wide columns only with -o wide."""
    table = Table.of("name", "size")
    table.add_column("where", wide=True)
    table.add_row("新闻", "1 KiB", "a.yaml:1:1")
    table.add_row("radio", "12 KiB", "b.yaml:2:3")
    assert plain_lines(table) == ["NAME    SIZE", "新闻    1 KiB", "radio   12 KiB"]
    assert plain_lines(table, Output.wide)[0] == "NAME    SIZE     WHERE"


def test_yaml_keeps_the_order_and_the_text_of_values() -> None:
    """YAML 1.2, as the config files are read: 20:00 stays a string without quotes."""
    data = {"z": "20:00", "a": [1, None, True], "name": "Müzik [vip] :100:"}
    assert dumps(data, Output.yaml) == (
        "z: 20:00\na:\n- 1\n- null\n- true\nname: 'Müzik [vip] :100:'"
    )
    assert dumps(data, Output.json).startswith('{\n  "z": "20:00",')
