"""Startup recovery: what a killed daemon left behind is found, stopped and written down.

Called once by ``daemon.service`` before anything starts:

1. ffmpeg processes that outlived their daemon (found through ``state/pids/channel-*/ffmpeg.json``,
   checked against ``/proc`` so a reused pid is never signalled) get SIGINT, which makes ffmpeg
   finish its file, then SIGKILL after a grace. Only then may the channel be recorded again, so no
   channel is ever recorded twice. Their partial files are finished by the recorder when it starts.
2. Task and queue runs whose owner died (``runtime.tasks.files``) have their process groups stopped
   (SIGTERM, grace, SIGKILL) and their pid files removed.
3. Runs the state log still shows as running (tasks, queues) or recording (channels) are listed in
   one ``daemon.recovered`` event, which the fold turns into ``interrupted``; ``schedule: once``
   tasks that were interrupted are therefore not completed and run again at the next apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from streamrec.core.events import DaemonRecovered
from streamrec.log import logger
from streamrec.runtime.tasks.files import RunFiles, clear_record, interrupted_runs, stop_records
from streamrec.state.journal import Journal
from streamrec.state.paths import StatePaths

_LIVE_CHANNEL_STATES = {"recording", "reconnecting", "stalled", "starting"}


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


async def _stop_ffmpeg(pid: int, grace: float) -> bool:
    """SIGINT (ffmpeg closes its file), wait, SIGKILL; True if the process was found."""
    if "ffmpeg" not in _cmdline(pid):
        return False
    logger.warning("recovery: stopping ffmpeg pid {} left by a previous daemon", pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while loop.time() < deadline and _cmdline(pid):  # noqa: ASYNC110 - no event for another process's exit
        await asyncio.sleep(0.1)
    if _cmdline(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return True


async def recover(paths: StatePaths, journal: Journal, grace: float = 3.0) -> dict[str, Any]:
    """Stop leftovers and log ``daemon.recovered`` (when there was anything); what was found."""
    stopped: list[Mapping[str, Any]] = []
    for pid_file in sorted(paths.pids.glob("channel-*/ffmpeg.json")):
        try:
            record = json.loads(pid_file.read_text(encoding="utf-8"))
            pid = int(record["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            pid_file.unlink(missing_ok=True)
            continue
        if await _stop_ffmpeg(pid, grace):
            stopped.append({"kind": "channel", "name": record.get("channel"), "pid": pid})
        pid_file.unlink(missing_ok=True)

    leftovers = interrupted_runs(paths)
    if leftovers:
        await stop_records(leftovers, grace)
        for run in leftovers:
            if run.pgid is not None:
                stopped.append(
                    {"kind": run.kind, "name": run.name, "run": run.run, "pgid": run.pgid}
                )
            clear_record(RunFiles.of(paths, run.kind, run.name), run.run)

    state = journal.state()
    interrupted: list[Mapping[str, Any]] = []
    for kind, table, key, live in (
        ("task", "tasks", "status", {"running"}),
        ("queue", "queues", "status", {"running"}),
        ("channel", "channels", "state", _LIVE_CHANNEL_STATES),
    ):
        for name, entry in (state.get(table) or {}).items():
            if entry.get(key) in live:
                interrupted.append({"kind": kind, "name": name, "run": entry.get("run")})
    found = {"interrupted": interrupted, "stopped": stopped}
    if interrupted or stopped:
        journal.append(DaemonRecovered(interrupted=interrupted, stopped=stopped))
        logger.warning(
            "recovery: {} interrupted runs, {} leftover processes stopped",
            len(interrupted),
            len(stopped),
        )
    return found
