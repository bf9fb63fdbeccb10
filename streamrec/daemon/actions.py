"""The control side of the daemon: what the HTTP API asks it to do, readiness, and its live view.

``daemon.service`` makes one :class:`Control` from the collaborators it acts through and serves it
as the ``web.routes.Actions`` of both API listeners (``daemon.serving``); the signal handlers call
:meth:`Control.request_shutdown` too. On-demand runs go through the daemon's one task runner, so a
run asked for over the socket and a scheduled one never overlap beyond what the task's
``concurrency`` allows; a reconcile asked for is the reconciler's (``daemon.reconciler``).
"Record now" (:meth:`Control.record_now`) logs ``recording.requested`` with who asked, then hands
the request to the channels (``daemon.channels``: one extra window until then).

Ready means a config is loaded, the daemon is not stopping and the state log can be written
(``daemon.statekeeper``): a daemon that records but cannot log what it records is not ready.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from streamrec.app.recording import Recording
from streamrec.core.clock import Clock
from streamrec.core.events import RecordingRequested
from streamrec.core.runs import RunOutcome
from streamrec.core.sharding import Shard
from streamrec.core.timestamps import format_ts
from streamrec.daemon.channels import ChannelSet
from streamrec.daemon.reconciler import Current
from streamrec.daemon.sources import ConfigSource
from streamrec.daemon.statekeeper import StateKeeper
from streamrec.errors import TaskError
from streamrec.log import logger
from streamrec.runtime.scheduling import Scheduler
from streamrec.runtime.tasks.graph import run_queue, run_with_deps
from streamrec.runtime.tasks.runner import TaskRunner
from streamrec.version import __version__
from streamrec.web.access import Actor

Reconcile = Callable[[str, bool], Awaitable[dict[str, Any]]]


class Control:
    """Actions and the live view (module docstring)."""

    def __init__(
        self,
        *,
        reconcile: Reconcile,
        runner: TaskRunner,
        scheduler: Scheduler,
        channels: ChannelSet,
        keeper: StateKeeper,
        current: Current,
        recording: Recording,
        source: ConfigSource,
        shard: Shard,
        cluster: Callable[[], dict[str, Any] | None] = lambda: None,
        clock: Clock,
        started_at: float,
    ) -> None:
        self._reconcile = reconcile
        self._runner = runner
        self._scheduler = scheduler
        self._channels = channels
        self._keeper = keeper
        self._current = current
        self._recording = recording
        self._source = source
        self._shard = shard
        self._cluster = cluster
        """This member's view of its etcd cluster (``daemon.cluster``), None outside one."""
        self._clock = clock
        self._started_at = started_at
        self.stop_event = asyncio.Event()
        """Set when the daemon should stop; the daemon waits on it."""
        self.stop_reason = "stopped"

    def request_shutdown(self, reason: str) -> None:
        """Begin a clean stop (signal handlers and the API call this)."""
        if not self.stop_event.is_set():
            logger.info("stopping: {}", reason)
            self.stop_reason = reason
            self.stop_event.set()

    async def reconcile(self, reason: str, allow_empty: bool = False) -> dict[str, Any]:
        return await self._reconcile(reason, allow_empty)

    async def task_run(self, name: str, with_deps: bool) -> dict[str, Any]:
        if with_deps:
            results = await run_with_deps(self._runner, name, trigger="cli")
        else:
            results = {name: await self._runner.run(name, trigger="cli")}
        return {"results": {n: _result(r) for n, r in results.items()}}

    async def task_stop(self, name: str) -> dict[str, Any]:
        self._runner.task(name)
        return {"stopped": await self._runner.stop(name, reason="stopped by streamrec task stop")}

    async def queue_start(self, name: str) -> dict[str, Any]:
        result = await run_queue(self._runner, name, trigger="cli")
        return {
            "queue": name,
            "status": result.status,
            "results": {n: _result(r) for n, r in result.results.items()},
        }

    async def queue_stop(self, name: str) -> dict[str, Any]:
        return {"stopped": await self._runner.stop_queue(name, reason="stopped by streamrec")}

    async def record_now(self, channel: str, minutes: float, actor: Actor) -> dict[str, Any] | None:
        """Record ``channel`` for ``minutes`` from now whatever its windows say (0: cancel the
        request); None when no such channel is declared. A disabled channel, or one another shard
        records, is refused (``TaskError``: 409)."""
        defined = self._channels.channels.get(channel)
        if defined is None:
            return None
        if minutes > 0 and not defined.enabled:
            raise TaskError(
                f"channel {channel!r} is disabled (enabled: false in the config); "
                "enable it to record it"
            )
        if minutes > 0 and not self._channels.owns(channel):
            raise TaskError(
                f"channel {channel!r} is recorded by another shard's daemon, not this one"
            )
        until = self._clock.now() + timedelta(minutes=minutes)
        stamp = format_ts(until)
        self._keeper.append(
            RecordingRequested(channel=channel, until=stamp, role=actor.role, who=actor.who)
        )
        logger.bind(channel=channel).info(
            "channel {!r}: {} by {}", channel,
            f"recording requested until {stamp}" if minutes > 0 else "recording request cancelled",
            actor.who or actor.role,
        )  # fmt: skip
        outcome = await self._channels.request(channel, until)
        return {
            "channel": channel,
            "until": stamp,
            "outcome": outcome,
            "recording": channel in self._channels.running,
        }

    def ready(self) -> bool:
        return self.not_ready() is None

    def not_ready(self) -> str | None:
        """Why the daemon is not ready (``/readyz`` says 503 with it), or None when it is."""
        if self.stop_event.is_set():
            return "the daemon is stopping"
        if self._current.loaded is None:
            return "no config loaded yet (a config that does not load is logged as rejected)"
        return self._keeper.problem()

    def status(self) -> dict[str, Any]:
        """The daemon's own view (``/api/live``): itself, its timers and its recorders."""
        scheduler = self._scheduler
        jobs = {key: scheduler.next_fire(key) for key in sorted(scheduler.job_keys())}
        return {
            "daemon": {
                "pid": os.getpid(),
                "version": __version__,
                "uptime": round(self._clock.time() - self._started_at, 1),
                "revision": self._current.applied.revision,
                "config": str(self._source.config_dir),
                "ffmpeg": self._recording.ffmpeg or None,
                "shard": str(self._shard),
                "cluster": self._cluster(),
                "git": self._source.status(),
            },
            "next_fires": {k: format_ts(v) if v else None for k, v in jobs.items()},
            "channels": self._channels.states(),
        }


def _result(outcome: RunOutcome) -> dict[str, Any]:
    """What the API answers of one run: how it ended."""
    return {
        "status": outcome.status,
        "exit_code": outcome.exit_code,
        "run": outcome.run,
        "reason": outcome.reason,
    }
