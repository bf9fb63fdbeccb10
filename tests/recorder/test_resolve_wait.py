"""The direct resolver's liveness check waits on the event loop, not in a worker thread
(``runtime.resolvers.probe_hls_async``): many channels starting at once must not queue behind
each other's sleeping workers (and the status API behind them all)."""

from __future__ import annotations

import asyncio
import time

import pytest

from streamrec.errors import RecorderError
from streamrec.runtime import resolvers

MOVING = [
    "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:5\nseg_5.ts\nseg_6.ts\n",
    "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:6\nseg_6.ts\nseg_7.ts\n",
]


def _no_thread_sleep(seconds: float) -> None:
    raise AssertionError("a worker thread slept through the liveness wait")


def test_resolve_direct_waits_on_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    fetches = iter(range(1000))  # every fetch sees the playlist one segment further

    def fetch(url: str, timeout: float) -> str:
        n = next(fetches)
        return f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{n}\nseg_{n}.ts\n"

    monkeypatch.setattr(resolvers, "_fetch", fetch)
    monkeypatch.setattr(time, "sleep", _no_thread_sleep)
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float, *args: object) -> None:
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    url = "http://127.0.0.1:9/live.m3u8"

    async def many() -> list[str]:
        return await asyncio.gather(*(resolvers.resolve_direct(url) for _ in range(50)))

    assert asyncio.run(many()) == [url] * 50
    assert waits == [3.0] * 50  # 1.5 target durations each, awaited on the loop


def test_a_playlist_that_does_not_move_is_not_live(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolvers, "_fetch", lambda url, timeout: MOVING[0])

    async def no_wait(seconds: float) -> None:
        return None

    with pytest.raises(RecorderError, match="not moving"):
        asyncio.run(resolvers.probe_hls_async("http://127.0.0.1:9/live.m3u8", sleep=no_wait))


def test_a_master_playlist_is_looked_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[str] = []

    def fetch(url: str, timeout: float) -> str:
        fetched.append(url)
        return "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n"

    monkeypatch.setattr(resolvers, "_fetch", fetch)
    asyncio.run(resolvers.probe_hls_async("http://127.0.0.1:9/master.m3u8"))
    assert len(fetched) == 1
