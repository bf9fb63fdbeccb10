"""The control side of the daemon: what the HTTP API asks it to do, readiness, and its live view.

``daemon.service`` makes one :class:`Control` from the collaborators it acts through and serves it
as the ``web.routes.Actions`` of both API listeners (``daemon.serving``); the signal handlers call
:meth:`Control.request_shutdown` too. On-demand runs go through the daemon's one task runner, so a
run asked for over the socket and a scheduled one never overlap beyond what the task's
``concurrency`` allows; a reconcile asked for is the reconciler's (``daemon.reconciler``).

Ready means a config is loaded, the daemon is not stopping and the state log can be written
(``daemon.statekeeper``): a daemon that records but cannot log what it records is not ready.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from streamrec.app.recording import Recording
from streamrec.core.clock import Clock
from streamrec.core.runs import RunOutcome
from streamrec.core.sharding import Shard
from streamrec.core.timestamps import format_ts
from streamrec.daemon.channels import ChannelSet
from streamrec.daemon.reconciler import Current
from streamrec.daemon.sources import ConfigSource
from streamrec.daemon.statekeeper import StateKeeper
from streamrec.log import logger
from streamrec.runtime.scheduling import Scheduler
from streamrec.runtime.tasks.graph import run_queue, run_with_deps
from streamrec.runtime.tasks.runner import TaskRunner
from streamrec.version import __version__

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
