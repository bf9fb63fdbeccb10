"""The daemon's channels: one recorder per channel that should be recording now, and no other.

``daemon.service`` calls :meth:`ChannelSet.set` for each added or changed channel,
:meth:`ChannelSet.remove` for each removed one, and :meth:`ChannelSet.evaluate` when a window opens
or closes (a timer set through ``runtime.scheduling``). Whether a channel should record is decided by
:func:`should_record` from its definition, the time, the shard and a "record now" request: enabled,
owned by this daemon, and either unscheduled, inside a window (``core.windows``; a daemon started
inside a window records the rest of it) or requested until a later time; the window timer is armed
at the windows' next change, the same engine's answer that ``status`` shows.

A request (:meth:`ChannelSet.request`, from ``POST /api/channels/{name}/record`` through
``daemon.actions``) acts as one extra window from now to its end: a channel outside its windows
starts a recorder that ends at that time, as at a window's end (file finished, the normal
``recording.stopped``); a channel that records already keeps its recorder (when that one ends before
the request does, the next one records the rest). A daemon started again reads the requests that
have not ended back from the state log (:func:`requests_of`). A request for ``now`` cancels one. A recorder whose definition changed is stopped (its file finalized) and started
again; every other recorder is left alone.

Each running recorder also has a pid file (``state/pids/channel-<name>/ffmpeg.json``, written when
``recording.started`` reports ffmpeg's pid) so that a daemon started after a crash can find an ffmpeg
that outlived its parent and stop it before recording that channel again.

What each recorder writes right now (:meth:`ChannelSet.live_progress`, :meth:`ChannelSet.writing`)
is read from the running recorders themselves, for ``/api/status``, ``/metrics``, live thumbnails
and live playback; it stays in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from streamrec.core.clock import Clock
from streamrec.core.events import Emit, RecordingSkipped
from streamrec.core.filenames import safe_component
from streamrec.core.liveprogress import LiveProgress
from streamrec.core.timestamps import format_ts, parse_ts
from streamrec.core.windows import WindowTiming, active_interval
from streamrec.log import logger
from streamrec.runtime.recorder import Recorder
from streamrec.spec.model import Channel
from streamrec.state.private import private_dir, write_private

RETRY_AFTER_FAILURE = 30.0
"""Seconds before a channel whose recorder ended by itself (disk full, crash) is looked at again."""


@dataclass
class Decision:
    """Whether a channel should record now, until when, and when to look again."""

    record: bool
    until: datetime | None = None
    recheck: datetime | None = None
    why: str = ""


def should_record(
    channel: Channel,
    zone: ZoneInfo,
    now: datetime,
    owned: bool = True,
    requested: datetime | None = None,
) -> Decision:
    """The decision for one channel at ``now`` (pure); ``requested``: the end of a "record now"
    request, one extra window from now until then (ignored once it has passed)."""
    if not channel.enabled:
        return Decision(False, why="disabled")
    if not owned:
        return Decision(False, why="owned by another daemon (shard or cluster member)")
    if not channel.schedule:
        return Decision(True, why="always on")
    asked = requested if requested is not None and requested > now else None
    interval = active_interval(channel.schedule, channel.padding, zone, now)
    change = WindowTiming(tuple(channel.schedule), channel.padding, zone).next_after(now)
    if interval is not None:
        until = max(interval.end, asked) if asked is not None else interval.end
        return Decision(True, until=until, recheck=change, why="inside a window")
    if asked is not None:
        return Decision(True, until=asked, recheck=change, why="record now requested")
    return Decision(False, recheck=change or now + timedelta(days=7), why="outside its windows")


def requests_of(state: dict[str, Any], now: datetime) -> dict[str, datetime]:
    """The "record now" requests of the fold (``requested_until``) that end after ``now``."""
    found = {}
    for name, entry in (state.get("channels") or {}).items():
        until = parse_ts((entry or {}).get("requested_until"))
        if until is not None and until > now:
            found[name] = until
    return found


MakeRecorder = Callable[[str, Channel], Recorder]
SetTimer = Callable[[str, datetime], None]


@dataclass
class _Running:
    recorder: Recorder
    task: asyncio.Task[str]
    definition: Channel


class ChannelSet:
    """The recorders of one daemon, keyed by channel name."""

    def __init__(
        self,
        *,
        make_recorder: MakeRecorder,
        set_timer: SetTimer,
        cancel_timer: Callable[[str], None],
        pids_dir: Path,
        emit: Emit,
        clock: Clock,
        zone: str = "UTC",
        max_concurrent: int = 50,
        owns: Callable[[str], bool] = lambda _name: True,
        requests: dict[str, datetime] | None = None,
    ) -> None:
        self.make_recorder = make_recorder
        self.set_timer = set_timer
        self.cancel_timer = cancel_timer
        self.pids_dir = pids_dir
        self.emit = emit
        self.zone = ZoneInfo(zone)
        self.max_concurrent = max_concurrent
        self.owns = owns
        self.clock = clock
        self.channels: dict[str, Channel] = {}
        self.running: dict[str, _Running] = {}
        self._pid_records: dict[str, dict[str, Any]] = {}
        self.decisions: dict[str, Decision] = {}
        self.requests: dict[str, datetime] = dict(requests or {})
        """The end of each channel's "record now" request (module docstring)."""
        self._lock = asyncio.Lock()

    def configure(self, zone: str, max_concurrent: int) -> None:
        """The settings changed: the time zone windows are read in, and how many may record at
        once (recorders already running are left alone; the caller sets every channel again)."""
        self.zone = ZoneInfo(zone)
        self.max_concurrent = max_concurrent

    def timer_key(self, name: str) -> str:
        return f"window/{name}"

    async def set(self, name: str, channel: Channel) -> str:
        """Declare or redeclare a channel; returns started, restarted, stopped, waiting or unchanged."""
        async with self._lock:
            previous = self.channels.get(name)
            self.channels[name] = channel
            current = self.running.get(name)
            if current is not None and current.definition != channel:
                await self._stop(name, "its definition changed")
                outcome = await self._evaluate(name)
                return "restarted" if outcome == "started" else outcome
            outcome = await self._evaluate(name)
            if outcome == "unchanged" and previous is not None and previous != channel:
                return "updated"  # not recording now; the new definition is used when it does
            return outcome

    async def remove(self, name: str) -> str:
        """Forget a channel, stopping (and finalizing) its recording."""
        async with self._lock:
            self.channels.pop(name, None)
            self.decisions.pop(name, None)
            self.requests.pop(name, None)
            self.cancel_timer(self.timer_key(name))
            if name in self.running:
                await self._stop(name, "removed from the config")
                return "stopped"
            return "unchanged"

    async def request(self, name: str, until: datetime) -> str:
        """Record ``name`` until ``until`` whatever its windows say (``until`` not after now:
        the request is cancelled); the outcome as :meth:`set` says it."""
        async with self._lock:
            if until > self.clock.now():
                self.requests[name] = until
                return await self._evaluate(name)
            self.requests.pop(name, None)
            return await self._evaluate(name, stopping="its record-now request was cancelled")

    async def evaluate(self, name: str) -> str:
        """Look at one channel again (a window opened or closed, a recorder ended)."""
        async with self._lock:
            return await self._evaluate(name)

    async def evaluate_all(self) -> None:
        """Look at every channel again (the shard or the time zone changed)."""
        async with self._lock:
            for name in list(self.channels):
                await self._evaluate(name)

    async def _evaluate(self, name: str, stopping: str | None = None) -> str:
        """Start or stop the channel's recorder as :func:`should_record` says now; a recorder
        stopped is told ``stopping`` (default: the decision's reason)."""
        channel = self.channels.get(name)
        if channel is None:
            return "unchanged"
        now = self.clock.now()
        requested = self.requests.get(name)
        if requested is not None and requested <= now:
            del self.requests[name]
            requested = None
        decision = should_record(channel, self.zone, now, self.owns(name), requested)
        self.decisions[name] = decision
        if decision.recheck is not None:
            self.set_timer(self.timer_key(name), decision.recheck)
        else:
            self.cancel_timer(self.timer_key(name))
        running = self.running.get(name)
        if decision.record and running is None:
            if len(self.running) >= self.max_concurrent:
                reason = f"max_concurrent_recordings ({self.max_concurrent}) reached"
                self.emit(RecordingSkipped(channel=name, reason=reason))
                logger.bind(channel=name, event="recording.skipped").warning(
                    "channel {!r} not started: {}", name, reason
                )
                self.set_timer(self.timer_key(name), now + timedelta(seconds=RETRY_AFTER_FAILURE))
                return "waiting"
            self._start(name, channel, decision)
            return "started"
        if not decision.record and running is not None:
            await self._stop(name, stopping or decision.why)
            return "stopped"
        return "unchanged" if running is not None or not decision.record else "waiting"

    def _start(self, name: str, channel: Channel, decision: Decision) -> None:
        recorder = self.make_recorder(name, channel)
        duration = None
        if decision.until is not None:
            duration = max(1.0, (decision.until - self.clock.now()).total_seconds())
        with logger.contextualize(channel=name):  # every log line of the recorder names it
            recording = self._record(name, recorder, duration)
            task = asyncio.create_task(recording, name=f"record {name}")
        self.running[name] = _Running(recorder, task, channel)
        logger.bind(channel=name).info("channel {!r}: recording ({})", name, decision.why)

    async def _record(self, name: str, recorder: Recorder, duration: float | None) -> str:
        try:
            reason = await recorder.run(duration)
        except Exception as exc:  # the recorder logged recording.stopped; look again later
            logger.exception("channel {!r}: recorder failed", name)
            reason = f"recorder failed: {exc}"
        finally:
            self._clear_pid(name)
        current = self.running.get(name)
        if current is not None and current.recorder is recorder:
            del self.running[name]
            if reason != "duration reached":
                # ended by itself (disk full, crash): do not spin; look again in a while
                retry = self.clock.now() + timedelta(seconds=RETRY_AFTER_FAILURE)
                self.set_timer(self.timer_key(name), retry)
            else:
                asyncio.get_running_loop().call_soon(
                    lambda: asyncio.ensure_future(self.evaluate(name))
                )
        return reason

    async def _stop(self, name: str, reason: str) -> None:
        running = self.running.pop(name, None)
        if running is None:
            return
        running.recorder.stop(reason)
        with contextlib.suppress(Exception):
            await running.task

    async def stop_all(self, reason: str) -> None:
        """Stop every recorder at once (shutdown); each finalizes its file."""
        async with self._lock:
            names = list(self.running)
            for name in names:
                self.running[name].recorder.stop(reason)
            tasks = [self.running[name].task for name in names]
            await asyncio.gather(*tasks, return_exceptions=True)
            self.running.clear()

    def observe(self, event: dict[str, Any]) -> None:
        """Keep ffmpeg pid files in step with the events the recorders emit."""
        channel = event.get("channel")
        if not isinstance(channel, str):
            return
        if event.get("type") == "recording.started" and event.get("pid"):
            record = {"pid": event["pid"], "channel": channel, "daemon": os.getpid()}
            self._pid_records[channel] = record
            self._write_pid(channel, record)

    def write_pid_files(self) -> None:
        """Write the pid files of running recorders again (the state dir was recreated)."""
        for channel, record in self._pid_records.items():
            if channel in self.running:
                self._write_pid(channel, record)

    def _write_pid(self, channel: str, record: dict[str, Any]) -> None:
        path = self._pid_file(channel)
        private_dir(path.parent)
        write_private(path, json.dumps(record).encode())

    def _pid_file(self, name: str) -> Path:
        return self.pids_dir / f"channel-{safe_component(name)}" / "ffmpeg.json"

    def _clear_pid(self, name: str) -> None:
        self._pid_records.pop(name, None)
        self._pid_file(name).unlink(missing_ok=True)

    def live_progress(self) -> dict[str, LiveProgress]:
        """The latest reading of the file each running recorder writes now (``core.liveprogress``;
        kept in memory by the recorders, never logged), by channel; channels writing nothing
        (starting, reconnecting) are left out."""
        found = {}
        for name, running in self.running.items():
            progress = running.recorder.progress
            if progress is not None:
                found[name] = progress
        return found

    def writing(self, name: str) -> Path | None:
        """The partial file channel ``name`` writes now, or None (a live thumbnail and live
        playback read it)."""
        running = self.running.get(name)
        return running.recorder.writing if running is not None else None

    def states(self) -> dict[str, dict[str, Any]]:
        """What each channel is doing, for status: recording or not, why, until when, and the file
        it writes now (``live``, :meth:`live_progress` as JSON, or None)."""
        result = {}
        live = self.live_progress()
        for name in self.channels:
            decision = self.decisions.get(name)
            reading = live.get(name)
            result[name] = {
                "live": reading.to_json() if reading is not None else None,
                "recording": name in self.running,
                "why": decision.why if decision else None,
                "until": format_ts(decision.until) if decision and decision.until else None,
                "requested_until": format_ts(asked) if (asked := self.requests.get(name)) else None,
                "next_change": (
                    format_ts(decision.recheck) if decision and decision.recheck else None
                ),
            }
        return result
