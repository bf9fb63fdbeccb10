"""Every event of the state log as a typed record, and the one codec between records and JSON.

Producers (the task runner, storage, the recorders, the daemon, CLI commands) build one record per
outcome (``TaskStarted(task=..., run=...)``) and hand it to an :data:`Emit` (``Journal.append`` or
the daemon's state keeper); the fold (``state.fold``) reads records back, one reducer per class.
The JSON shape is exactly the one the log has always had, ``{"seq", "ts", "type", **fields}``, so
logs written before stay readable and the previous version reads new logs:

- :func:`to_json` writes the fields in declared order; a field made with :func:`optional` is left
  out while it is None (``config.rejected`` has a ``commit`` only in git mode);
- :func:`from_json` reads one event back as :class:`Logged` (seq, ts and the record). Fields this
  version does not know are kept in ``extra`` and written again by :func:`to_json`; a type it does
  not know becomes an :class:`UnknownEvent`; a known type missing a required field raises
  :class:`EventError` (the fold skips such an event with a warning);
- :func:`build` makes a record from a type name and keyword fields, strictly: the legacy form
  ``append("task.started", task=...)`` goes through it, so a misspelt field fails loudly.

:data:`EVENT_TYPES` maps each type string to its class. Pure: no clock, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from streamrec.core.runs import RUN_FIELDS, RunOutcome

_OPTIONAL = "optional"


def optional() -> Any:
    """A field that defaults to None and is not written while it is None."""
    return field(default=None, metadata={_OPTIONAL: True})


class EventError(ValueError):
    """An event whose fields do not fit its type (what happens next is the caller's to say)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """The base of every event record: its ``type`` string, and fields from newer versions."""

    type: ClassVar[str] = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Fields this version does not know (written by a newer one), kept so they are not lost."""

    def type_name(self) -> str:
        """The ``type`` written to the log."""
        return type(self).type

    def fields_json(self) -> dict[str, Any]:
        """The event's fields as the log holds them (without seq, ts and type)."""
        out: dict[str, Any] = {}
        for name, omit_none in _fields(type(self)):
            value = getattr(self, name)
            if value is None and omit_none:
                continue
            out[name] = value
        out.update(self.extra)
        return out

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any], *, strict: bool = False) -> Event:
        """The record of these fields; unknown ones go to ``extra`` (an error when ``strict``)."""
        known = {name for name, _ in _fields(cls)}
        extra = {k: v for k, v in fields.items() if k not in known}
        if extra and strict:
            raise EventError(
                f"event {cls.type!r} has no field {', '.join(map(repr, sorted(extra)))}; "
                f"its fields are {', '.join(sorted(known))}"
            )
        values = {k: v for k, v in fields.items() if k in known}
        try:
            return cls(**values, extra=extra)
        except TypeError as exc:
            raise EventError(f"event {cls.type!r} does not fit its type: {exc}") from None


_FIELD_CACHE: dict[type[Event], tuple[tuple[str, bool], ...]] = {}


def _fields(cls: type[Event]) -> tuple[tuple[str, bool], ...]:
    """``(name, omitted while None)`` of a record class's own fields, in order (cached)."""
    found = _FIELD_CACHE.get(cls)
    if found is None:
        found = _FIELD_CACHE[cls] = tuple(
            (f.name, bool(f.metadata.get(_OPTIONAL)))
            for f in dataclasses.fields(cls)
            if f.name != "extra"
        )
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent(Event):
    """An event of a type this version does not know: kept as it was, changes no state."""

    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def type_name(self) -> str:
        return self.name

    def fields_json(self) -> dict[str, Any]:
        return dict(self.fields)


# --- config, daemon and the state dir ---------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigApplied(Event):
    """A config revision became current (``apply``, or the daemon's reconcile)."""

    type: ClassVar[str] = "config.applied"
    revision: str | None = None
    git: Any = None
    diff: Any = None
    outcomes: Mapping[str, Any] | None = optional()
    took_ms: float | None = optional()
    reason: str | None = optional()


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigRejected(Event):
    """A config was refused; the last good one keeps running."""

    type: ClassVar[str] = "config.rejected"
    errors: list[str]
    reason: str | None = optional()
    revision: str | None = optional()
    commit: str | None = optional()


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigChanged(Event):
    """Someone changed the config through the HTTP API (the dashboard's forms or YAML editor).

    ``role`` is the role of the token (``admin``; ``local`` for the daemon's own user on the
    socket) and ``who`` its label when the token has one; ``files`` the config files written and
    ``diff`` their unified diff with secrets redacted; ``saved_to`` where the change went
    (``directory``, ``git`` with its ``commit``, or ``patch`` when the config is read-only and
    nothing was written).
    """

    type: ClassVar[str] = "config.changed"
    role: str
    files: list[str]
    diff: str
    saved_to: str
    who: str | None = optional()
    commit: str | None = optional()
    summary: str | None = optional()


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingRequested(Event):
    """An operator asked for a channel to be recorded now, until ``until`` (an ISO stamp).

    The daemon records the channel from now to ``until`` whatever its schedule says (a channel
    that already records keeps its recorder); a restarted daemon reads the request back from the
    log and keeps it until ``until``. ``role`` and ``who`` are as in :class:`ConfigChanged`.
    """

    type: ClassVar[str] = "recording.requested"
    channel: str
    until: str
    role: str
    who: str | None = optional()


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonStarted(Event):
    """A daemon took the state dir."""

    type: ClassVar[str] = "daemon.started"
    pid: int | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonStopped(Event):
    """A daemon shut down cleanly."""

    type: ClassVar[str] = "daemon.stopped"
    reason: str | None = None
    took: float | None = optional()


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonRecovered(Event):
    """At start-up: runs the previous daemon left behind (``{kind, name, run}``), and groups
    stopped (``{kind, name, run, pgid}``)."""

    type: ClassVar[str] = "daemon.recovered"
    interrupted: list[Mapping[str, Any]] = field(default_factory=list)
    stopped: list[Mapping[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class StateRecreated(Event):
    """The first event of a log recreated after its state dir vanished."""

    type: ClassVar[str] = "state.recreated"
    state_dir: str | None = None
    previous_seq: int | None = None
    lost_events: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StateWritable(Event):
    """The log accepts writes again after failing; ``dropped`` events were not recorded."""

    type: ClassVar[str] = "state.writable"
    dropped: int | None = None


# --- the etcd cluster (daemon.cluster) -------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterJoined(Event):
    """This daemon registered as ``member`` of an etcd cluster under a new lease (at start, and
    again after it fenced itself); ``members``: the live members it saw then."""

    type: ClassVar[str] = "cluster.joined"
    member: str
    cluster: str
    members: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterMembers(Event):
    """The set of live members changed (one joined, left or lost its lease)."""

    type: ClassVar[str] = "cluster.members"
    members: list[str] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterFenced(Event):
    """This member could not renew its lease in time and stopped its recorders itself, before
    another member could take their channels; it registers again with a new lease."""

    type: ClassVar[str] = "cluster.fenced"
    member: str
    reason: str
    stopped: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterLeader(Event):
    """This member became the cluster's leader (``leader`` true: it runs the scheduled tasks and
    queues) or stopped being it."""

    type: ClassVar[str] = "cluster.leader"
    member: str
    leader: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelOwned(Event):
    """This member took the ownership key of ``channel``: it alone may record it now;
    ``previous``: the member that held it before, when one did."""

    type: ClassVar[str] = "channel.owned"
    channel: str
    member: str
    reason: str
    previous: str | None = optional()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelReleased(Event):
    """This member stopped recording ``channel`` and gave its ownership key back (``to``: the
    member it hashes to now, when there is one)."""

    type: ClassVar[str] = "channel.released"
    channel: str
    member: str
    reason: str
    to: str | None = optional()


# --- tasks and queues -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskStarted(Event):
    """An attempt of a task run started its process."""

    type: ClassVar[str] = "task.started"
    task: str
    run: int | None = None
    attempt: int | None = None
    trigger: str | None = None
    definition: str | None = None
    stdout_log: str | None = None
    stderr_log: str | None = None
    pid: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskFinished(Event):
    """An attempt ended (or a run was canceled): its :class:`RunOutcome`, written flat."""

    type: ClassVar[str] = "task.finished"
    outcome: RunOutcome

    def fields_json(self) -> dict[str, Any]:
        outcome = self.outcome
        return {**{name: getattr(outcome, name) for name in RUN_FIELDS}, **self.extra}

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any], *, strict: bool = False) -> Event:
        known = set(RUN_FIELDS)
        extra = {k: v for k, v in fields.items() if k not in known}
        if extra and strict:
            raise EventError(
                f"event 'task.finished' has no field {', '.join(map(repr, sorted(extra)))}; "
                f"its fields are {', '.join(sorted(known))}"
            )
        try:
            outcome = RunOutcome(**{k: v for k, v in fields.items() if k in known})
        except TypeError as exc:
            raise EventError(f"event 'task.finished' does not fit its type: {exc}") from None
        return cls(outcome=outcome, extra=extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskSkipped(Event):
    """A run that did not happen, and why (overlap, dependency, upstream failed, queue stopped)."""

    type: ClassVar[str] = "task.skipped"
    task: str
    reason: str | None = None
    trigger: str | None = None
    detail: str | None = optional()
    definition: str | None = optional()


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueStarted(Event):
    """A queue run began, with its order."""

    type: ClassVar[str] = "queue.started"
    queue: str
    run: int | None = None
    order: list[str] = field(default_factory=list)
    trigger: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueFinished(Event):
    """A queue run ended; ``results`` is ``{task: status}``."""

    type: ClassVar[str] = "queue.finished"
    queue: str
    run: int | None = None
    status: str
    results: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSkipped(Event):
    """A queue start that did not happen (it was running already)."""

    type: ClassVar[str] = "queue.skipped"
    queue: str
    reason: str | None = None
    trigger: str | None = None


# --- recordings -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStarted(Event):
    """ffmpeg started writing a channel into ``file`` (its partial name)."""

    type: ClassVar[str] = "recording.started"
    channel: str
    file: str | None = None
    pid: int | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingSegment(Event):
    """A finished file got its final name (``core.files.FinishedFile`` in the fold's terms)."""

    type: ClassVar[str] = "recording.segment"
    channel: str
    file: str
    start: str | None = None
    end: str | None = None
    duration: float | None = None
    bytes: int | None = None
    hooks: str | None = None
    recovered: bool | None = optional()


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingProcessed(Event):
    """The ``on_segment`` hooks of a file finished with ``status``."""

    type: ClassVar[str] = "recording.processed"
    channel: str | None = None
    file: str
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStalled(Event):
    """ffmpeg made no progress; it is being stopped."""

    type: ClassVar[str] = "recording.stalled"
    channel: str
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingReconnecting(Event):
    """The recorder waits ``delay`` seconds before attempt ``attempt`` (``probing``: how often)."""

    type: ClassVar[str] = "recording.reconnecting"
    channel: str
    attempt: int | None = None
    delay: float | None = None
    reason: str | None = None
    probing: float | None = optional()


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingGap(Event):
    """Time between two files that was not recorded, and why."""

    type: ClassVar[str] = "recording.gap"
    channel: str
    start: str | None = None
    end: str | None = None
    cause: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStopped(Event):
    """A channel's recorder stopped (window ended, low space, crash, shutdown)."""

    type: ClassVar[str] = "recording.stopped"
    channel: str
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingSkipped(Event):
    """A channel that should record was not started (``max_concurrent_recordings``)."""

    type: ClassVar[str] = "recording.skipped"
    channel: str
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionDeleted(Event):
    """Retention deleted a finished file."""

    type: ClassVar[str] = "retention.deleted"
    channel: str | None = None
    file: str
    bytes: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleMissed(Event):
    """A scheduled fire that did not run on time (``count`` fires, when coalesced)."""

    type: ClassVar[str] = "schedule.missed"
    kind: str
    name: str
    fire_time: str | None = None
    count: int | None = optional()
    reason: str | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        ConfigApplied, ConfigRejected, ConfigChanged, RecordingRequested,
        DaemonStarted, DaemonStopped, DaemonRecovered,
        StateRecreated, StateWritable,
        ClusterJoined, ClusterMembers, ClusterFenced, ClusterLeader, ChannelOwned, ChannelReleased,
        TaskStarted, TaskFinished, TaskSkipped, QueueStarted, QueueFinished, QueueSkipped,
        RecordingStarted, RecordingSegment, RecordingProcessed, RecordingStalled,
        RecordingReconnecting, RecordingGap, RecordingStopped, RecordingSkipped,
        RetentionDeleted, ScheduleMissed,
    )
}  # fmt: skip
"""Every event type string and its record class."""

RESERVED = frozenset({"seq", "ts", "type"})
"""Keys the log owns: no event field may be named so."""


@dataclass(frozen=True, slots=True)
class Logged:
    """One event as the log holds it: its seq, its stamp and its record."""

    seq: int
    ts: str
    event: Event


def build(type_name: str, fields: Mapping[str, Any]) -> Event:
    """The record of ``type_name`` with ``fields``, strictly (see the module docstring)."""
    if not isinstance(type_name, str) or not type_name:
        raise ValueError(f"an event type must be a non-empty string, not {type_name!r}")
    if fields.keys() & RESERVED:
        raise ValueError(f"event fields may not be named {sorted(fields.keys() & RESERVED)}")
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        return UnknownEvent(name=type_name, fields=dict(fields))
    return cls.from_fields(fields, strict=True)


def to_json(event: Event, *, seq: int, ts: str) -> dict[str, Any]:
    """``{"seq", "ts", "type", **fields}``: the event as one line of the log holds it."""
    fields = event.fields_json()
    if fields.keys() & RESERVED:
        raise ValueError(f"event fields may not be named {sorted(fields.keys() & RESERVED)}")
    return {"seq": seq, "ts": ts, "type": event.type_name(), **fields}


def from_json(data: Mapping[str, Any]) -> Logged:
    """One event read from the log; EventError when a known type's fields do not fit."""
    seq, ts, kind = data.get("seq"), data.get("ts"), data.get("type")
    fields = {k: v for k, v in data.items() if k not in RESERVED}
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    event = UnknownEvent(name=str(kind), fields=fields) if cls is None else cls.from_fields(fields)
    return Logged(seq if isinstance(seq, int) else 0, ts if isinstance(ts, str) else "", event)


class Emit(Protocol):
    """Where producers send events: one record. ``Journal.append`` and the daemon's state keeper
    fit (they still take the legacy type-name form too, for the task runner's ``EventLog``)."""

    def __call__(self, event: Event, /) -> object: ...
