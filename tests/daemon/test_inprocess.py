"""A daemon driven in-process: a fake clock, a scripted change source, no channels."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from streamrec.core.clock import FakeClock
from streamrec.daemon.service import Daemon
from streamrec.state.applied import read_applied

TASKS = 'tasks:\n  a:\n    command: "true"\n  b:\n    command: "{b}"\n'


def read_events(state: Path) -> list[dict[str, Any]]:
    path = state / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def wait_for(state: Path, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        found = [e for e in read_events(state) if match(e)]
        if found:
            return found[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no matching event; the log has {read_events(state)}")


def applied_events(state: Path) -> list[dict[str, Any]]:
    return [e for e in read_events(state) if e["type"] == "config.applied"]


@pytest.mark.timeout(60)
async def test_a_change_touches_only_the_changed_object_and_is_applied_once(tmp_path: Path):
    """Applying a changed config updates only the changed task and logs one config.applied."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "tasks.yaml").write_text(TASKS.format(b="true"))
    state = tmp_path / "state"
    batches: asyncio.Queue[set[str]] = asyncio.Queue()

    async def scripted() -> AsyncIterator[set[str]]:
        while True:
            yield await batches.get()

    clock = FakeClock(datetime(2030, 1, 1, tzinfo=timezone.utc))
    daemon = Daemon(
        config, environ={"STREAMREC_STATE_DIR": str(state)}, changes=scripted(), clock=clock
    )
    running = asyncio.create_task(daemon.run())
    try:
        first = await wait_for(state, lambda e: e["type"] == "config.applied")
        assert first["reason"] == "start"
        assert first["outcomes"] == {
            "settings/settings": "changed", "task/a": "added", "task/b": "added",
        }  # fmt: skip
        assert first["ts"].startswith("2030-01-01T00:00:00")  # stamped by the injected clock

        clock.advance(3600)
        (config / "tasks.yaml").write_text(TASKS.format(b="echo changed"))
        await batches.put({str(config / "tasks.yaml")})
        second = await wait_for(state, lambda e: e["type"] == "config.applied" and e != first)
        assert second["reason"] == "config changed"
        assert second["outcomes"] == {"task/b": "updated"}
        assert second["diff"]["changed"] == ["task/b"]
        assert second["diff"]["added"] == [] and second["diff"]["removed"] == []
        assert second["ts"].startswith("2030-01-01T01:00:00")
        assert read_applied(state / "applied.json").revision == second["revision"]

        again = await daemon.reconcile("nothing changed")
        assert again["ok"] is True
        assert set(again["outcomes"].values()) == {"unchanged"}
        assert len(applied_events(state)) == 2  # one per change, none for a reconcile without one
    finally:
        daemon.request_shutdown("test over")
        assert await asyncio.wait_for(running, 20) == 0
    assert read_events(state)[-1]["type"] == "daemon.stopped"
