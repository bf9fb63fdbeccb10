"""What the HTTP API asks of the daemon: on-demand runs, stops, readiness, status (a mixin).

Ready means a config is loaded, the daemon is not stopping and the state log can be written
(``daemon.statekeeper``): a daemon that records but cannot log what it records is not ready.

``web.control`` calls these through its ``Controller`` protocol; runs go through the daemon's one
task runner, so a run asked for over the socket and a scheduled one never overlap beyond what the
task's ``concurrency`` allows.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from streamrec.core.planning import Applied
from streamrec.core.sharding import Shard
from streamrec.daemon.channels import ChannelSet
from streamrec.daemon.statekeeper import StateKeeper
from streamrec.runtime.graph import run_queue, run_with_deps
from streamrec.runtime.scheduling import Scheduler
from streamrec.runtime.tasks import RunResult, TaskRunner
from streamrec.spec.loading import LoadedConfig
from streamrec.version import __version__


class Control:
    """The controller side of the daemon; the daemon provides the attributes declared here."""

    runner: TaskRunner
    scheduler: Scheduler
    channels: ChannelSet
    loaded: LoadedConfig | None
    current: Applied
    stop_event: asyncio.Event
    started_at: float
    config_dir: Path
    ffmpeg: str
    shard: Shard
    keeper: StateKeeper

    def _git_status(self) -> dict[str, Any] | None:  # pragma: no cover - GitMode provides it
        raise NotImplementedError

    async def task_run(self, name: str, with_deps: bool) -> dict[str, Any]:
        if with_deps:
            results = await run_with_deps(self.runner, name, trigger="cli")
        else:
            results = {name: await self.runner.run(name, trigger="cli")}
        return {"results": {n: _result(r) for n, r in results.items()}}

    async def task_stop(self, name: str) -> dict[str, Any]:
        self.runner.task(name)
        return {"stopped": await self.runner.stop(name, reason="stopped by streamrec task stop")}

    async def queue_start(self, name: str) -> dict[str, Any]:
        result = await run_queue(self.runner, name, trigger="cli")
        return {
            "queue": name,
            "status": result.status,
            "results": {n: _result(r) for n, r in result.results.items()},
        }

    async def queue_stop(self, name: str) -> dict[str, Any]:
        return {"stopped": await self.runner.stop_queue(name, reason="stopped by streamrec")}

    def ready(self) -> bool:
        return self.not_ready() is None

    def not_ready(self) -> str | None:
        """Why the daemon is not ready (``/readyz`` says 503 with it), or None when it is."""
        if self.stop_event.is_set():
            return "the daemon is stopping"
        if self.loaded is None:
            return "no config loaded yet (a config that does not load is logged as rejected)"
        return self.keeper.problem()

    def status(self) -> dict[str, Any]:
        jobs = {key: self.scheduler.next_fire(key) for key in sorted(self.scheduler.job_keys())}
        return {
            "daemon": {
                "pid": os.getpid(),
                "version": __version__,
                "uptime": round(time.time() - self.started_at, 1),
                "revision": self.current.revision,
                "config": str(self.config_dir),
                "ffmpeg": self.ffmpeg or None,
                "shard": str(self.shard),
                "git": self._git_status(),
            },
            "next_fires": {k: v.isoformat() if v else None for k, v in jobs.items()},
            "channels": self.channels.states(),
        }


def _result(result: RunResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "exit_code": getattr(result, "exit_code", None),
        "run": getattr(result, "run", None),
        "reason": result.reason,
    }
