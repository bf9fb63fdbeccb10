"""The status view: every declared object with its state, as one JSON-able dict. Pure.

``streamrec status`` (``cli.status``) and the daemon's ``/api/status`` (``daemon.webapi``) both call
:func:`build_status`, so the terminal, ``status -o json``, the HTTP API and the dashboard show the same
thing. The inputs are values: the config that declares the objects, the fold of the state log
(``Journal.state()``), the daemon's live view (``Daemon.status()``: whether each channel records now,
why, until when; ``None`` when no daemon runs) and the time. Objects the config no longer declares are
left out, even when the log remembers them; objects the log never mentions get their initial state
(``idle`` or ``disabled`` channels, ``created`` tasks and queues).

Each channel gets, beside its fold entry (state, since, file, bytes, bitrate, last segment, counters,
gaps): its category, whether it has a schedule, the gaps that ended in the last 24 hours, its next
three windows, the end of a "record now" request that has not ended yet (``requested_until``, else
None), and the daemon's live view of it under ``daemon``. While the daemon's recorder writes
a file, ``live`` is that file's reading (``core.liveprogress``: its final name, bytes, bitrate in
bits per second, media seconds, when read), and ``file`` is its final name rather than ffmpeg's
temporary one; otherwise ``live`` is None. Times are state-log stamps
(``core.timestamps``), like the fold's. Tasks and queues get their
schedule and next fire time (cron and ``every`` schedules with their jitter; ``once`` has none),
asked of ``core.schedule``, the engine whose times the daemon's timers fire at.

Tasks and queues the Python API ran in this state directory (``origin: "api"`` in the fold) and
the config does not declare are listed apart, under ``api`` (``{"tasks": ..., "queues": ...}``,
their fold entries as they are), so declared objects keep their section to themselves.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from streamrec.core.schedule import schedule_key, timing_of
from streamrec.core.timestamps import format_ts, parse_ts
from streamrec.core.windows import upcoming
from streamrec.spec.model import Config, Queue, Task

GAP_WINDOW = timedelta(hours=24)
"""Gaps that ended within this long before now are listed as ``gaps_24h``."""


def recent_gaps(entry: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """The gaps of a channel's fold entry that ended within :data:`GAP_WINDOW` (or have not ended)."""
    since = now - GAP_WINDOW
    return [g for g in entry.get("gaps") or [] if (parse_ts(g.get("end")) or now) >= since]


def next_fire(kind: str, name: str, obj: Task | Queue, zone: ZoneInfo, now: datetime) -> str | None:
    """When a task's or queue's schedule fires next (a state-log stamp), None for ``once`` and no
    schedule."""
    timing = timing_of(schedule_key(kind, name), obj.schedule, obj.jitter, zone)
    when = timing.next_after(now) if timing is not None else None
    return format_ts(when) if when is not None else None


def _cluster(state: dict[str, Any], view: dict[str, Any] | None) -> dict[str, Any]:
    """The cluster as this member's log folded it (its hand-overs, when it fenced), with the
    daemon's live view of it over that (members, owners, lease age) while it runs."""
    folded = dict(state.get("cluster") or {})
    return {**folded, **(view or {}), "handovers": folded.get("handovers") or []}


def build_status(
    config: Config,
    state: dict[str, Any],
    now: datetime,
    *,
    live: dict[str, Any] | None,
    directory: str,
    revision: str | None,
    applied_revision: str | None,
) -> dict[str, Any]:
    """The status of every object ``config`` declares (see the module docstring).

    ``revision`` is the revision of ``config`` and ``applied_revision`` the one last applied;
    ``pending`` says they differ. ``state`` is not modified.
    """
    zone = ZoneInfo(config.settings.timezone)
    folded_channels = state.get("channels") or {}
    live_channels = (live or {}).get("channels") or {}
    cluster = ((live or {}).get("daemon") or {}).get("cluster")
    owners = (cluster or {}).get("owners")
    channels = {}
    for name, channel in config.channels.items():
        entry = dict(folded_channels.get(name) or {})
        entry.setdefault("state", "idle" if channel.enabled else "disabled")
        entry["category"] = channel.category
        entry["enabled"] = channel.enabled
        entry["scheduled"] = bool(channel.schedule)
        entry["gaps_24h"] = recent_gaps(entry, now)
        requested = entry.get("requested_until")
        entry["requested_until"] = requested if (parse_ts(requested) or now) > now else None
        entry["windows"] = [
            {"start": format_ts(i.start), "end": format_ts(i.end)}
            for i in upcoming(channel.schedule, channel.padding, zone, now)
        ]
        if owners is not None:  # who records it, as etcd says now (``daemon.cluster``)
            entry["owner"] = owners.get(name)
        if live is not None:
            entry["daemon"] = live_channels.get(name)
        entry["live"] = (live_channels.get(name) or {}).get("live")
        if entry["live"]:  # the file being written, by the name it gets (not ffmpeg's own)
            entry["file"] = entry["live"].get("file", entry.get("file"))
        channels[name] = entry
    folded_tasks = state.get("tasks") or {}
    tasks = {}
    for name, task in config.tasks.items():
        entry = dict(folded_tasks.get(name) or {})
        entry.setdefault("status", "created")
        entry["schedule"] = task.model_dump(mode="json")["schedule"]
        entry["next_fire"] = next_fire("task", name, task, zone, now)
        entry["depends_on"] = list(task.depends_on)
        tasks[name] = entry
    folded_queues = state.get("queues") or {}
    queues = {}
    for name, queue in config.queues.items():
        entry = dict(folded_queues.get(name) or {})
        entry.setdefault("status", "created")
        entry["tasks"] = list(queue.tasks)
        entry["next_fire"] = next_fire("queue", name, queue, zone, now)
        queues[name] = entry
    scripted = {
        kind: {
            name: dict(entry)
            for name, entry in sorted((state.get(kind) or {}).items())
            if entry.get("origin") == "api" and name not in declared
        }
        for kind, declared in (("tasks", config.tasks), ("queues", config.queues))
    }
    folded_config = state.get("config") or {}
    return {
        "config": {
            "directory": directory,
            "revision": revision,
            "applied_revision": applied_revision,
            "pending": revision != applied_revision,
            "applied": folded_config.get("applied"),
            "rejected": folded_config.get("rejected"),
        },
        "daemon": {
            **(state.get("daemon") or {}),
            "running": live is not None,
            **((live or {}).get("daemon") or {}),
        },
        **({"cluster": _cluster(state, cluster)} if cluster or state.get("cluster") else {}),
        "channels": channels,
        "tasks": tasks,
        "queues": queues,
        "api": scripted,
        "seq": state.get("seq", 0),
    }
