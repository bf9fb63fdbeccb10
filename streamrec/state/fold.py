"""The fold: current state from the event log, one reducer per event type.

``fold(state, events)`` is pure: it copies ``state`` (or starts from :func:`empty_state`), reads
each event as it was logged (a JSON dict) into its typed record (``core.events.from_json``),
applies it through the reducer registered for its class in :data:`REDUCERS`, and returns a new,
JSON-serialisable dict. Every registered event type has a reducer (a test holds it), so adding a
type is one record, one function and one table entry. Unknown types are ignored but still advance
``seq``; an event whose fields do not fit its type or its reducer is skipped with a warning, so
one bad event never hides the rest. ``Journal.state()`` folds the tail onto the
snapshot with :func:`fold_into` (the in-place variant, on a dict it owns); ``status``, the HTTP API
and the daemon's startup recovery read the result.

The result stays bounded: gaps are capped at :data:`MAX_GAPS` per channel, and ``recordings`` holds
only files still on disk (``retention.deleted`` removes them). Counters: ``segments``,
``reconnects`` and ``stalls`` count events per channel over the whole history; ``runs`` counts
distinct runs of a task, ``failures`` its failed attempts. ``since`` is the ``ts`` of the event that
set the current state. A task's ``status`` shows its latest event, a skip included, while
``last_run`` keeps the last real run (``core.runs.RunOutcome.entry``) apart from later skips, so
readiness asks that run; ``last_skipped`` notes the latest skip of a task or a queue. A task or
queue the Python API ran (trigger ``api``, or a task in a queue the API started) gets
``origin: "api"``, so ``status`` can show it though no config declares it.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from streamrec.core import events as ev
from streamrec.core.files import recording_entry
from streamrec.log import logger
from streamrec.state.lines import LoggedEvent

State = dict[str, Any]
Reducer = Callable[[State, Any, str, int], None]
"""``(state, record, ts, seq)``: updates ``state`` in place from one event of its class."""

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


# --- config, daemon and the state dir ---------------------------------------------------------


def _config_applied(state: State, e: ev.ConfigApplied, ts: str, seq: int) -> None:
    state["config"]["applied"] = {
        "revision": e.revision, "git": e.git, "ts": ts, "seq": seq, "diff": e.diff,
    }  # fmt: skip
    state["config"]["rejected"] = None  # a later good apply supersedes an earlier rejection


def _config_rejected(state: State, e: ev.ConfigRejected, ts: str, seq: int) -> None:
    rejected: dict[str, Any] = {"ts": ts, "seq": seq, "errors": list(e.errors)}
    for key, value in (("revision", e.revision), ("commit", e.commit), ("reason", e.reason)):
        if value is not None:
            rejected[key] = value
    state["config"]["rejected"] = rejected


def _config_changed(state: State, e: ev.ConfigChanged, ts: str, seq: int) -> None:
    """The last change made through the API (its diff stays in the event, not in the fold)."""
    changed: dict[str, Any] = {
        "ts": ts, "seq": seq, "role": e.role, "files": list(e.files), "saved_to": e.saved_to,
    }  # fmt: skip
    for key, value in (("who", e.who), ("commit", e.commit), ("summary", e.summary)):
        if value is not None:
            changed[key] = value
    state["config"]["changed"] = changed


def _recording_requested(state: State, e: ev.RecordingRequested, ts: str, seq: int) -> None:
    """A "record now" request: the channel records until ``requested_until`` (an ISO stamp)."""
    _channel(state, e.channel)["requested_until"] = e.until


def _daemon_started(state: State, e: ev.DaemonStarted, ts: str, seq: int) -> None:
    state["daemon"] = {
        "state": "running", "pid": e.pid, "version": e.version,
        "started_at": ts, "stopped_at": None, "reason": None,
    }  # fmt: skip


def _daemon_stopped(state: State, e: ev.DaemonStopped, ts: str, seq: int) -> None:
    daemon = state["daemon"]
    daemon.setdefault("pid", None)
    daemon.setdefault("version", None)
    daemon.setdefault("started_at", None)
    daemon.update(state="stopped", stopped_at=ts, reason=e.reason)


def _daemon_recovered(state: State, e: ev.DaemonRecovered, ts: str, seq: int) -> None:
    """Runs the previous daemon left behind become ``interrupted`` (unless a newer run exists)."""
    for item in e.interrupted or []:
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
        entry.update({key: "interrupted", "since": ts, "reason": "daemon stopped while running"})
        if kind != "channel":
            entry["ended_at"] = ts


def _state_dir_event(
    state: State, e: ev.StateRecreated | ev.StateWritable, ts: str, seq: int
) -> None:
    """The state dir's own events change no object: the log keeps them, ``history`` shows them."""


# --- the etcd cluster -------------------------------------------------------------------------

MAX_HANDOVERS = 50
"""How many ownership changes ``cluster.handovers`` keeps (the latest ones)."""


def _cluster(state: State) -> dict[str, Any]:
    cluster: dict[str, Any] = state.setdefault("cluster", {})
    for key, value in (("member", None), ("members", []), ("leader", False), ("handovers", [])):
        cluster.setdefault(key, value)
    return cluster


def _cluster_joined(state: State, e: ev.ClusterJoined, ts: str, seq: int) -> None:
    _cluster(state).update(
        member=e.member, cluster=e.cluster, members=list(e.members), joined_at=ts, leader=False
    )


def _cluster_members(state: State, e: ev.ClusterMembers, ts: str, seq: int) -> None:
    _cluster(state).update(members=list(e.members), members_since=ts)


def _cluster_fenced(state: State, e: ev.ClusterFenced, ts: str, seq: int) -> None:
    _cluster(state).update(fenced_at=ts, fenced_reason=e.reason, leader=False)
    for name in e.stopped:
        _channel(state, name)["owner"] = None


def _cluster_leader(state: State, e: ev.ClusterLeader, ts: str, seq: int) -> None:
    _cluster(state).update(leader=e.leader, leader_since=ts)


def _handover(state: State, item: dict[str, Any]) -> None:
    handovers: list[Any] = _cluster(state)["handovers"]
    handovers.append(item)
    del handovers[:-MAX_HANDOVERS]


def _channel_owned(state: State, e: ev.ChannelOwned, ts: str, seq: int) -> None:
    _channel(state, e.channel).update(owner=e.member, owner_since=ts)
    _handover(state, {"ts": ts, "channel": e.channel, "from": e.previous, "to": e.member,
                      "reason": e.reason})  # fmt: skip


def _channel_released(state: State, e: ev.ChannelReleased, ts: str, seq: int) -> None:
    _channel(state, e.channel).update(owner=None, owner_since=ts)
    _handover(state, {"ts": ts, "channel": e.channel, "from": e.member, "to": e.to,
                      "reason": e.reason})  # fmt: skip


# --- tasks and queues ------------------------------------------------------------------------


def _task_started(state: State, e: ev.TaskStarted, ts: str, seq: int) -> None:
    task = _task(state, e.task)
    if e.trigger == "api":
        task["origin"] = "api"
    if e.run is None or task["run"] != e.run:
        task["runs"] += 1  # a retry (same run, next attempt) is not a new run
    task.update(
        status="running", since=ts, run=e.run, attempt=e.attempt, trigger=e.trigger,
        definition=e.definition, started_at=ts, ended_at=None, exit_code=None, reason=None,
        pid=e.pid, stdout_log=e.stdout_log, stderr_log=e.stderr_log,
    )  # fmt: skip


def _task_finished(state: State, e: ev.TaskFinished, ts: str, seq: int) -> None:
    run = e.outcome
    task = _task(state, run.task)
    if task["run"] != run.run:
        task["runs"] += 1  # a finish whose start was not seen (e.g. compacted away mid-run)
    if run.status == "failed":
        task["failures"] += 1
    if run.ended_at is None:
        run = dataclasses.replace(run, ended_at=ts)
    if run.definition is None:
        run = dataclasses.replace(run, definition=task["definition"])
    task.update(
        status=run.status, since=ts, run=run.run, attempt=run.attempt, exit_code=run.exit_code,
        started_at=run.started_at, ended_at=run.ended_at, last_duration=run.duration,
        reason=run.reason, pid=None, definition=run.definition,
        stdout_log=run.stdout_log, stderr_log=run.stderr_log,
        stdout_tail=run.stdout_tail, stderr_tail=run.stderr_tail,
    )  # fmt: skip
    task["last_run"] = run.entry()


def _task_skipped(state: State, e: ev.TaskSkipped, ts: str, seq: int) -> None:
    """A skip never hides a run in progress: it is noted in ``last_skipped`` either way."""
    task = _task(state, e.task)
    task["last_skipped"] = {"ts": ts, "reason": e.reason, "trigger": e.trigger}
    if task["status"] == "running":
        return
    task.update(status="skipped", since=ts, reason=e.reason)
    task["trigger"] = e.trigger
    if e.definition is not None:
        task["definition"] = e.definition


def _queue_started(state: State, e: ev.QueueStarted, ts: str, seq: int) -> None:
    queue = _queue(state, e.queue)
    queue.update(
        status="running", since=ts, run=e.run, started_at=ts, ended_at=None,
        order=list(e.order or []), results={}, trigger=e.trigger, reason=None,
    )  # fmt: skip
    if e.trigger == "api":  # the API's queue and the tasks in it
        queue["origin"] = "api"
        for name in e.order or []:
            _task(state, name)["origin"] = "api"


def _queue_finished(state: State, e: ev.QueueFinished, ts: str, seq: int) -> None:
    _queue(state, e.queue).update(
        status=e.status, since=ts, run=e.run, ended_at=ts, results=dict(e.results or {}),
    )  # fmt: skip


def _queue_skipped(state: State, e: ev.QueueSkipped, ts: str, seq: int) -> None:
    """A second start of a running queue: noted in ``last_skipped``; the run goes on as shown."""
    skip = {"ts": ts, "reason": e.reason, "trigger": e.trigger}
    _queue(state, e.queue)["last_skipped"] = skip


# --- recordings ------------------------------------------------------------------------------


def _recording_started(state: State, e: ev.RecordingStarted, ts: str, seq: int) -> None:
    _channel(state, e.channel).update(
        state="recording", since=ts, file=e.file, pid=e.pid, reason=None
    )


def _recording_segment(state: State, e: ev.RecordingSegment, ts: str, seq: int) -> None:
    channel = _channel(state, e.channel)
    size, duration = e.bytes or 0, e.duration
    segment = {"file": e.file, "start": e.start, "end": e.end, "duration": duration, "bytes": size}
    channel["last_segment"] = segment
    channel["segments"] += 1
    channel["bytes"] += size
    if duration:
        channel["bitrate"] = round(size * 8 / duration)
    state["recordings"][e.file] = recording_entry(
        e.channel, e.start, e.end, duration, size, e.hooks
    )


def _recording_stalled(state: State, e: ev.RecordingStalled, ts: str, seq: int) -> None:
    channel = _channel(state, e.channel)
    channel.update(state="stalled", since=ts, reason=e.reason)
    channel["stalls"] += 1


def _recording_reconnecting(state: State, e: ev.RecordingReconnecting, ts: str, seq: int) -> None:
    channel = _channel(state, e.channel)
    channel.update(state="reconnecting", since=ts, reason=e.reason, pid=None)
    channel["attempt"] = e.attempt
    channel["reconnects"] += 1


def _recording_gap(state: State, e: ev.RecordingGap, ts: str, seq: int) -> None:
    gaps: list[Any] = _channel(state, e.channel)["gaps"]
    gaps.append({"start": e.start, "end": e.end, "cause": e.cause})
    del gaps[:-MAX_GAPS]


def _recording_stopped(state: State, e: ev.RecordingStopped, ts: str, seq: int) -> None:
    # nothing is being written any more: the current file is gone (last_segment says what was)
    _channel(state, e.channel).update(
        state="stopped", since=ts, reason=e.reason, pid=None, file=None
    )


def _recording_skipped(state: State, e: ev.RecordingSkipped, ts: str, seq: int) -> None:
    """A channel not started for lack of a slot keeps its state; the daemon retries on its own
    and its live view says why it waits, so the fold notes nothing."""


def _recording_processed(state: State, e: ev.RecordingProcessed, ts: str, seq: int) -> None:
    recording = state["recordings"].get(e.file)
    if recording is not None:  # a new entry, never a change in place: read views share entries
        state["recordings"][e.file] = {**recording, "hooks": e.status}


def _retention_deleted(state: State, e: ev.RetentionDeleted, ts: str, seq: int) -> None:
    state["recordings"].pop(e.file, None)


def _schedule_missed(state: State, e: ev.ScheduleMissed, ts: str, seq: int) -> None:
    """A missed fire is noted on its object without changing its status."""
    getter = {"task": _task, "queue": _queue, "channel": _channel}.get(e.kind)
    if getter is not None:
        missed = {"ts": ts, "fire_time": e.fire_time, "reason": e.reason}
        getter(state, e.name)["last_missed"] = missed


REDUCERS: dict[type[ev.Event], Reducer] = {
    ev.ConfigApplied: _config_applied,
    ev.ConfigRejected: _config_rejected,
    ev.ConfigChanged: _config_changed,
    ev.RecordingRequested: _recording_requested,
    ev.DaemonStarted: _daemon_started,
    ev.DaemonStopped: _daemon_stopped,
    ev.DaemonRecovered: _daemon_recovered,
    ev.StateRecreated: _state_dir_event,
    ev.StateWritable: _state_dir_event,
    ev.ClusterJoined: _cluster_joined,
    ev.ClusterMembers: _cluster_members,
    ev.ClusterFenced: _cluster_fenced,
    ev.ClusterLeader: _cluster_leader,
    ev.ChannelOwned: _channel_owned,
    ev.ChannelReleased: _channel_released,
    ev.TaskStarted: _task_started,
    ev.TaskFinished: _task_finished,
    ev.TaskSkipped: _task_skipped,
    ev.QueueStarted: _queue_started,
    ev.QueueFinished: _queue_finished,
    ev.QueueSkipped: _queue_skipped,
    ev.RecordingStarted: _recording_started,
    ev.RecordingSegment: _recording_segment,
    ev.RecordingStalled: _recording_stalled,
    ev.RecordingReconnecting: _recording_reconnecting,
    ev.RecordingGap: _recording_gap,
    ev.RecordingStopped: _recording_stopped,
    ev.RecordingSkipped: _recording_skipped,
    ev.RecordingProcessed: _recording_processed,
    ev.RetentionDeleted: _retention_deleted,
    ev.ScheduleMissed: _schedule_missed,
}
"""One reducer per event class; each updates the state in place from one event."""


def fold_into(state: State, events: Iterable[LoggedEvent]) -> State:
    """Apply ``events`` (as logged) to ``state`` in place and return it (the caller owns it)."""
    reducers, read = REDUCERS, ev.from_json
    for event in events:
        try:
            logged = read(event)
            reducer = reducers.get(type(logged.event))
            if reducer is not None:
                reducer(state, logged.event, logged.ts, logged.seq)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            logger.warning(
                "state log: event seq {} ({}) does not fit its type and is skipped: {!r}",
                event.get("seq"), event.get("type"), exc,
            )  # fmt: skip
        seq = event.get("seq")
        if isinstance(seq, int) and seq > state["seq"]:
            state["seq"] = seq
    return state


def fold(state: State | None, events: Iterable[LoggedEvent]) -> State:
    """The state after ``events``, starting from ``state`` (``None``: from nothing). Pure."""
    start = empty_state() if state is None else copy.deepcopy(state)
    return fold_into(start, events)
