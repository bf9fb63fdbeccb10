"""The fold: every event type, unknown and malformed events, purity, and snapshot equivalence."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamrec.core.events import EVENT_TYPES
from streamrec.state.fold import MAX_GAPS, REDUCERS, empty_state, fold


class Log:
    """Builds events with consecutive seqs and minute-apart timestamps."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, type_: str, **fields: Any) -> dict[str, Any]:
        seq = len(self.events) + 1
        event = {"seq": seq, "ts": f"2026-05-01T10:{seq:02d}:00.000Z", "type": type_, **fields}
        self.events.append(event)
        return event

    def fold(self) -> dict[str, Any]:
        return fold(None, self.events)


def test_an_empty_log_folds_to_the_empty_state() -> None:
    """No events: seq 0, nothing applied, no daemon, no objects."""
    assert (
        fold(None, [])
        == empty_state()
        == {
            "seq": 0,
            "config": {"applied": None, "rejected": None},
            "daemon": {},
            "channels": {},
            "tasks": {},
            "queues": {},
            "recordings": {},
        }
    )


def test_config_applied_and_rejected_record_the_latest_attempt() -> None:
    """A rejection sits beside the last applied config; a later apply clears it."""
    log = Log()
    log("config.applied", revision="r1", git="abc", diff={"channels": 1})
    log("config.rejected", errors=["a.yaml:1:1: bad"], revision="r2")
    state = log.fold()
    assert state["config"] == {
        "applied": {
            "revision": "r1",
            "git": "abc",
            "ts": log.events[0]["ts"],
            "seq": 1,
            "diff": {"channels": 1},
        },
        "rejected": {
            "ts": log.events[1]["ts"],
            "seq": 2,
            "errors": ["a.yaml:1:1: bad"],
            "revision": "r2",
        },
    }
    log("config.applied", revision="r3", git=None, diff={})
    assert log.fold()["config"]["rejected"] is None
    assert log.fold()["config"]["applied"]["revision"] == "r3"


def test_daemon_events_track_its_lifecycle() -> None:
    """started, stopped and started again: the daemon entry says where it stands."""
    log = Log()
    log("daemon.started", pid=10, version="0.1")
    assert log.fold()["daemon"] == {
        "state": "running", "pid": 10, "version": "0.1", "started_at": log.events[0]["ts"],
        "stopped_at": None, "reason": None,
    }  # fmt: skip
    log("daemon.stopped", reason="SIGTERM")
    daemon = log.fold()["daemon"]
    assert (daemon["state"], daemon["stopped_at"], daemon["reason"], daemon["pid"]) == (
        "stopped", log.events[1]["ts"], "SIGTERM", 10,
    )  # fmt: skip


def test_a_task_run_with_a_retry_counts_one_run_and_one_failure() -> None:
    """task.started/finished set status, times and counters; a retry is the same run."""
    log = Log()
    common = {"task": "remux", "run": "r1", "trigger": "hook", "definition": "d1"}
    log("task.started", **common, attempt=1, pid=99, stdout_log="o", stderr_log="e")
    running = log.fold()["tasks"]["remux"]
    assert (running["status"], running["pid"], running["since"], running["runs"]) == (
        "running", 99, log.events[0]["ts"], 1,
    )  # fmt: skip
    log("task.finished", **common, attempt=1, status="failed", exit_code=1, started_at="a",
        ended_at="b", duration=2.5, stdout_tail="", stderr_tail="boom", stdout_log="o",
        stderr_log="e", reason="exit code 1")  # fmt: skip
    log("task.started", **common, attempt=2, pid=100, stdout_log="o", stderr_log="e")
    log("task.finished", **common, attempt=2, status="completed", exit_code=0, started_at="c",
        ended_at="d", duration=1.0, stdout_tail="ok", stderr_tail="", stdout_log="o",
        stderr_log="e")  # fmt: skip
    task = log.fold()["tasks"]["remux"]
    assert task["status"] == "completed"
    assert (task["runs"], task["failures"], task["attempt"]) == (1, 1, 2)
    assert (task["exit_code"], task["last_duration"], task["started_at"], task["ended_at"]) == (
        0,
        1.0,
        "c",
        "d",
    )
    assert (task["since"], task["pid"], task["reason"], task["definition"]) == (
        log.events[3]["ts"],
        None,
        None,
        "d1",
    )
    assert task["stdout_tail"] == "ok"
    log(
        "task.started",
        **{**common, "run": "r2"},
        attempt=1,
        pid=101,
        stdout_log="o",
        stderr_log="e",
    )
    assert log.fold()["tasks"]["remux"]["runs"] == 2


def test_a_skip_sets_skipped_unless_a_run_is_in_progress() -> None:
    """task.skipped marks an idle task skipped, but never hides a running one."""
    log = Log()
    log("task.skipped", task="epg", reason="missed while down", trigger="schedule", definition="d")
    task = log.fold()["tasks"]["epg"]
    assert (task["status"], task["reason"], task["definition"], task["runs"]) == (
        "skipped",
        "missed while down",
        "d",
        0,
    )
    log("task.started", task="epg", run="r", attempt=1, trigger="schedule", definition="d", pid=1,
        stdout_log="o", stderr_log="e")  # fmt: skip
    log("task.skipped", task="epg", reason="overlap", trigger="schedule")
    task = log.fold()["tasks"]["epg"]
    assert task["status"] == "running"
    assert task["last_skipped"] == {
        "ts": log.events[2]["ts"],
        "reason": "overlap",
        "trigger": "schedule",
    }


def test_a_queue_run_records_its_order_and_results() -> None:
    """queue.started then queue.finished: running with an order, then the results."""
    log = Log()
    log("queue.started", queue="nightly", run="q1", order=["a", "b"], trigger="schedule")
    queue = log.fold()["queues"]["nightly"]
    assert (queue["status"], queue["order"], queue["started_at"], queue["results"]) == (
        "running", ["a", "b"], log.events[0]["ts"], {},
    )  # fmt: skip
    log(
        "queue.finished",
        queue="nightly",
        run="q1",
        status="failed",
        results={"a": "completed", "b": "failed"},
    )
    queue = log.fold()["queues"]["nightly"]
    assert (queue["status"], queue["ended_at"], queue["results"]) == (
        "failed", log.events[1]["ts"], {"a": "completed", "b": "failed"},
    )  # fmt: skip


def test_a_recording_session_updates_its_channel_and_the_recordings() -> None:
    """Start, stall, reconnect, gap, segments, hooks, retention and stop, as a user would see them."""
    log = Log()
    log("recording.started", channel="news", file="/r/news-1.ts", pid=7, url="https://x/live.m3u8")
    channel = log.fold()["channels"]["news"]
    assert (channel["state"], channel["file"], channel["pid"], channel["since"]) == (
        "recording", "/r/news-1.ts", 7, log.events[0]["ts"],
    )  # fmt: skip
    log("recording.segment", channel="news", file="/r/news-1.ts", start="s1", end="e1", duration=100.0,
        bytes=1_000_000, hooks="pending")  # fmt: skip
    log("recording.stalled", channel="news", reason="no progress for 30s")
    assert log.fold()["channels"]["news"]["state"] == "stalled"
    log("recording.reconnecting", channel="news", attempt=1, delay=2.0, reason="stalled")
    log("recording.gap", channel="news", start="e1", end="s2", cause="stall")
    log("recording.started", channel="news", file="/r/news-2.ts", pid=8, url="https://x/live.m3u8")
    log(
        "recording.segment",
        channel="news",
        file="/r/news-2.ts",
        start="s2",
        end="e2",
        duration=50.0,
        bytes=500_000,
    )
    log("recording.processed", channel="news", file="/r/news-1.ts", status="completed")
    log("recording.processed", channel="news", file="/r/gone.ts", status="failed")
    log("recording.stopped", channel="news", reason="window ended")
    state = log.fold()
    channel = state["channels"]["news"]
    assert (channel["state"], channel["reason"], channel["pid"], channel["since"]) == (
        "stopped", "window ended", None, log.events[-1]["ts"],
    )  # fmt: skip
    assert (channel["segments"], channel["stalls"], channel["reconnects"], channel["bytes"]) == (
        2,
        1,
        1,
        1_500_000,
    )
    assert channel["bitrate"] == 80_000
    assert channel["gaps"] == [{"start": "e1", "end": "s2", "cause": "stall"}]
    assert channel["last_segment"] == {
        "file": "/r/news-2.ts",
        "start": "s2",
        "end": "e2",
        "duration": 50.0,
        "bytes": 500_000,
    }
    assert state["recordings"] == {
        "/r/news-1.ts": {
            "channel": "news",
            "start": "s1",
            "end": "e1",
            "duration": 100.0,
            "bytes": 1_000_000,
            "hooks": "completed",
        },
        "/r/news-2.ts": {
            "channel": "news",
            "start": "s2",
            "end": "e2",
            "duration": 50.0,
            "bytes": 500_000,
            "hooks": "none",
        },
    }
    log(
        "retention.deleted",
        channel="news",
        file="/r/news-1.ts",
        bytes=1_000_000,
        reason="max_age 7d",
    )
    assert list(log.fold()["recordings"]) == ["/r/news-2.ts"]


def test_a_channel_keeps_only_its_latest_gaps() -> None:
    """The gap list is capped, so the fold stays bounded over a long history."""
    log = Log()
    for i in range(MAX_GAPS + 20):
        log("recording.gap", channel="c", start=f"s{i}", end=f"e{i}", cause="source down")
    gaps = log.fold()["channels"]["c"]["gaps"]
    assert len(gaps) == MAX_GAPS
    assert gaps[-1]["start"] == f"s{MAX_GAPS + 19}" and gaps[0]["start"] == "s20"


def test_recovery_marks_what_the_previous_daemon_left_running_as_interrupted() -> None:
    """daemon.recovered turns the runs it names into ``interrupted``, but not newer runs."""
    log = Log()
    log(
        "task.started",
        task="t",
        run="r1",
        attempt=1,
        trigger="cli",
        definition="d",
        pid=1,
        stdout_log="o",
        stderr_log="e",
    )
    log("queue.started", queue="q", run="q1", order=["t"], trigger="cli")
    log("recording.started", channel="c", file="f", pid=2, url="u")
    log(
        "task.started",
        task="u",
        run="new",
        attempt=1,
        trigger="cli",
        definition="d",
        pid=3,
        stdout_log="o",
        stderr_log="e",
    )
    log("daemon.recovered", interrupted=[
        {"kind": "task", "name": "t", "run": "r1"}, {"kind": "queue", "name": "q", "run": "q1"},
        {"kind": "channel", "name": "c", "run": None}, {"kind": "task", "name": "u", "run": "old"},
        {"kind": "spaceship", "name": "x", "run": None},
    ])  # fmt: skip
    state = log.fold()
    ts = log.events[-1]["ts"]
    assert (
        state["tasks"]["t"]["status"],
        state["tasks"]["t"]["since"],
        state["tasks"]["t"]["ended_at"],
    ) == ("interrupted", ts, ts)
    assert state["queues"]["q"]["status"] == "interrupted"
    assert (state["channels"]["c"]["state"], state["channels"]["c"]["pid"]) == ("interrupted", None)
    assert state["tasks"]["u"]["status"] == "running"


def test_a_missed_schedule_is_noted_on_its_object() -> None:
    """schedule.missed leaves the status alone and records when and why."""
    log = Log()
    log(
        "schedule.missed",
        kind="task",
        name="epg",
        fire_time="2026-05-01T06:00:00Z",
        reason="daemon down",
    )
    log("schedule.missed", kind="queue", name="nightly", fire_time="t", reason="r")
    state = log.fold()
    assert state["tasks"]["epg"]["status"] == "idle"
    assert state["tasks"]["epg"]["last_missed"] == {
        "ts": log.events[0]["ts"],
        "fire_time": "2026-05-01T06:00:00Z",
        "reason": "daemon down",
    }
    assert state["queues"]["nightly"]["last_missed"]["reason"] == "r"


def test_every_registered_event_type_has_a_reducer() -> None:
    """Each type in the registry has exactly one reducer, and the table holds nothing else."""
    assert {cls.type for cls in REDUCERS} == set(EVENT_TYPES)
    assert all(EVENT_TYPES[cls.type] is cls for cls in REDUCERS)
    assert set(EVENT_TYPES) >= {
        "config.applied", "config.rejected", "daemon.started", "daemon.stopped", "daemon.recovered",
        "task.started", "task.finished", "task.skipped", "queue.started", "queue.finished",
        "recording.started", "recording.segment", "recording.stalled", "recording.reconnecting",
        "recording.gap", "recording.stopped", "recording.processed", "retention.deleted",
        "schedule.missed", "queue.skipped", "recording.skipped", "state.recreated",
        "state.writable",
    }  # fmt: skip


def test_unknown_types_are_ignored_but_advance_seq() -> None:
    """An event type from a newer version changes nothing but the seq."""
    log = Log()
    log("daemon.started", pid=1, version="v")
    before = log.fold()
    log("future.thing", anything=[1, 2])
    after = log.fold()
    assert after == {**before, "seq": 2}


def test_an_event_that_does_not_fit_its_type_is_skipped_with_a_warning(
    warnings_logged: list[str],
) -> None:
    """A malformed event (missing or wrong fields) is skipped; the events after it still count."""
    log = Log()
    log("task.finished", run="r")  # no task name
    log("recording.segment", channel=["not", "hashable"], file="f")
    log("daemon.started", pid=1, version="v")
    state = log.fold()
    assert state["seq"] == 3
    assert state["daemon"]["state"] == "running"
    assert len(warnings_logged) == 2 and "seq 1" in warnings_logged[0]


def test_fold_does_not_change_the_state_it_starts_from() -> None:
    """fold is pure: the given state is copied, never mutated."""
    log = Log()
    log("recording.gap", channel="c", start="a", end="b", cause="x")
    start = log.fold()
    frozen = copy.deepcopy(start)
    more = Log()
    more.events = [{**e, "seq": e["seq"] + 1} for e in log.events]
    fold(start, more.events)
    assert start == frozen


NAMES = st.sampled_from(["a", "b", "ü", "x\ny"])
EVENT = st.one_of(
    st.builds(lambda c, f: ("recording.segment", {"channel": c, "file": f, "start": "s", "end": "e", "duration": 10.0, "bytes": 5}), NAMES, NAMES),
    st.builds(lambda c, f, s: ("recording.processed", {"channel": c, "file": f, "status": s}), NAMES, NAMES, st.sampled_from(["completed", "failed"])),
    st.builds(lambda c, f: ("retention.deleted", {"channel": c, "file": f, "bytes": 5, "reason": "r"}), NAMES, NAMES),
    st.builds(lambda c: ("recording.gap", {"channel": c, "start": "s", "end": "e", "cause": "x"}), NAMES),
    st.builds(lambda c: ("recording.stalled", {"channel": c, "reason": "r"}), NAMES),
    st.builds(lambda t, r, s: ("task.finished", {"task": t, "run": r, "status": s, "exit_code": 1}), NAMES, NAMES, st.sampled_from(["completed", "failed"])),
    st.builds(lambda t, r: ("task.started", {"task": t, "run": r, "attempt": 1}), NAMES, NAMES),
    st.builds(lambda t: ("task.skipped", {"task": t, "reason": "overlap"}), NAMES),
    st.builds(lambda q: ("queue.started", {"queue": q, "run": "1", "order": ["a"]}), NAMES),
    st.just(("daemon.started", {"pid": 1, "version": "v"})),
    st.just(("daemon.stopped", {"reason": "r"})),
    st.just(("config.rejected", {"errors": ["e"]})),
    st.just(("something.new", {})),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(items=st.lists(EVENT, max_size=40), cut=st.integers(min_value=0, max_value=40))
def test_folding_a_snapshot_then_the_tail_equals_folding_everything(
    items: list[tuple[str, dict[str, Any]]], cut: int
) -> None:
    """fold(fold(head), tail) == fold(head + tail), and the result survives a JSON round trip."""
    log = Log()
    for type_, fields in items:
        log(type_, **fields)
    head, tail = log.events[:cut], log.events[cut:]
    snapshot = json.loads(json.dumps(fold(None, head)))
    whole = fold(None, log.events)
    assert fold(snapshot, tail) == whole
    assert json.loads(json.dumps(whole)) == whole
    assert whole["seq"] == len(items)
