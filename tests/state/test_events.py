"""Typed events: the registry, the JSON codec, and logs written by the previous version."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from streamrec.core import events as ev
from streamrec.core.runs import RunOutcome
from streamrec.state.fold import fold
from streamrec.state.journal import Journal

FIXTURES = Path(__file__).parent / "fixtures"


def previous_log() -> list[dict[str, Any]]:
    """The lines of a log written by the previous version (every emitted type, real fields)."""
    text = (FIXTURES / "previous.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def added_log() -> list[dict[str, Any]]:
    """Lines of the types this version added (``config.changed``, ``recording.requested``)."""
    text = (FIXTURES / "added.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_the_fixtures_hold_every_registered_type() -> None:
    """The previous log and the added lines cover the registry, so each type is read as written."""
    types = {line["type"] for line in previous_log() + added_log()}
    assert types == set(ev.EVENT_TYPES)


def test_the_added_types_read_write_back_and_fold() -> None:
    """The added lines round-trip exactly; the fold notes the change and the request."""
    for line in added_log():
        logged = ev.from_json(line)
        assert logged.event.extra == {}
        assert ev.to_json(logged.event, seq=logged.seq, ts=logged.ts) == line
    state = fold(None, previous_log() + added_log())
    changed = state["config"]["changed"]
    assert (changed["role"], changed["who"], changed["saved_to"]) == ("admin", "alice", "directory")
    assert "diff" not in changed  # the diff stays in the event
    assert state["channels"]["news"]["requested_until"] == "2026-12-02T00:31:36Z"


def test_every_line_of_the_previous_log_reads_into_its_record_and_writes_back_the_same() -> None:
    """from_json then to_json gives each old line back exactly, and nothing lands in ``extra``."""
    for line in previous_log():
        logged = ev.from_json(line)
        assert type(logged.event) is ev.EVENT_TYPES[line["type"]]
        assert logged.event.extra == {}
        assert ev.to_json(logged.event, seq=logged.seq, ts=logged.ts) == line


def test_every_record_round_trips_through_json() -> None:
    """A record written and read back is equal to itself, for each registered type."""
    for line in previous_log() + added_log():
        record = ev.from_json(line).event
        again = ev.from_json(json.loads(json.dumps(ev.to_json(record, seq=1, ts="t")))).event
        assert again == record


def test_the_new_fold_of_the_previous_log_shows_what_the_previous_fold_showed() -> None:
    """Folding the old log gives the old fold, plus only ``last_run`` and ``last_skipped``."""
    before = json.loads((FIXTURES / "previous-fold.json").read_text(encoding="utf-8"))
    after = copy.deepcopy(fold(None, previous_log()))
    for entry in after["tasks"].values():
        entry.pop("last_run", None)
    assert after["queues"]["nightly"].pop("last_skipped")["reason"] == "already_running"
    assert after == before


def test_a_later_skip_keeps_the_last_real_run_in_view() -> None:
    """After a completed run and then a skip, status says skipped and last_run the run."""
    lines = previous_log()
    finished = next(line for line in lines if line["type"] == "task.finished")
    task = finished["task"]
    skip = {"seq": 99, "ts": "2026-12-02T00:05:00.000Z", "type": "task.skipped", "task": task,
            "reason": "already_running", "trigger": "schedule", "detail": "still running"}  # fmt: skip
    entry = fold(None, [finished, skip])["tasks"][task]
    assert (entry["status"], entry["reason"]) == ("skipped", "already_running")
    assert entry["last_run"] == RunOutcome.from_entry(finished).entry()
    assert entry["last_run"]["status"] == "completed"


def test_an_unknown_type_reads_as_a_generic_record_and_writes_back_unchanged() -> None:
    """A type from a newer version is kept as it was, not refused."""
    line = {"seq": 3, "ts": "2026-12-02T00:00:00.000Z", "type": "future.thing", "a": [1]}
    logged = ev.from_json(line)
    assert isinstance(logged.event, ev.UnknownEvent)
    assert ev.to_json(logged.event, seq=3, ts=line["ts"]) == line


def test_fields_from_a_newer_version_are_kept_and_written_again() -> None:
    """A known type with a field this version lacks keeps that field in ``extra``."""
    line = {"seq": 1, "ts": "t", "type": "recording.stalled", "channel": "c", "reason": "r",
            "new_field": 5}  # fmt: skip
    logged = ev.from_json(line)
    assert logged.event.extra == {"new_field": 5}
    assert ev.to_json(logged.event, seq=1, ts="t") == line


def test_the_legacy_form_refuses_a_misspelt_field(journal: Journal) -> None:
    """append("type", **fields) builds the record strictly, so a wrong name fails loudly."""
    with pytest.raises(ev.EventError, match="chanel"):
        journal.append("recording.stalled", chanel="news", reason="r")
    with pytest.raises(ev.EventError, match="status"):
        journal.append("task.finished", task="t", stauts="completed")
    assert journal.last_seq == 0


def test_a_record_and_the_legacy_form_write_the_same_line(journal: Journal) -> None:
    """Appending a record writes what the keyword form wrote for the same event."""
    first = journal.append(ev.RecordingStalled(channel="news", reason="no progress"))
    second = journal.append("recording.stalled", channel="news", reason="no progress")
    assert {k: v for k, v in first.items() if k not in ("seq", "ts")} == {
        k: v for k, v in second.items() if k not in ("seq", "ts")
    }
    assert list(journal.read()) == [first, second]


def test_an_optional_field_is_left_out_while_none() -> None:
    """config.rejected without a commit writes no ``commit`` key, as before."""
    written = ev.to_json(ev.ConfigRejected(errors=["e"], reason="r"), seq=1, ts="t")
    assert written == {
        "seq": 1,
        "ts": "t",
        "type": "config.rejected",
        "errors": ["e"],
        "reason": "r",
    }
