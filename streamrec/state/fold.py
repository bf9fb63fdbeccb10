"""The fold: current state from the event log, one reducer per event type.

``fold(state, events)`` is pure: it copies ``state`` (or starts from :func:`empty_state`), applies
each event through the reducer registered for its ``type`` in :data:`REDUCERS`, and returns a new,
JSON-serialisable dict. Adding an event type is one function and one table entry. Unknown types
are ignored but still advance ``seq``; an event whose fields do not fit its reducer is skipped with
a warning, so one bad event never hides the rest. ``Journal.state()`` folds the tail onto the
snapshot with :func:`fold_into` (the in-place variant, on a dict it owns); ``status``, the HTTP API
and the daemon's startup recovery read the result.

The result stays bounded: gaps are capped at :data:`MAX_GAPS` per channel, and ``recordings`` holds
only files still on disk (``retention.deleted`` removes them). Counters: ``segments``,
``reconnects`` and ``stalls`` count events per channel over the whole history; ``runs`` counts
distinct runs of a task, ``failures`` its failed attempts. ``since`` is the ``ts`` of the event that
set the current state.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from loguru import logger

Event = dict[str, Any]
State = dict[str, Any]
Reducer = Callable[[State, Event], None]

MAX_GAPS = 50
"""How many gaps each channel keeps (the latest ones)."""


def empty_state() -> State:
    """The state before any event."""
    return {
        "seq": 0,
        "config": {"applied": None, "rejected": None},
        "daemon": {},
        "channels": {},
        "tasks": {},
        "queues": {},
        "recordings": {},
    }


_NEW_ENTRY: dict[str, dict[str, Any]] = {
    "channels": {
        "state": "idle", "since": None, "file": None, "pid": None, "bytes": 0,
        "bitrate": None, "last_segment": None, "segments": 0, "reconnects": 0,
        "stalls": 0, "gaps": [], "reason": None,
    },
    "tasks": {
        "status": "idle", "since": None, "run": None, "attempt": None, "trigger": None,
        "definition": None, "started_at": None, "ended_at": None, "exit_code": None,
        "reason": None, "runs": 0, "failures": 0, "last_duration": None,
    },
    "queues": {
        "status": "idle", "since": None, "run": None, "started_at": None,
        "ended_at": None, "order": [], "results": {},
    },
}  # fmt: skip
"""What a channel, task or queue looks like in the fold before its first event."""


def _entry(state: State, table: str, name: str) -> dict[str, Any]:
    """The fold's entry for ``name`` in ``table``, made from its template on first use."""
    entries: dict[str, Any] = state[table]
    entry = entries.get(name)
    if entry is None:
        entry = entries[name] = copy.deepcopy(_NEW_ENTRY[table])
    return entry


def _channel(state: State, name: str) -> dict[str, Any]:
    return _entry(state, "channels", name)


def _task(state: State, name: str) -> dict[str, Any]:
    return _entry(state, "tasks", name)


def _queue(state: State, name: str) -> dict[str, Any]:
    return _entry(state, "queues", name)


# --- config and daemon -----------------------------------------------------------------------


def _config_applied(state: State, ev: Event) -> None:
    state["config"]["applied"] = {
        "revision": ev.get("revision"), "git": ev.get("git"), "ts": ev["ts"],
        "seq": ev["seq"], "diff": ev.get("diff"),
    }  # fmt: skip
    state["config"]["rejected"] = None  # a later good apply supersedes an earlier rejection


def _config_rejected(state: State, ev: Event) -> None:
    rejected: dict[str, Any] = {"ts": ev["ts"], "seq": ev["seq"], "errors": list(ev["errors"])}
    for key in ("revision", "commit", "reason"):
        if ev.get(key) is not None:
            rejected[key] = ev[key]
    state["config"]["rejected"] = rejected


def _daemon_started(state: State, ev: Event) -> None:
    state["daemon"] = {
        "state": "running", "pid": ev.get("pid"), "version": ev.get("version"),
        "started_at": ev["ts"], "stopped_at": None, "reason": None,
    }  # fmt: skip


def _daemon_stopped(state: State, ev: Event) -> None:
    daemon = state["daemon"]
    daemon.setdefault("pid", None)
    daemon.setdefault("version", None)
    daemon.setdefault("started_at", None)
    daemon.update(state="stopped", stopped_at=ev["ts"], reason=ev.get("reason"))


def _daemon_recovered(state: State, ev: Event) -> None:
    """Runs the previous daemon left behind become ``interrupted`` (unless a newer run exists)."""
    for item in ev.get("interrupted") or []:
        kind, name, run = item["kind"], item["name"], item.get("run")
        if kind == "task":
            entry, key = _task(state, name), "status"
        elif kind == "queue":
            entry, key = _queue(state, name), "status"
        elif kind == "channel":
            entry, key = _channel(state, name), "state"
            entry["pid"] = None
        else:
            continue
        if run is not None and entry.get("run") not in (None, run):
            continue
        entry.update(
            {key: "interrupted", "since": ev["ts"], "reason": "daemon stopped while running"}
        )
        if kind != "channel":
            entry["ended_at"] = ev["ts"]


# --- tasks and queues ------------------------------------------------------------------------


def _task_started(state: State, ev: Event) -> None:
    task = _task(state, ev["task"])
    if ev.get("run") is None or task["run"] != ev.get("run"):
        task["runs"] += 1  # a retry (same run, next attempt) is not a new run
    task.update(
        status="running", since=ev["ts"], run=ev.get("run"), attempt=ev.get("attempt"),
        trigger=ev.get("trigger"), definition=ev.get("definition"), started_at=ev["ts"],
        ended_at=None, exit_code=None, reason=None, pid=ev.get("pid"),
        stdout_log=ev.get("stdout_log"), stderr_log=ev.get("stderr_log"),
    )  # fmt: skip


def _task_finished(state: State, ev: Event) -> None:
    task = _task(state, ev["task"])
    if task["run"] != ev.get("run"):
        task["runs"] += 1  # a finish whose start was not seen (e.g. compacted away mid-run)
    status = ev["status"]
    if status == "failed":
        task["failures"] += 1
    task.update(
        status=status, since=ev["ts"], run=ev.get("run"), attempt=ev.get("attempt"),
        exit_code=ev.get("exit_code"), started_at=ev.get("started_at", task["started_at"]),
        ended_at=ev.get("ended_at", ev["ts"]), last_duration=ev.get("duration"),
        reason=ev.get("reason"), pid=None,
        definition=ev.get("definition", task["definition"]),
        stdout_log=ev.get("stdout_log"), stderr_log=ev.get("stderr_log"),
        stdout_tail=ev.get("stdout_tail"), stderr_tail=ev.get("stderr_tail"),
    )  # fmt: skip


def _task_skipped(state: State, ev: Event) -> None:
    """A skip never hides a run in progress: it is noted in ``last_skipped`` either way."""
    task = _task(state, ev["task"])
    skip = {"ts": ev["ts"], "reason": ev.get("reason"), "trigger": ev.get("trigger")}
    task["last_skipped"] = skip
    if task["status"] == "running":
        return
    task.update(status="skipped", since=ev["ts"], reason=ev.get("reason"))
    task["trigger"] = ev.get("trigger")
    if ev.get("definition") is not None:
        task["definition"] = ev["definition"]


def _queue_started(state: State, ev: Event) -> None:
    _queue(state, ev["queue"]).update(
        status="running", since=ev["ts"], run=ev.get("run"), started_at=ev["ts"],
        ended_at=None, order=list(ev.get("order") or []), results={},
        trigger=ev.get("trigger"), reason=None,
    )  # fmt: skip


def _queue_finished(state: State, ev: Event) -> None:
    _queue(state, ev["queue"]).update(
        status=ev["status"], since=ev["ts"], run=ev.get("run"), ended_at=ev["ts"],
        results=dict(ev.get("results") or {}),
    )  # fmt: skip


# --- recordings ------------------------------------------------------------------------------


def _recording_started(state: State, ev: Event) -> None:
    _channel(state, ev["channel"]).update(
        state="recording", since=ev["ts"], file=ev.get("file"), pid=ev.get("pid"), reason=None
    )


def _recording_segment(state: State, ev: Event) -> None:
    channel = _channel(state, ev["channel"])
    size, duration = ev.get("bytes") or 0, ev.get("duration")
    segment = {
        "file": ev["file"], "start": ev.get("start"), "end": ev.get("end"),
        "duration": duration, "bytes": size,
    }  # fmt: skip
    channel["last_segment"] = segment
    channel["segments"] += 1
    channel["bytes"] += size
    if duration:
        channel["bitrate"] = round(size * 8 / duration)
    state["recordings"][ev["file"]] = {
        "channel": ev["channel"], "start": segment["start"], "end": segment["end"],
        "duration": duration, "bytes": size, "hooks": ev.get("hooks") or "none",
    }  # fmt: skip


def _recording_stalled(state: State, ev: Event) -> None:
    channel = _channel(state, ev["channel"])
    channel.update(state="stalled", since=ev["ts"], reason=ev.get("reason"))
    channel["stalls"] += 1


def _recording_reconnecting(state: State, ev: Event) -> None:
    channel = _channel(state, ev["channel"])
    channel.update(state="reconnecting", since=ev["ts"], reason=ev.get("reason"), pid=None)
    channel["attempt"] = ev.get("attempt")
    channel["reconnects"] += 1


def _recording_gap(state: State, ev: Event) -> None:
    gaps: list[Any] = _channel(state, ev["channel"])["gaps"]
    gaps.append({"start": ev.get("start"), "end": ev.get("end"), "cause": ev.get("cause")})
    del gaps[:-MAX_GAPS]


def _recording_stopped(state: State, ev: Event) -> None:
    # nothing is being written any more: the current file is gone (last_segment says what was)
    _channel(state, ev["channel"]).update(
        state="stopped", since=ev["ts"], reason=ev.get("reason"), pid=None, file=None
    )


def _recording_processed(state: State, ev: Event) -> None:
    recording = state["recordings"].get(ev["file"])
    if recording is not None:
        recording["hooks"] = ev["status"]


def _retention_deleted(state: State, ev: Event) -> None:
    state["recordings"].pop(ev["file"], None)


def _schedule_missed(state: State, ev: Event) -> None:
    """A missed fire is noted on its object without changing its status."""
    kind, name = ev["kind"], ev["name"]
    getter = {"task": _task, "queue": _queue, "channel": _channel}.get(kind)
    if getter is not None:
        missed = {"ts": ev["ts"], "fire_time": ev.get("fire_time"), "reason": ev.get("reason")}
        getter(state, name)["last_missed"] = missed


REDUCERS: dict[str, Reducer] = {
    "config.applied": _config_applied,
    "config.rejected": _config_rejected,
    "daemon.started": _daemon_started,
    "daemon.stopped": _daemon_stopped,
    "daemon.recovered": _daemon_recovered,
    "task.started": _task_started,
    "task.finished": _task_finished,
    "task.skipped": _task_skipped,
    "queue.started": _queue_started,
    "queue.finished": _queue_finished,
    "recording.started": _recording_started,
    "recording.segment": _recording_segment,
    "recording.stalled": _recording_stalled,
    "recording.reconnecting": _recording_reconnecting,
    "recording.gap": _recording_gap,
    "recording.stopped": _recording_stopped,
    "recording.processed": _recording_processed,
    "retention.deleted": _retention_deleted,
    "schedule.missed": _schedule_missed,
}
"""One reducer per event type; each updates the state in place from one event."""


def fold_into(state: State, events: Iterable[Event]) -> State:
    """Apply ``events`` to ``state`` in place and return it (the caller owns ``state``)."""
    reducers = REDUCERS
    for event in events:
        reducer = reducers.get(event.get("type"))  # type: ignore[arg-type]  # None finds nothing
        if reducer is not None:
            try:
                reducer(state, event)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                logger.warning(
                    "state log: event seq {} ({}) does not fit its type and is skipped: {!r}",
                    event.get("seq"), event.get("type"), exc,
                )  # fmt: skip
        seq = event.get("seq")
        if isinstance(seq, int) and seq > state["seq"]:
            state["seq"] = seq
    return state


def fold(state: State | None, events: Iterable[Event]) -> State:
    """The state after ``events``, starting from ``state`` (``None``: from nothing). Pure."""
    start = empty_state() if state is None else copy.deepcopy(state)
    return fold_into(start, events)
