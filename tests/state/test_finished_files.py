"""One timestamp format and one finished-file record, read back from what old logs hold."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from streamrec.core.files import FinishedFile
from streamrec.core.timestamps import format_epoch, format_ts, parse_epoch, parse_ts
from streamrec.state.fold import fold


def test_a_stamp_is_utc_with_milliseconds_and_z() -> None:
    """Any aware datetime is written in UTC as ``...T..:..:..mmmZ``; a naive one is refused."""
    moment = datetime(2026, 12, 2, 1, 59, 1, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_ts(moment) == "2026-12-01T23:59:01.123Z"
    with pytest.raises(ValueError, match="naive"):
        format_ts(datetime(2026, 12, 1))


def test_both_stamp_forms_parse_to_the_same_instant() -> None:
    """``Z`` (events) and ``+00:00`` (file times of earlier versions) read back alike."""
    z, offset = parse_ts("2026-12-01T23:59:01.123Z"), parse_ts("2026-12-01T23:59:01.123+00:00")
    assert z == offset and z is not None and z.tzinfo is not None
    assert parse_ts("not a time") is None and parse_ts(None) is None
    assert parse_epoch(format_epoch(1_700_000_000.5)) == 1_700_000_000.5


def test_a_finished_file_reads_back_from_the_fold_entry_of_an_old_segment() -> None:
    """The fold's recordings entry of a ``+00:00`` segment gives retention its epoch times."""
    segment = {
        "seq": 1, "ts": "2026-05-01T20:10:00.001Z", "type": "recording.segment",
        "channel": "news", "file": "/r/a.ts", "start": "2026-05-01T20:00:00.000+00:00",
        "end": "2026-05-01T20:10:00.000+00:00", "duration": 600.0, "bytes": 42, "hooks": "pending",
    }  # fmt: skip
    entry = fold(None, [segment])["recordings"]["/r/a.ts"]
    file = FinishedFile.from_entry("/r/a.ts", entry)
    start = datetime(2026, 5, 1, 20, tzinfo=timezone.utc).timestamp()
    assert file == FinishedFile("/r/a.ts", "news", start, start + 600, 42, False, 600.0)
    assert file.entry("pending") == {**entry, "start": "2026-05-01T20:00:00.000Z",
                                     "end": "2026-05-01T20:10:00.000Z"}  # fmt: skip
    assert FinishedFile.from_entry("/r/a.ts", file.entry("pending")) == file
