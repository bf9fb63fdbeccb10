"""The daemon hides the starting config's secrets from its first moment, not from its first reconcile.

Its socket answers while the start reconcile is still loading, and the task runner already holds the
starting config's tasks: a run asked for in that window must be redacted with the secrets of the
config it runs (``.env`` values among them), not only with the environment's.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from daemonkit import never, read_events

from streamrec.daemon.configload import ConfigLoader, load_and_plan
from streamrec.daemon.service import Daemon
from streamrec.runtime.clock import SYSTEM_CLOCK

DOTENV = "ds-4be1c0ffee"
"""Known only from the config directory's ``.env``, under a secret-looking name."""
CONFIG = """\
tasks:
  leak:
    command: 'echo "note $NOTE"'
    env:
      NOTE: "${DOOR_SECRET}"
"""
LOADS = "TEST_LOADS_FILE"
"""The variable naming the file in which the loader counts its loads."""


def slow_after_first(directory: Path, environ: Mapping[str, str], base: Path | None) -> Any:
    """The real load; every load after the first (the start reconcile's) waits 3 s first."""
    counter = Path(environ[LOADS])
    loads = int(counter.read_text() or 0) + 1 if counter.exists() else 1
    counter.write_text(str(loads))
    if loads > 1:
        time.sleep(3)
    return load_and_plan(directory, environ, base)


@pytest.mark.timeout(60)
async def test_a_run_asked_for_before_the_first_reconcile_hides_the_configs_secrets(tmp_path):
    """A task run through the socket while the start reconcile loads: no ``.env`` secret shows."""
    config, state = tmp_path / "config", tmp_path / "state"
    config.mkdir()
    (config / "tasks.yaml").write_text(CONFIG)
    (config / ".env").write_text(f"DOOR_SECRET={DOTENV}\n")
    environ = {
        "STREAMREC_STATE_DIR": str(state),
        LOADS: str(tmp_path / "loads"),
        "PATH": os.environ["PATH"],
    }
    daemon = Daemon(
        config,
        environ=environ,
        changes=never(),
        loader=ConfigLoader(job=slow_after_first),
        clock=SYSTEM_CLOCK,
    )
    running = asyncio.create_task(daemon.run())
    try:
        socket = state / "daemon.sock"
        while not socket.exists():
            await asyncio.sleep(0.02)
        transport = httpx.AsyncHTTPTransport(uds=str(socket))
        async with httpx.AsyncClient(transport=transport, base_url="http://daemon") as api:
            asked = await api.post("/api/tasks/leak/run", timeout=30)
            assert asked.status_code < 300, asked.text
            assert not any(e["type"] == "config.applied" for e in read_events(state)), (
                "the start reconcile finished first: the test did not ask inside the window"
            )
            deadline = time.monotonic() + 30
            while not any(e["type"] == "task.finished" for e in read_events(state)):
                assert time.monotonic() < deadline, read_events(state)
                await asyncio.sleep(0.05)
            log = await api.get("/api/tasks/leak/log?stream=stdout", timeout=30)
        finished = [e for e in read_events(state) if e["type"] == "task.finished"][-1]
        assert finished["stdout_tail"].strip() == "note ***", finished
        assert "note ***" in log.text and DOTENV not in log.text, log.text
    finally:
        daemon.request_shutdown("test over")
        assert await asyncio.wait_for(running, 20) == 0
    assert DOTENV not in (state / "events.jsonl").read_text()
    assert DOTENV in "".join(p.read_text() for p in (state / "logs").rglob("*") if p.is_file())
