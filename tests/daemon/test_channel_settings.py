"""The channels take their settings through ChannelSet.configure, and log a skip as a record."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from streamrec.core.clock import FakeClock
from streamrec.core.events import Event, RecordingSkipped
from streamrec.daemon.channels import ChannelSet
from streamrec.spec.model import Channel


class IdleRecorder:
    """A recorder that records nothing until stopped."""

    def __init__(self) -> None:
        self._stopped = asyncio.Event()

    async def run(self, duration: float | None) -> str:
        await self._stopped.wait()
        return "stopped"

    def stop(self, reason: str) -> None:
        self._stopped.set()


def channel_set(tmp_path: Path, emitted: list[Event]) -> ChannelSet:
    def emit(event: Event, /, **fields: Any) -> None:
        assert not fields  # records only
        emitted.append(event)

    return ChannelSet(
        make_recorder=lambda _name, _channel: IdleRecorder(),  # type: ignore[arg-type,return-value]
        set_timer=lambda _key, _when: None,
        cancel_timer=lambda _key: None,
        pids_dir=tmp_path,
        emit=emit,
        clock=FakeClock(datetime(2030, 1, 1, tzinfo=timezone.utc)),
        max_concurrent=5,
    )


async def test_configure_sets_the_zone_and_the_limit_a_new_channel_meets(tmp_path: Path) -> None:
    """After configure(zone, 1) a second channel waits, logged as one recording.skipped record."""
    emitted: list[Event] = []
    channels = channel_set(tmp_path, emitted)
    channels.configure("Europe/Berlin", 1)
    assert (str(channels.zone), channels.max_concurrent) == ("Europe/Berlin", 1)
    url = "http://127.0.0.1/a.m3u8"
    try:
        assert await channels.set("a", Channel(url=url)) == "started"
        assert await channels.set("b", Channel(url=url)) == "waiting"
    finally:
        await channels.stop_all("test over")
    assert emitted == [
        RecordingSkipped(channel="b", reason="max_concurrent_recordings (1) reached")
    ]
