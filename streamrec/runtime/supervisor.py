"""The recorder's loop between runs of ffmpeg: resolve, run, then reconnect, probe or wait.

Used by :meth:`streamrec.runtime.recorder.Recorder.run`, which awaits :meth:`Supervisor.loop`
until it returns the reason recording stopped. Each turn: wait for free space if there is too
little (``recording.stopped`` with the reason, state ``waiting for space``, a look every
:data:`SPACE_RECHECK` seconds, then recording resumes by itself), resolve the channel's URL
(``runtime.resolvers``), run ffmpeg once (``runtime.ffmpegrun``), and after a run that was not
final log ``recording.reconnecting``: at once after a run that recorded something, else after
jittered exponential backoff (``core.backoff``, asked through ``core.reconnecting.next_step``),
which is also the offline polling of a channel whose source is not live. While a source that
was live is down, it is probed every ``reconnect.fast`` (``runtime.probing``) until it lists new
media, so ffmpeg starts right after the last segment recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from streamrec.core.backoff import Backoff
from streamrec.core.events import Emit, RecordingReconnecting, RecordingStopped
from streamrec.core.reconnecting import next_step
from streamrec.core.retention import approx_size
from streamrec.errors import RecorderError
from streamrec.log import logger
from streamrec.runtime.ffmpegrun import FfmpegRun
from streamrec.runtime.finishing import Finisher
from streamrec.runtime.hlsresume import HlsResume
from streamrec.runtime.pause import stopped_within
from streamrec.runtime.probing import can_probe, probe
from streamrec.runtime.runwatch import Outcome, Status
from streamrec.runtime.storage import Storage
from streamrec.spec.model import Channel

Resolve = Callable[[str], Awaitable[str]]
"""``resolve(channel_url)`` -> the URL ffmpeg opens (``runtime.resolvers``)."""
SPACE_RECHECK = 3.0
"""Seconds between looks at free space while recording is stopped for it."""


class Supervisor:
    """Runs ffmpeg again and again for one recorder until it must stop."""

    def __init__(
        self, name: str, channel: Channel, *, runs: FfmpegRun, resume: HlsResume,
        resolve: Resolve, emit: Emit, storage: Storage, finisher: Finisher, status: Status,
        rand: Callable[[], float],
    ) -> None:  # fmt: skip
        self.name = name
        self.channel = channel
        self.label = f"channel {name!r}"
        self._runs = runs
        self._resume = resume
        self._resolve = resolve
        self._emit = emit
        self._storage = storage
        self._finisher = finisher
        self._status = status
        self._rand = rand
        self._backoff = Backoff(channel.reconnect.initial, channel.reconnect.max)
        self._down_since: float | None = None  # loop time a source that was live went down

    async def loop(self) -> str:
        """Record until a stop, the duration or a final run; the reason it stopped."""
        status = self._status
        failures = 0  # runs in a row that recorded nothing: the backoff exponent
        attempt = 0  # reconnects since media last flowed
        while True:
            if reason := status.stopping():
                return reason
            if await self._wait_for_space():
                continue  # space is back (or a stop was asked): look again from the top
            ready = self._resume.ready
            url = ready[0] if ready is not None else None
            try:
                url = url or await self._resolve(self.channel.url)
            except RecorderError as exc:
                outcome = Outcome(False, str(exc))
            else:
                if reason := status.stopping():
                    return reason
                outcome = await self._runs.run(url)
            if outcome.final:
                return outcome.reason
            if outcome.again:
                continue
            if reason := status.stopping():
                return reason
            failures = 0 if outcome.productive else failures + 1
            attempt = 1 if outcome.productive else attempt + 1
            loop = asyncio.get_running_loop()
            if outcome.productive:
                self._down_since = loop.time() if url and can_probe(url) else None
            options = self.channel.reconnect
            step = next_step(
                self._backoff, options.fast, options.fast_for, down_since=self._down_since,
                now=loop.time(), failures=failures, rand=self._rand(),
            )  # fmt: skip
            delay = status.capped(step.delay)
            status.state = "reconnecting"
            how = f"probing every {options.fast:g}s" if step.action == "probe" else "retrying"
            logger.info(
                "{}: {}; {} in {:.1f}s (attempt {})",
                self.label, outcome.reason, how, delay, attempt,
            )  # fmt: skip
            self._emit(RecordingReconnecting(
                channel=self.name, attempt=attempt, delay=round(delay, 2), reason=outcome.reason,
                probing=options.fast if step.action == "probe" else None,
            ))  # fmt: skip
            if step.action == "probe" and url:
                await self._probe_until_new(url)
                continue
            await stopped_within(status.stop, delay)

    async def _probe_until_new(self, url: str) -> None:
        """Probe every ``reconnect.fast`` until new media is listed, the fast phase ends, or stop.

        New media: an HLS playlist listing a segment after the last one recorded (or no longer
        listing it), or any answer from another HTTP source. The playlist seen is kept for the
        next start (``HlsResume.ready``), so ffmpeg starts exactly after the last segment recorded.
        """
        loop = asyncio.get_running_loop()
        options = self.channel.reconnect
        while self._status.stopping() is None and self._down_since is not None:
            if loop.time() - self._down_since >= options.fast_for:
                return
            seen = await probe(url)
            playlist = seen.playlist
            if seen.answered and (
                playlist is None or playlist.master or self._resume.lists_newer(playlist)
            ):
                self._resume.ready = (url, playlist)
                return
            await stopped_within(self._status.stop, options.fast)

    async def _wait_for_space(self) -> bool:
        """Below min_free_space: ``recording.stopped`` with the reason, then state ``waiting for
        space``, checking every :data:`SPACE_RECHECK` seconds until there is room (True: it waited)
        or a stop or the duration comes. With room at once, False and nothing happens."""
        room = self._storage.check()
        if room.ok:
            return False
        status = self._status
        status.state = "waiting for space"
        logger.warning(
            "{}: recording stopped: {}; recording resumes by itself once there is room "
            "(checked every {:g}s)", self.label, room.reason, SPACE_RECHECK,
        )  # fmt: skip
        self._emit(RecordingStopped(channel=self.name, reason=room.reason))
        if self._finisher.last_end is not None:
            status.gap_cause = room.reason
        while not status.stopping():
            await stopped_within(status.stop, status.capped(SPACE_RECHECK))
            if status.stopping():
                break
            room = self._storage.check()
            if room.ok:
                logger.info(
                    "{}: {} free again (needed {}): recording resumes",
                    self.label, approx_size(room.free), approx_size(room.needed),
                )  # fmt: skip
                break
        return True
