"""Record now in the channel set, with a fake clock and fake recorders: one extra window."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from streamrec.core.clock import FakeClock
from streamrec.daemon.channels import ChannelSet
from streamrec.spec.model import Channel

NOW = datetime(2030, 1, 7, 12, 0, tzinfo=timezone.utc)  # a Monday
URL = "http://127.0.0.1/a.m3u8"
EVENING = Channel(url=URL, schedule=[{"days": ["mon"], "start": "20:00", "end": "22:00"}])
NOON = Channel(url=URL, schedule=[{"days": ["mon"], "start": "11:00", "end": "12:30"}])


class FakeRecorder:
    """Records nothing until stopped; remembers the duration it was given and why it stopped."""

    progress = None

    def __init__(self) -> None:
        self.duration: float | None = None
        self.reason: str | None = None
        self._stopped = asyncio.Event()

    async def run(self, duration: float | None) -> str:
        self.duration = duration
        await self._stopped.wait()
        return self.reason or "stopped"

    def stop(self, reason: str) -> None:
        self.reason = reason
        self._stopped.set()


def channel_set(
    tmp_path: Path, made: list[FakeRecorder], requests: dict[str, datetime] | None = None
) -> ChannelSet:
    def make(_name: str, _channel: Channel) -> Any:
        made.append(FakeRecorder())
        return made[-1]

    return ChannelSet(
        make_recorder=make,
        set_timer=lambda _key, _when: None,
        cancel_timer=lambda _key: None,
        pids_dir=tmp_path,
        emit=lambda _event, /, **_fields: None,  # type: ignore[arg-type,return-value]
        clock=FakeClock(NOW),
        requests=requests,
    )


async def test_a_request_starts_a_recorder_until_its_end_and_a_cancel_stops_it(
    tmp_path: Path,
) -> None:
    """Outside its window the channel records for the request's length; 'now' cancels it."""
    made: list[FakeRecorder] = []
    channels = channel_set(tmp_path, made)
    try:
        assert await channels.set("show", EVENING) == "unchanged"
        assert made == []
        assert await channels.request("show", NOW + timedelta(minutes=30)) == "started"
        await asyncio.sleep(0)
        assert made[0].duration == 1800
        state = channels.states()["show"]
        assert state["recording"] and state["requested_until"] == "2030-01-07T12:30:00.000Z"
        assert await channels.request("show", NOW) == "stopped"
        assert made[0].reason == "its record-now request was cancelled"
        assert channels.requests == {} and channels.states()["show"]["requested_until"] is None
    finally:
        await channels.stop_all("test over")


async def test_a_channel_recording_already_keeps_its_recorder(tmp_path: Path) -> None:
    """Inside a window a request changes nothing running: the same recorder goes on."""
    made: list[FakeRecorder] = []
    channels = channel_set(tmp_path, made)
    try:
        assert await channels.set("show", NOON) == "started"
        assert await channels.request("show", NOW + timedelta(hours=2)) == "unchanged"
        assert len(made) == 1 and made[0].reason is None
        assert channels.decisions["show"].until == NOW + timedelta(hours=2)
    finally:
        await channels.stop_all("test over")


async def test_a_request_read_back_at_start_records_and_a_disabled_channel_does_not(
    tmp_path: Path,
) -> None:
    """Requests handed over at start (from the fold) start their channels when declared."""
    made: list[FakeRecorder] = []
    later = NOW + timedelta(minutes=5)
    channels = channel_set(tmp_path, made, {"show": later, "off": later})
    try:
        assert await channels.set("show", EVENING) == "started"
        assert await channels.set("off", EVENING.model_copy(update={"enabled": False})) == (
            "unchanged"
        )
        assert len(made) == 1
        await channels.remove("show")
        assert "show" not in channels.requests
    finally:
        await channels.stop_all("test over")
